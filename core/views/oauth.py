"""Viatic as an OAuth2 authorization server and OpenID provider: the consent screen, the
protocol's endpoints (token, revocation, userinfo, JWKS, discovery), a person's authorised
apps, and the platform admin's registered apps. The rules are in ``core.oauth2``."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749 import scope_to_list
from authlib.oidc.core.errors import ConsentRequiredError
from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import select

from core import auth, oauth2
from core.db import db
from core.forms import ActionForm, OAuthClientForm
from core.models import OAuthClient, OAuthConsent
from core.rights import login_required, platform_admin_required, public
from core.views import refuse

log = logging.getLogger(__name__)

bp = Blueprint("oauth", __name__)

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


@bp.record_once
def _exempt_from_csrf(state: Any) -> None:
    """Apps call these with their credentials or a token, never with the session cookie a
    forged form would ride on."""
    csrf = state.app.extensions["csrf"]
    for view in (token, revoke, userinfo):
        csrf.exempt(view)


# --- The authorization endpoint and the consent screen ----------------------------------------


@bp.route("/oauth/autoriser", methods=["GET", "POST"])
@public
def authorize() -> Any:
    """Check the app's request first (an unknown app or an unregistered redirect_uri gets a
    page here, never a redirect), then sign the person in, then ask their consent unless
    they already gave it for these scopes."""
    server = oauth2.server()
    user = g.user
    unreadable = oauth2.unreadable_request(request.values, {})
    if unreadable is not None:
        return _authorization_error(unreadable)
    try:
        grant = server.get_consent_grant(end_user=user)
    except OAuth2Error as error:
        return _authorization_error(error)
    if user is None:
        return redirect(url_for("auth.login", next=request.full_path))
    if auth.requires_second_factor(user):
        return redirect(url_for("security.index"))
    client = grant.client.row
    requested = scope_to_list(grant.request.scope) or []
    prompt = set((grant.request.payload.data.get("prompt") or "").split())
    remembered = "consent" not in prompt and set(requested) <= oauth2.consented_scopes(user, client)
    if request.method == "GET":
        if remembered:
            return _issue(grant, user)
        if "none" in prompt:
            return _authorization_error(
                ConsentRequiredError(
                    redirect_uri=grant.redirect_uri, state=grant.request.payload.state
                )
            )
        g.form_action_origin = oauth2.form_action_source(grant.redirect_uri)
        labels = oauth2.declared_scopes()
        return render_template(
            "oauth/consent.html",
            client=client,
            scopes=[(name, labels[name].label) for name in requested],
            destination=urlsplit(grant.redirect_uri).netloc,
        )
    if not ActionForm().validate():
        abort(400)
    decision = request.form.get("decision")
    if decision == "autoriser":
        oauth2.give_consent(user, client, requested)
        return _issue(grant, user)
    if decision == "refuser":
        oauth2.refuse_consent(user, client, requested)
        response = server.create_authorization_response(grant=grant, grant_user=None)
        db.commit()
        return response
    refuse(_("Choisissez « Autoriser » ou « Refuser »."))


def _issue(grant: Any, user: Any) -> Any:
    response = oauth2.server().create_authorization_response(grant=grant, grant_user=user)
    db.commit()
    return response


def _authorization_error(error: OAuth2Error) -> Any:
    """Back to the app with the error when its redirect URI is known to be its own;
    otherwise a page here, as there is nowhere safe to send the person."""
    if error.redirect_uri:
        return oauth2.server().handle_error_response(None, error)
    log.info("Authorization request refused here: %s %s", error.error, error.description)
    client_id = request.values.get("client_id")
    redirect_uri = request.values.get("redirect_uri")
    readable = oauth2.PRINTABLE_ASCII.match(client_id or "")
    client = oauth2.server().query_client(client_id) if client_id and readable else None
    if client is None:
        message = _(
            "Cette application n'est pas enregistrée sur Viatic, ou elle a été désactivée. "
            "Revenez à l'application ; si le problème persiste, signalez-le à son éditeur."
        )
    elif redirect_uri and not client.check_redirect_uri(redirect_uri):
        message = _(
            "L'adresse de retour demandée par « %(name)s » n'est pas enregistrée : par "
            "sécurité, vous n'y êtes pas renvoyé. Signalez-le à l'éditeur de l'application.",
            name=client.row.name,
        )
    else:
        message = _(
            "La demande de « %(name)s » est incomplète ou incorrecte (%(error)s). Revenez à "
            "l'application et recommencez.",
            name=client.row.name,
            error=error.error,
        )
    refuse(message, 400)


# --- The protocol's endpoints -----------------------------------------------------------------


@bp.post("/oauth/token")
@public
def token() -> Any:
    if request.form.get("grant_type") == "authorization_code":
        # The id_token's key, made (the first time) before this request writes anything.
        oauth2.signing_key()
    unreadable = oauth2.unreadable_request(request.form, request.headers)
    if unreadable is not None:
        return oauth2.server().handle_error_response(None, unreadable)
    response = oauth2.server().create_token_response()
    db.commit()
    return response


@bp.post("/oauth/revoke")
@public
def revoke() -> Any:
    unreadable = oauth2.unreadable_request(request.form, request.headers)
    if unreadable is not None:
        return oauth2.server().handle_error_response(None, unreadable)
    response = oauth2.server().create_endpoint_response("revocation")
    db.commit()
    return response


@bp.route("/oauth/userinfo", methods=["GET", "POST"])
@public
def userinfo() -> Any:
    """OpenID Connect's userinfo: the claims of the token's scopes (RFC 6750 errors)."""
    header = request.headers.get("Authorization", "")
    raw = header[7:].strip() if header[:7].lower() == "bearer " else ""
    bearer = oauth2.authenticate(raw) if raw else None
    if bearer is None:
        return _bearer_error(401, "invalid_token" if raw else None)
    if "openid" not in bearer.scopes:
        return _bearer_error(403, "insufficient_scope")
    response = jsonify(oauth2.user_claims(bearer.user, bearer.scopes))
    response.headers.update(NO_STORE)
    return response


def _bearer_error(status: int, error: str | None) -> Any:
    challenge = 'Bearer realm="viatic"'
    body: dict[str, str] = {}
    if error is not None:
        challenge += f', error="{error}"'
        body = {"error": error}
    if error == "insufficient_scope":
        challenge += ', scope="openid"'
    response = jsonify(body)
    response.status_code = status
    response.headers["WWW-Authenticate"] = challenge
    response.headers.update(NO_STORE)
    return response


@bp.get("/oauth/jwks")
@public
def jwks() -> Any:
    return _public_json(oauth2.public_key_set())


@bp.get("/.well-known/openid-configuration")
@public
def discovery() -> Any:
    return _public_json(oauth2.discovery_document())


def _public_json(document: dict[str, Any]) -> Any:
    response = jsonify(document)
    response.headers["Cache-Control"] = "public, max-age=600"
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


# --- A person's authorised apps ---------------------------------------------------------------


@bp.get("/compte/applications")
@login_required
def my_apps() -> Any:
    return render_template(
        "oauth/applications.html",
        apps=oauth2.authorised_apps(g.user),
        labels=oauth2.declared_scopes(),
    )


@bp.post("/compte/applications/<int:consent_id>/retirer")
@login_required
def withdraw(consent_id: int) -> Any:
    if not ActionForm().validate():
        abort(400)
    consent = db.scalar(
        select(OAuthConsent).where(
            OAuthConsent.id == consent_id,
            OAuthConsent.user_id == g.user.id,  # another person's is not found
        )
    )
    if consent is None:
        abort(404)
    name = consent.client.name
    oauth2.withdraw(g.user, consent)
    db.commit()
    flash(_("« %(name)s » n'a plus accès à votre compte.", name=name), "success")
    return redirect(url_for("oauth.my_apps"))


# --- The platform admin's registered apps -----------------------------------------------------


@bp.get("/admin/applications")
@platform_admin_required
def clients() -> Any:
    return render_template(
        "platform/oauth_clients.html",
        clients=db.scalars(select(OAuthClient).order_by(OAuthClient.name)).all(),
        active=oauth2.active_families(),
        labels=oauth2.declared_scopes(),
        discovery_url=url_for("oauth.discovery", _external=True),
    )


@bp.route("/admin/applications/nouvelle", methods=["GET", "POST"])
@bp.route("/admin/applications/<int:client_id>", methods=["GET", "POST"])
@platform_admin_required
def client(client_id: int | None = None) -> Any:
    row = db.get(OAuthClient, client_id) if client_id is not None else None
    if client_id is not None and row is None:
        abort(404)
    data = None
    if row is not None:
        data = {
            "name": row.name,
            "redirect_uris": "\n".join(row.redirect_uris),
            "scopes": row.scopes.split(),
            "enabled": row.enabled,
        }
    form = OAuthClientForm(data=data)
    if row is not None:
        del form.kind  # chosen once
    form.scopes.choices = [
        (name, f"{scope.label} ({name})") for name, scope in oauth2.declared_scopes().items()
    ]
    if request.method == "POST":
        if form.validate():
            if row is None:
                row, secret = oauth2.create_client(
                    form.name.data.strip(),
                    form.kind.data == "confidential",
                    form.redirect_uri_list(),
                    form.scopes.data,
                )
                db.commit()
                return _show_secret(row, secret, created=True)
            revoked = oauth2.update_client(
                row,
                form.name.data.strip(),
                form.redirect_uri_list(),
                form.scopes.data,
                form.enabled.data,
            )
            db.commit()
            flash(_("Application « %(name)s » enregistrée.", name=row.name), "success")
            if revoked:
                flash(
                    ngettext(
                        "%(num)d autorisation a été révoquée.",
                        "%(num)d autorisations ont été révoquées.",
                        revoked,
                    ),
                    "success",
                )
            return redirect(url_for("oauth.clients"))
        return render_template("platform/oauth_client.html", form=form, row=row), 400
    return render_template("platform/oauth_client.html", form=form, row=row)


@bp.post("/admin/applications/<int:client_id>/secret")
@platform_admin_required
def regenerate_secret(client_id: int) -> Any:
    row = db.get(OAuthClient, client_id)
    if row is None:
        abort(404)
    if not ActionForm().validate():
        abort(400)
    if not row.confidential:
        refuse(_("Une application publique n'a pas de secret."))
    secret = oauth2.regenerate_secret(row)
    db.commit()
    return _show_secret(row, secret, created=False)


def _show_secret(row: OAuthClient, secret: str | None, created: bool) -> Any:
    """The secret, once: the page is not kept by the browser, and never shown again."""
    response = current_app.make_response(
        render_template(
            "platform/oauth_client_secret.html",
            row=row,
            secret=secret,
            created=created,
            discovery_url=url_for("oauth.discovery", _external=True),
        )
    )
    response.headers.update(NO_STORE)
    return response
