"""Signing in and out through an identity provider, and linking an identity to an account."""

from __future__ import annotations

import logging
import math
import time
from typing import Any

from flask import (
    Blueprint,
    abort,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _

from connectors.oidc import OidcError, Pending, ProviderUnavailable
from core import audit, auth, federation, mail, throttle
from core.db import db
from core.forms import ActionForm, ProveAccountForm
from core.rights import login_required, public
from core.views.auth import safe_next

log = logging.getLogger(__name__)

bp = Blueprint("federation", __name__)


def _provider_or_404(slug: str) -> federation.Provider:
    provider = federation.providers().get(slug)
    if provider is None:
        abort(404)
    return provider


def _refused(provider: federation.Provider, error: OidcError, status: int) -> Any:
    """A clear page, and a trace for the platform admins; nothing was created."""
    db.rollback()
    audit.record(
        "login.federated_refused",
        actor_label=provider.slug,
        details={"provider": provider.slug, "reason": error.reason},
    )
    db.commit()
    log.warning("Sign-in through %s refused: %s", provider.slug, error)
    if isinstance(error, ProviderUnavailable) or status == 503:
        message = _(
            "%(provider)s est momentanément indisponible. Réessayez dans quelques minutes, "
            "ou connectez-vous avec votre adresse e-mail et votre mot de passe.",
            provider=provider.label,
        )
    else:
        message = _(
            "La connexion avec %(provider)s n'a pas abouti. Rien n'a été enregistré : "
            "recommencez depuis la page de connexion.",
            provider=provider.label,
        )
    return render_template("auth/federated_error.html", provider=provider, message=message), status


@bp.get("/connexion/avec/<slug>")
@public
def start(slug: str) -> Any:
    """Send the person to the provider (the state ties the answer to this browser)."""
    provider = _provider_or_404(slug)
    try:
        url, pending = federation.client(provider).begin(
            url_for("federation.callback", slug=slug, _external=True)
        )
    except OidcError as error:
        return _refused(provider, error, 503)
    federation.remember(pending.to_dict(), safe_next(request.args.get("next")))
    return redirect(url)


@bp.get("/connexion/avec/<slug>/retour")
@public
def callback(slug: str) -> Any:
    provider = _provider_or_404(slug)
    pending = federation.take_pending(request.args.get("state", ""), time.time())
    if pending is None or pending["provider"] != slug:
        return _refused(provider, OidcError("unknown or replayed state", "state_unknown"), 400)
    next_url = pending.pop("next", None)
    try:
        identity = federation.client(provider).finish(Pending.from_dict(pending), request.args)
    except OidcError as error:
        return _refused(provider, error, 503 if isinstance(error, ProviderUnavailable) else 400)
    try:
        outcome = federation.resolve(identity)
    except federation.MissingEmail:
        return _refused(provider, OidcError("no e-mail address", "no_email"), 400)
    if outcome.link_user is not None:
        db.commit()
        session["oidc_link"] = {"token": outcome.browser_token, "next": next_url}
        return redirect(url_for("federation.link"))
    user = outcome.user
    assert user is not None
    if not user.is_active:
        return _refused(provider, OidcError("inactive account", "inactive"), 403)
    welcome = _("Bienvenue ! Votre compte est créé.") if outcome.created else None
    return _sign_in(user, slug, next_url, welcome, provider, identity.id_token)


def _sign_in(
    user: Any,
    slug: str,
    next_url: str | None,
    message: str | None = None,
    provider: Any = None,
    id_token: str | None = None,
) -> Any:
    """Sign ``user`` in, through the second step when they enrolled one; with the
    provider's ``id_token``, the logout will end the provider's session too."""
    if provider is not None and id_token is not None:
        federation.remember_sign_in(provider, id_token)
    second_step = auth.begin_login(user, next_url, keep=("oidc",))
    federation.record("login.federated", user, slug)
    db.commit()
    if second_step is not None:
        return second_step
    if message:
        flash(message, "success")  # after the sign-in, which starts a fresh session
    return redirect(next_url or url_for("public.home"))


@bp.route("/connexion/lier", methods=["GET", "POST"])
@public
def link() -> Any:
    """The identity's e-mail is an existing account's: prove that account is yours."""
    pending = session.get("oidc_link") or {}
    link_request = federation.link_request(browser_token=pending.get("token"))
    if link_request is None:
        session.pop("oidc_link", None)
        return render_template("auth/link_invalid.html"), 400
    provider = federation.providers().get(link_request.provider)
    label = provider.label if provider is not None else link_request.provider
    form = ProveAccountForm()
    error = None
    status = 200
    if request.method == "POST":
        if not form.validate():
            status = 400
        elif form.send_link.data:
            if link_request.mail_token_hash is None:  # once: no mailbox flooding
                _mail_link(link_request, label)
                db.commit()
            flash(
                _(
                    "Un lien vient d'être envoyé à %(email)s. Ouvrez-le pour terminer.",
                    email=link_request.user.email,
                ),
                "success",
            )
            return redirect(url_for("federation.link"))
        else:
            email = link_request.user.email
            wait = throttle.wait_before_login(email, auth.client_ip())
            if wait is not None:
                error = _(
                    "Trop de tentatives de connexion. Par sécurité, réessayez dans "
                    "%(minutes)d minutes.",
                    minutes=math.ceil(wait.total_seconds() / 60),
                )
                status = 429
            elif auth.authenticate(email, form.password.data or "") is not None:
                user = federation.complete_link(link_request)
                linked = _("Votre compte est maintenant lié à %(provider)s.", provider=label)
                return _sign_in(user, link_request.provider, safe_next(pending.get("next")), linked)
            else:
                db.commit()  # the failed attempt counts for throttling
                error = _("Mot de passe incorrect.")
                status = 401
    return render_template(
        "auth/link_account.html",
        form=form,
        error=error,
        provider_label=label,
        email=link_request.user.email,
    ), status


def _mail_link(link_request: Any, label: str) -> None:
    token, token_hash = auth.new_token()
    link_request.mail_token_hash = token_hash
    mail.queue(
        link_request.user.email,
        _("Lier votre compte Viatic à %(provider)s", provider=label),
        _(
            "Bonjour %(name)s,\n\nQuelqu'un, sans doute vous, s'est identifié avec "
            "%(provider)s et demande à utiliser ce compte. Pour lier les deux, ouvrez ce lien "
            "(valable 30 minutes, une seule fois) :\n%(link)s\n\nSi ce n'est pas vous, ignorez "
            "ce message : rien ne sera lié.",
            name=link_request.user.name,
            provider=label,
            link=url_for("federation.link_by_mail", token=token, _external=True),
        ),
    )
    federation.record("identity.link_mailed", link_request.user, link_request.provider)


@bp.route("/connexion/lier/<token>", methods=["GET", "POST"])
@public
def link_by_mail(token: str) -> Any:
    """The link e-mailed to the account: opening it proves the mailbox, a click links."""
    link_request = federation.link_request(mail_token=token)
    if link_request is None:
        return render_template("auth/link_invalid.html"), 400
    provider = federation.providers().get(link_request.provider)
    label = provider.label if provider is not None else link_request.provider
    form = ActionForm()
    if request.method == "POST":
        if not form.validate():
            abort(400)
        user = federation.complete_link(link_request)
        session.pop("oidc_link", None)
        linked = _("Votre compte est maintenant lié à %(provider)s.", provider=label)
        return _sign_in(user, link_request.provider, None, linked)
    # A GET changes nothing: mail scanners open links too.
    return render_template(
        "auth/link_confirm.html", form=form, provider_label=label, email=link_request.user.email
    )


@bp.get("/deconnexion/retour")
@public
def logged_out() -> Any:
    """Back from the provider's logout: its state must be the one we sent."""
    expected = session.pop("oidc_logout", None)
    label = None
    if expected is not None:
        provider = federation.providers().get(expected["provider"])
        label = provider.label if provider is not None else expected["provider"]
    if expected is None or request.args.get("state") != expected["state"]:
        flash(
            _(
                "Vous êtes déconnecté·e de Viatic, mais la déconnexion auprès de votre "
                "fournisseur d'identité n'a pas pu être confirmée. Fermez votre navigateur "
                "sur un ordinateur partagé."
            ),
            "warning",
        )
    else:
        flash(_("Vous êtes déconnecté·e de Viatic et de %(provider)s.", provider=label), "success")
    return redirect(url_for("public.home"))


@bp.get("/compte/identites")
@login_required
def identities() -> Any:
    """The person's linked identities, and the providers they can still link."""
    linked = federation.identities(g.user)
    providers = federation.providers()
    return render_template(
        "account/identities.html",
        linked=linked,
        providers=providers,
        can_unlink=federation.can_unlink(g.user),
        form=ActionForm(),
    )


@bp.post("/compte/identites/<int:identity_id>/retirer")
@login_required
def unlink(identity_id: int) -> Any:
    form = ActionForm()
    if not form.validate():
        abort(400)
    identity = next((i for i in federation.identities(g.user) if i.id == identity_id), None)
    if identity is None:
        abort(404)
    if not federation.can_unlink(g.user):
        flash(
            _(
                "C'est votre seul moyen de connexion : choisissez d'abord un mot de passe, "
                "puis retirez cette identité."
            ),
            "error",
        )
        return redirect(url_for("federation.identities"))
    federation.unlink(g.user, identity)
    db.commit()
    flash(_("Identité retirée de votre compte."), "success")
    return redirect(url_for("federation.identities"))
