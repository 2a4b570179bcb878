"""The commune admin's pages: members, modules and their settings, permissions, audit log."""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from sqlalchemy import select
from wtforms import SelectChoice

from core import audit, capabilities, members, modules, settings
from core.db import db, utcnow
from core.forms import ActionForm, InviteForm, MemberForm, ProviderForm
from core.models import (
    ROLES,
    CommuneModule,
    Invitation,
    Membership,
)
from core.rights import commune_admin_required, role_permissions, set_role_permission
from core.types import Health

bp = Blueprint("admin", __name__, url_prefix="/c/<insee>/admin")


def _registry() -> Any:
    return current_app.extensions["viatic.plugins"]


# --- Members ------------------------------------------------------------------------------


def _members_page(form: InviteForm, status: int = 200) -> Any:
    rows = members.listing(g.commune)
    pending = db.scalars(
        select(Invitation)
        .where(Invitation.commune_id == g.commune.id, Invitation.accepted_at.is_(None))
        .order_by(Invitation.created_at.desc())
    ).all()
    page = render_template(
        "admin/members.html", rows=rows, pending=pending, form=form, now=utcnow()
    )
    return page, status


@bp.get("/membres", endpoint="members")
@commune_admin_required
def members_page() -> Any:
    return _members_page(InviteForm())


@bp.post("/membres/inviter")
@commune_admin_required
def invite() -> Any:
    form = InviteForm()
    if form.validate():
        try:
            members.invite(
                g.commune, form.email.data, form.role.data, form.is_commune_admin.data, g.user
            )
        except members.MemberError as exc:
            form.email.errors = [*form.email.errors, str(exc)]
        else:
            db.commit()
            flash(_("Invitation envoyée à %(email)s.", email=form.email.data), "success")
            return redirect(url_for("admin.members"))
    return _members_page(form, 400)


def _membership_or_404(membership_id: int) -> Membership:
    membership = db.get(Membership, membership_id)
    if membership is None or membership.commune_id != g.commune.id:
        abort(404)
    return membership


@bp.route("/membres/<int:membership_id>", methods=["GET", "POST"])
@commune_admin_required
def member(membership_id: int) -> Any:
    membership = _membership_or_404(membership_id)
    form = MemberForm(obj=membership)
    status = 200
    if request.method == "POST":
        if form.validate():
            try:
                members.change(membership, form.role.data, form.is_commune_admin.data)
            except members.MemberError as exc:
                form.role.errors = [*form.role.errors, str(exc)]
                db.rollback()
            else:
                db.commit()
                flash(_("Rôle de %(name)s enregistré.", name=membership.user.name), "success")
                return redirect(url_for("admin.members"))
        status = 400
    return render_template("admin/member.html", membership=membership, form=form), status


@bp.post("/membres/<int:membership_id>/retirer")
@commune_admin_required
def remove_member(membership_id: int) -> Any:
    membership = _membership_or_404(membership_id)
    if not ActionForm().validate():
        abort(400)
    name = membership.user.name
    try:
        members.remove(membership)
    except members.MemberError as exc:
        db.rollback()
        flash(str(exc), "error")
        return redirect(url_for("admin.member", membership_id=membership_id)), 303
    db.commit()
    flash(_("%(name)s ne fait plus partie de la commune.", name=name), "success")
    return redirect(url_for("admin.members"))


# --- Modules ------------------------------------------------------------------------------


def _health(plugin_name: str, enabled: bool, row: CommuneModule | None) -> Health | None:
    if not enabled:
        return None
    plugin = _registry().plugins[plugin_name]
    try:
        health = _registry().call_on(
            plugin_name,
            "viatic_health_check",
            commune=g.commune,
            settings=settings.current_values(plugin.settings, row),
        )
    except Exception as exc:  # a failing check is itself the answer
        return Health(False, str(exc.__cause__ or exc))
    return health


@bp.get("/modules", endpoint="modules")
@commune_admin_required
def modules_page() -> Any:
    registry = _registry()
    enabled = registry.enabled_for(g.commune)
    rows = {
        r.plugin: r
        for r in db.scalars(select(CommuneModule).where(CommuneModule.commune_id == g.commune.id))
    }
    entries = [
        {
            "plugin": plugin,
            "enabled": plugin.name in enabled,
            "row": rows.get(plugin.name),
            "health": _health(plugin.name, plugin.name in enabled, rows.get(plugin.name)),
            "admin_label": plugin.info.admin_label or _("Page d'administration"),
        }
        for plugin in sorted(registry.modules, key=lambda p: str(p.info.label))
    ]
    capability_names = sorted({c for p in registry.plugins.values() for c in p.capabilities})
    choices = []
    for name in capability_names:
        providers = [p for p in registry.providers_of(name) if p in enabled]
        form = ProviderForm(prefix=name, provider=capabilities.chosen_provider(g.commune, name))
        form.provider.choices = [
            SelectChoice(p, str(registry.plugins[p].info.label)) for p in providers
        ]
        choices.append({"capability": name, "providers": providers, "form": form})
    return render_template("admin/modules.html", entries=entries, choices=choices)


