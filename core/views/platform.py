"""The platform admin's pages: communes, installed plugins, outbox, identity providers,
development mailbox."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import func, or_, select

from connectors.oidc import OidcError
from core import audit, federation, mail, modules, outbox, settings
from core.db import db, utcnow
from core.forms import ActionForm, IdentityProviderForm
from core.models import (
    AuditEvent,
    Commune,
    ConnectorCall,
    Departement,
    EmailMessage,
    Epci,
    IdentityProvider,
    JobRun,
    OutboxMessage,
    Region,
)
from core.rights import platform_admin_required

bp = Blueprint("platform", __name__, url_prefix="/admin")


@bp.get("/")
@platform_admin_required
def home() -> Any:
    counts = {
        "communes": db.scalar(select(func.count()).select_from(Commune)),
        "epci": db.scalar(select(func.count()).select_from(Epci)),
        "departements": db.scalar(select(func.count()).select_from(Departement)),
        "regions": db.scalar(select(func.count()).select_from(Region)),
    }
    failed = db.scalar(select(func.count()).where(OutboxMessage.status == OutboxMessage.FAILED))
    connector_errors = db.scalar(
        select(func.count()).where(
            ConnectorCall.error.is_not(None), ConnectorCall.at > utcnow() - dt.timedelta(days=1)
        )
    )
    last_import = db.scalar(
        select(AuditEvent)
        .where(AuditEvent.action == "communes.imported")
        .order_by(AuditEvent.id.desc())
        .limit(1)
    )
    return render_template(
        "platform/home.html",
        counts=counts,
        failed=failed,
        connector_errors=connector_errors,
        last_import=last_import,
    )


@bp.get("/communes")
@platform_admin_required
def communes() -> Any:
    query = request.args.get("q", "").strip()[:100]
    results: list[Commune] = []
    if query:
        results = list(
            db.scalars(
                select(Commune)
                .where(
                    or_(
                        Commune.name.ilike(f"%{query}%"),
                        Commune.insee == query,
                        Commune.siren == query,
                    )
                )
                .order_by(Commune.name)
                .limit(50)
            )
        )
    total = db.scalar(select(func.count()).select_from(Commune))
    return render_template("platform/communes.html", query=query, results=results, total=total)


@bp.get("/plugins")
@platform_admin_required
def plugins() -> Any:
    registry = current_app.extensions["viatic.plugins"]
    runs = {
        r.name: r
        for r in db.scalars(
            select(JobRun).where(
                JobRun.id.in_(select(func.max(JobRun.id)).group_by(JobRun.name).scalar_subquery())
            )
        )
    }
    return render_template(
        "platform/plugins.html",
        plugins=list(registry.plugins.values()),
        runs=runs,
        usage=modules.usage(),
    )


@bp.get("/outbox")
@platform_admin_required
def outbox_page() -> Any:
    status = request.args.get("statut", OutboxMessage.FAILED)
    if status not in (OutboxMessage.PENDING, OutboxMessage.FAILED, OutboxMessage.DELIVERED):
        status = OutboxMessage.FAILED
    messages = db.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.status == status)
        .order_by(OutboxMessage.id.desc())
        .limit(100)
    ).all()
    return render_template("platform/outbox.html", messages=messages, status=status)


@bp.post("/outbox/<int:message_id>/relancer")
@platform_admin_required
def retry(message_id: int) -> Any:
    message = db.get(OutboxMessage, message_id)
    if message is None:
        abort(404)
    if not ActionForm().validate():
        abort(400)
    outbox.retry(message)
    db.commit()
    flash(_("Le message sera renvoyé dans quelques secondes."), "success")
    return redirect(url_for("platform.outbox_page"))


@bp.get("/connecteurs")
@platform_admin_required
def connector_errors() -> Any:
    """The last failed calls to external systems, newest first."""
    connector = request.args.get("connecteur", "").strip()[:64]
    query = select(ConnectorCall).where(ConnectorCall.error.is_not(None))
    if connector:
        query = query.where(ConnectorCall.connector == connector)
    calls = db.execute(
        query.add_columns(Commune.name)
        .outerjoin(Commune, Commune.id == ConnectorCall.commune_id)
        .order_by(ConnectorCall.id.desc())
        .limit(100)
    ).all()
    names = db.scalars(select(ConnectorCall.connector).distinct().order_by(ConnectorCall.connector))
    return render_template(
        "platform/connectors.html", calls=calls, connector=connector, connectors=list(names)
    )


@bp.get("/courriels")
@platform_admin_required
def mailbox() -> Any:
    if not mail.uses_dev_mailbox():
        abort(404)
    emails = db.scalars(select(EmailMessage).order_by(EmailMessage.id.desc()).limit(100)).all()
    return render_template("platform/mailbox.html", emails=emails)


@bp.get("/journal")
@platform_admin_required
def audit_log() -> Any:
    """Events tied to no commune: sign-ins, accounts, imports."""
    registry = current_app.extensions["viatic.plugins"]
    return render_template(
        "platform/audit.html",
        log=audit.search(None, request.args),
        modules=["core", *sorted(p.name for p in registry.modules)],
    )


# --- Identity providers (OpenID Connect) --------------------------------------------------------


@bp.get("/identite")
@platform_admin_required
def identity_providers() -> Any:
    """Providers of the environment (read only) and of the database (editable), with the
    addresses to register at each provider."""
    stored = db.scalars(select(IdentityProvider).order_by(IdentityProvider.label)).all()
    return render_template(
        "platform/identity_providers.html",
        environment=current_app.extensions["viatic.oidc_providers"].values(),
        stored=stored,
        logged_out_url=url_for("federation.logged_out", _external=True),
        form=ActionForm(),
    )


@bp.route("/identite/nouveau", methods=["GET", "POST"])
@bp.route("/identite/<int:provider_id>", methods=["GET", "POST"])
@platform_admin_required
def identity_provider(provider_id: int | None = None) -> Any:
    row = db.get(IdentityProvider, provider_id) if provider_id is not None else None
    if provider_id is not None and row is None:
        abort(404)
    form = IdentityProviderForm(obj=row)
    if request.method == "POST":
        if form.validate() and _valid_provider(form, row):
            before = _provider_audit(row) if row is not None else None
            if row is None:
                row = IdentityProvider(client_secret="")
                db.add(row)
            kept_secret = row.client_secret
            form.populate_obj(row)
            row.scopes = " ".join((form.scopes.data or "").split())
            # Encrypted when given; an empty field on an edit keeps the stored one.
            secret = form.client_secret.data
            row.client_secret = settings.encrypt(secret) if secret else kept_secret
            db.flush()
            audit.record(
                "identity_provider.saved",
                object_type="identity_provider",
                object_id=row.slug,
                details={"before": before, "after": _provider_audit(row)},
            )
            db.commit()
            flash(_("Fournisseur « %(label)s » enregistré.", label=row.label), "success")
            return redirect(url_for("platform.identity_providers"))
        return render_template("platform/identity_provider.html", form=form, row=row), 400
    return render_template("platform/identity_provider.html", form=form, row=row)


def _valid_provider(form: IdentityProviderForm, row: IdentityProvider | None) -> bool:
    """The checks a field validator cannot make: a free slug, a secret for a new one."""
    slug = form.slug.data
    taken = slug in current_app.extensions["viatic.oidc_providers"] or db.scalar(
        select(IdentityProvider.id).where(
            IdentityProvider.slug == slug,
            IdentityProvider.id != (row.id if row is not None else -1),
        )
    )
    if taken:
        form.slug.errors.append(_("Cet identifiant est déjà pris."))
    if row is None and not form.client_secret.data:
        form.client_secret.errors.append(_("Ce champ est obligatoire."))
    return not form.slug.errors and not form.client_secret.errors


def _provider_audit(row: IdentityProvider) -> dict[str, Any]:
    """What the audit log keeps of a provider: everything but the secret."""
    return {
        "slug": row.slug,
        "kind": row.kind,
        "label": row.label,
        "discovery_url": row.discovery_url,
        "client_id": row.client_id,
        "scopes": row.scopes,
        "enabled": row.enabled,
    }


@bp.post("/identite/<slug>/verifier")
@platform_admin_required
def check_identity_provider(slug: str) -> Any:
    """Fetch the provider's discovery document and keys now, and say what came back."""
    if not ActionForm().validate():
        abort(400)
    provider = federation.providers(enabled_only=False).get(slug)
    if provider is None:
        abort(404)
    client = federation.client(provider)
    try:
        metadata = client.metadata(refresh=True)
        keys = client.key_set(refresh=True)
    except OidcError as error:
        flash(
            _(
                "« %(label)s » ne répond pas comme prévu : %(error)s",
                label=provider.label,
                error=str(error),
            ),
            "error",
        )
    else:
        flash(
            _(
                "« %(label)s » répond : émetteur %(issuer)s, %(keys)d clé(s) de signature.",
                label=provider.label,
                issuer=metadata.issuer,
                keys=len(keys.keys),
            ),
            "success",
        )
    return redirect(url_for("platform.identity_providers"))
