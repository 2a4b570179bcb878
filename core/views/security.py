"""A person's security page (Mon compte → Sécurité): the second factor and the sessions.

An administrator without a second factor may open nothing but these pages (see
``auth.requires_second_factor`` and the guard in ``core.app``).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, g, make_response, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext

from core import audit, auth, throttle, totp
from core.db import db
from core.forms import ActionForm, DisableTotpForm, TotpCodeForm
from core.rights import login_required

bp = Blueprint("security", __name__, url_prefix="/compte/securite")

SECOND_FACTOR_REQUIRED = _l(
    "Votre rôle d'administrateur demande une double authentification : activez-la sur la "
    "page Mon compte → Sécurité pour continuer à utiliser Viatic."
)

# What the User-Agent says, in the order to look for it (Edge and Opera also say "Chrome").
_BROWSERS = (
    ("Edg", "Edge"),
    ("OPR/", "Opera"),
    ("SamsungBrowser/", "Samsung Internet"),
    ("Firefox/", "Firefox"),
    ("FxiOS/", "Firefox"),
    ("CriOS/", "Chrome"),
    ("Chromium/", "Chromium"),
    ("Chrome/", "Chrome"),
    ("Safari/", "Safari"),
)
_SYSTEMS = (
    ("Android", "Android"),
    ("iPhone", "iPhone"),
    ("iPad", "iPad"),
    ("CrOS", "ChromeOS"),
    ("Windows", "Windows"),
    ("Macintosh", "macOS"),
    ("Linux", "Linux"),
)


def browser_label(user_agent: str) -> str:
    """``Firefox sur Linux``, from a User-Agent string."""
    browser = next((name for token, name in _BROWSERS if token in user_agent), None)
    system = next((name for token, name in _SYSTEMS if token in user_agent), None)
    if browser and system:
        return _("%(browser)s sur %(system)s", browser=browser, system=system)
    return browser or system or user_agent[:40] or _("Navigateur inconnu")


def _no_store(response: Any) -> Any:
    """Pages that show a secret or recovery codes stay out of every cache."""
    response.headers["Cache-Control"] = "no-store"
    return response


def _page(
    status: int = 200,
    confirm_form: TotpCodeForm | None = None,
    disable_form: DisableTotpForm | None = None,
) -> Any:
    user = g.user
    enrolment = None
    secret = totp.secret_of(user) if totp.is_pending(user) else None
    if secret is not None:
        uri = totp.provisioning_uri(user, secret)
        enrolment = {
            "secret": totp.grouped(secret),
            "uri": uri,
            "qr": totp.qr_code(uri, _("QR code de la double authentification Viatic")),
        }
    sessions = [(s, browser_label(s.user_agent)) for s in auth.active_sessions(user)]
    page = render_template(
        "account/security.html",
        required=auth.requires_second_factor(user),
        enrolment=enrolment,
        codes_left=totp.recovery_codes_left(user) if user.has_totp else None,
        sessions=sessions,
        current_session_id=g.get("user_session_id"),
        confirm_form=confirm_form or TotpCodeForm(),
        disable_form=disable_form or DisableTotpForm(),
    )
    return _no_store(make_response(page, status))


def _show_codes(codes: list[str], just_enabled: bool) -> Any:
    """The recovery codes, shown this once: only their hashes are kept."""
    page = render_template("account/recovery_codes.html", codes=codes, just_enabled=just_enabled)
    return _no_store(make_response(page))


@bp.get("")
@login_required
def index() -> Any:
    return _page()


@bp.post("/double-authentification")
@login_required
def start() -> Any:
    """Give the person a new secret to enter in their app; not in force until confirmed."""
    if not ActionForm().validate():
        abort(400)
    if not g.user.has_totp:
        totp.start_enrolment(g.user)
        db.commit()
    return redirect(url_for("security.index", _anchor="double-authentification"))


@bp.post("/double-authentification/confirmer")
@login_required
def confirm() -> Any:
    form = TotpCodeForm()
    if not totp.is_pending(g.user):
        return redirect(url_for("security.index"))
    if not form.validate():
        return _page(400, confirm_form=form)
    if not totp.confirm(g.user, form.code.data):
        form.code.errors = [
            *form.code.errors,
            _(
                "Ce code ne correspond pas. Vérifiez l'heure de votre téléphone et saisissez "
                "le code affiché en ce moment."
            ),
        ]
        return _page(400, confirm_form=form)
    codes = totp.new_recovery_codes(g.user)
    audit.record("totp.enabled", commune=None, object_type="user", object_id=g.user.id)
    db.commit()
    return _show_codes(codes, just_enabled=True)


@bp.post("/double-authentification/desactiver")
@login_required
def disable() -> Any:
    """Turning the second factor off takes a current code (or a recovery code): a session
    left open is not enough. Wrong codes count as failed sign-ins (same throttle)."""
    user = g.user
    form = DisableTotpForm()
    if not user.has_totp:
        return redirect(url_for("security.index"))
    if not form.validate():
        return _page(400, disable_form=form)
    wait = throttle.wait_before_login(user.email, auth.client_ip())
    if wait is not None:
        form.code.errors = [
            _("Trop de codes incorrects. Par sécurité, réessayez dans quelques minutes.")
        ]
        return _page(429, disable_form=form)
    method = totp.verify(user, form.code.data)
    throttle.record_login(user.email, auth.client_ip(), method is not None)
    if method is None:
        audit.record("totp.disable_failure", commune=None, object_type="user", object_id=user.id)
        db.commit()
        form.code.errors = [_("Ce code n'est pas valable ou a déjà servi.")]
        return _page(400, disable_form=form)
    totp.disable(user)
    audit.record(
        "totp.disabled",
        commune=None,
        object_type="user",
        object_id=user.id,
        details={"with": method},
    )
    db.commit()
    flash(_("Double authentification désactivée."), "success")
    return redirect(url_for("security.index"))


@bp.post("/codes-de-secours")
@login_required
def recovery_codes() -> Any:
    """A new set of recovery codes; the old ones stop working."""
    if not ActionForm().validate():
        abort(400)
    if not g.user.has_totp:
        return redirect(url_for("security.index"))
    codes = totp.new_recovery_codes(g.user)
    audit.record(
        "totp.recovery_codes_renewed", commune=None, object_type="user", object_id=g.user.id
    )
    db.commit()
    return _show_codes(codes, just_enabled=False)


@bp.post("/sessions/<int:session_id>/fermer")
@login_required
def revoke(session_id: int) -> Any:
    """Close one session: that browser is signed out at its next request."""
    if not ActionForm().validate():
        abort(400)
    if session_id == g.get("user_session_id"):
        auth.logout_user()
        db.commit()
        flash(_("Vous êtes déconnecté·e."), "success")
        return redirect(url_for("public.home"))
    if not auth.revoke_session(g.user, session_id):
        abort(404)
    audit.record("session.revoked", commune=None, object_type="user_session", object_id=session_id)
    db.commit()
    flash(_("Session fermée : cet appareil est déconnecté."), "success")
    return redirect(url_for("security.index", _anchor="sessions"))


@bp.post("/sessions/fermer-les-autres")
@login_required
def revoke_others() -> Any:
    """Close every session but this one."""
    if not ActionForm().validate():
        abort(400)
    count = auth.revoke_sessions(g.user, keep_id=g.get("user_session_id"))
    audit.record(
        "session.others_revoked",
        commune=None,
        object_type="user",
        object_id=g.user.id,
        details={"count": count},
    )
    db.commit()
    flash(
        ngettext(
            "%(num)d autre session fermée.",
            "%(num)d autres sessions fermées.",
            count,
        )
        if count
        else _("Aucune autre session n'était ouverte."),
        "success",
    )
    return redirect(url_for("security.index", _anchor="sessions"))