@bp.post("/modules/<plugin>/activer")
@commune_admin_required
def enable_module(plugin: str) -> Any:
    return _toggle(plugin, enable=True)


@bp.post("/modules/<plugin>/desactiver")
@commune_admin_required
def disable_module(plugin: str) -> Any:
    return _toggle(plugin, enable=False)


def _toggle(plugin: str, enable: bool) -> Any:
    if plugin not in _registry().plugins or plugin == "core":
        abort(404)
    if not ActionForm().validate():
        abort(400)
    label = _registry().plugins[plugin].info.label
    try:
        (modules.enable if enable else modules.disable)(g.commune, plugin)
    except modules.ModuleError as exc:
        db.rollback()
        flash(str(exc), "error")
        return redirect(url_for("admin.modules")), 303
    except Exception as exc:  # the plugin's own callback refused
        db.rollback()
        flash(
            _("Le module « %(label)s » n'a pas pu être activé : %(error)s", label=label, error=exc),
            "error",
        )
        return redirect(url_for("admin.modules")), 303
    db.commit()
    message = (
        _("Module « %(label)s » activé.", label=label)
        if enable
        else _("Module « %(label)s » désactivé. Ses données sont conservées.", label=label)
    )
    flash(message, "success")
    return redirect(url_for("admin.modules"))


@bp.post("/modules/<plugin>/erreur/effacer")
@commune_admin_required
def clear_module_error(plugin: str) -> Any:
    """The admin says the module's last error is dealt with: the page, and the platform's
    count of failing modules, stop showing it."""
    row = modules.module_row(g.commune, plugin) if plugin in _registry().plugins else None
    if row is None or plugin == "core":
        abort(404)
    if not ActionForm().validate():
        abort(400)
    if row.last_error is not None:
        audit.record(
            "module.error_cleared",
            module=plugin,
            object_type="module",
            object_id=plugin,
            details={"error": row.last_error},
        )
        modules.clear_error(g.commune.id, plugin)
        db.commit()
    flash(
        _(
            "L'erreur du module « %(label)s » est effacée.",
            label=_registry().plugins[plugin].info.label,
        ),
        "success",
    )
    return redirect(url_for("admin.modules"), 303)


@bp.route("/modules/<plugin>/reglages", methods=["GET", "POST"])
@commune_admin_required
def module_settings(plugin: str) -> Any:
    loaded = _registry().plugins.get(plugin)
    if loaded is None or plugin == "core" or not loaded.settings:
        abort(404)
    row = modules.module_row(g.commune, plugin)
    form = settings.build_form(loaded.settings, row)
    if request.method == "POST":
        if form.validate():
            if row is None:
                row = CommuneModule(
                    commune_id=g.commune.id, plugin=plugin, enabled=False, settings={}
                )
                db.add(row)
            changes = settings.apply_form(loaded.settings, form, row)
            if changes:
                audit.record(
                    "module.settings_changed",
                    module=plugin,
                    object_type="module",
                    object_id=plugin,
                    details={k: {"before": b, "after": a} for k, (b, a) in changes.items()},
                )
            db.commit()
            flash(_("Réglages enregistrés."), "success")
            return redirect(url_for("admin.modules"))
        return render_template("admin/module_settings.html", plugin=loaded, form=form), 400
    return render_template("admin/module_settings.html", plugin=loaded, form=form)


@bp.post("/fournisseurs/<capability>")
@commune_admin_required
def choose_provider(capability: str) -> Any:
    if not _registry().providers_of(capability):
        abort(404)
    # The modules page holds a form per capability: their fields are named after it.
    form = ProviderForm(prefix=capability)
    if not form.validate():
        abort(400)
    try:
        modules.choose_provider(g.commune, capability, form.provider.data)
    except modules.ModuleError as exc:
        db.rollback()
        flash(str(exc), "error")
        return redirect(url_for("admin.modules")), 303
    db.commit()
    flash(_("Fournisseur enregistré."), "success")
    return redirect(url_for("admin.modules"))


# --- Permissions --------------------------------------------------------------------------


@bp.route("/droits", methods=["GET", "POST"])
@commune_admin_required
def permissions() -> Any:
    registry = _registry()
    enabled = registry.enabled_for(g.commune)
    declared = [
        p for p in registry.permissions.values() if registry.permission_owner(p.name) in enabled
    ]
    if request.method == "POST":
        if not ActionForm().validate():
            abort(400)
        current = role_permissions(g.commune)
        for permission in declared:
            for role in ROLES:
                wanted = request.form.get(f"{role}:{permission.name}") == "on"
                if wanted != (permission.name in current[role]):
                    set_role_permission(g.commune, role, permission, wanted)
        db.commit()
        flash(_("Droits enregistrés."), "success")
        return redirect(url_for("admin.permissions"))
    return render_template(
        "admin/permissions.html", declared=declared, roles=ROLES, table=role_permissions(g.commune)
    )


# --- Audit log ----------------------------------------------------------------------------


@bp.get("/journal")
@commune_admin_required
def audit_log() -> Any:
    return render_template(
        "admin/audit.html",
        log=audit.search(g.commune.id, request.args),
        modules=["core", *sorted(p.name for p in _registry().modules)],
    )
