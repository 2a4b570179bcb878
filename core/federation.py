"""Signing in with an identity federation: ProConnect, FranceConnect, a commune's provider.

Providers are registered at platform level, in ``VIATIC_OIDC_PROVIDERS`` (a JSON list) or
from the platform admin page (the ``identity_provider`` table). The protocol itself is
``connectors.oidc``; this module decides what an identity means here:

- a known (provider, sub) signs its person in;
- an unknown one whose e-mail is an existing account's is **not** signed in: the person
  proves the account (its password, or a link sent to it) and the identity is then linked;
- anyone else gets a new account with no commune (citizen level); memberships come from
  invitations.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from flask import current_app, session, url_for
from sqlalchemy import select

from connectors.oidc import KINDS, Identity, OidcClient, OidcError, ProviderSettings, random_token
from core import audit, auth, settings
from core.connector_log import connector_logger
from core.db import db, utcnow
from core.models import FederatedIdentity, IdentityLinkRequest, IdentityProvider, User

log = logging.getLogger(__name__)

LINK_LIFETIME = dt.timedelta(minutes=30)
PENDING_LIFETIME = 600  # seconds a sign-in may take at the provider
MAX_PENDING = 3  # sign-ins started in other tabs, kept in the session
# What the portal keeps of an identity's claims (shown on the account page).
KEPT_CLAIMS = ("given_name", "family_name", "usual_name", "siret", "organization_label", "idp_id")
DEFAULT_LABELS = {"proconnect": "ProConnect", "franceconnect": "FranceConnect"}


@dataclass(frozen=True)
class Provider:
    """A provider as the portal shows it; ``settings`` holds its secret."""

    slug: str
    kind: str
    label: str
    from_environment: bool
    settings: ProviderSettings


class ConfigurationError(ValueError):
    """``VIATIC_OIDC_PROVIDERS`` is not usable; the message names the entry and the field."""


def environment_providers(config: Any) -> dict[str, Provider]:
    """The providers of ``VIATIC_OIDC_PROVIDERS``, checked (at start-up, by ``create_app``)."""
    raw = config.get("OIDC_PROVIDERS") or []
    if not isinstance(raw, list):
        raise ConfigurationError("VIATIC_OIDC_PROVIDERS must be a JSON list of providers")
    providers: dict[str, Provider] = {}
    for n, entry in enumerate(raw, start=1):
        if not isinstance(entry, dict):
            raise ConfigurationError(f"VIATIC_OIDC_PROVIDERS, entry {n}: not a JSON object")
        missing = [
            key
            for key in ("slug", "kind", "discovery_url", "client_id", "client_secret")
            if not entry.get(key)
        ]
        if missing:
            raise ConfigurationError(
                f"VIATIC_OIDC_PROVIDERS, entry {n}: missing {', '.join(missing)}"
            )
        scopes = entry.get("scopes", "")
        try:
            provider_settings = ProviderSettings(
                slug=str(entry["slug"]),
                kind=str(entry["kind"]),
                discovery_url=str(entry["discovery_url"]),
                client_id=str(entry["client_id"]),
                client_secret=str(entry["client_secret"]),
                scopes=tuple(scopes.split() if isinstance(scopes, str) else scopes),
            )
        except ValueError as exc:
            raise ConfigurationError(f"VIATIC_OIDC_PROVIDERS, entry {n}: {exc}") from None
        if provider_settings.slug in providers:
            raise ConfigurationError(
                f"VIATIC_OIDC_PROVIDERS, entry {n}: slug {provider_settings.slug!r} repeated"
            )
        label = entry.get("label") or DEFAULT_LABELS.get(provider_settings.kind, "")
        providers[provider_settings.slug] = Provider(
            provider_settings.slug,
            provider_settings.kind,
            label or provider_settings.slug,
            True,
            provider_settings,
        )
    return providers


def providers(*, enabled_only: bool = True) -> dict[str, Provider]:
    """The providers offered at sign-in (or all of them), those of the environment first."""
    found = dict(current_app.extensions["viatic.oidc_providers"])
    query = select(IdentityProvider).order_by(IdentityProvider.label)
    if enabled_only:
        query = query.where(IdentityProvider.enabled.is_(True))
    rows = db.scalars(query)
    for row in rows:
        if row.slug in found:
            continue  # the environment's wins
        secret = settings.decrypt(row.client_secret)
        if secret is None:
            continue  # encrypted with another key: unusable until re-entered
        found[row.slug] = Provider(
            row.slug,
            row.kind,
            row.label,
            False,
            ProviderSettings(
                slug=row.slug,
                kind=row.kind,
                discovery_url=row.discovery_url,
                client_id=row.client_id,
                client_secret=secret,
                scopes=tuple(row.scopes.split()),
            ),
        )
    return found


def client(provider: Provider) -> OidcClient:
    return OidcClient(provider.settings, on_call=connector_logger())


# --- The pending sign-ins of this browser -------------------------------------------------


def remember(pending: dict[str, Any], next_url: str | None) -> None:
    """Keep a started sign-in in the session, keyed by its state (a few tabs at most)."""
    started = dict(session.get("oidc_pending", {}))
    started[pending["state"]] = {**pending, "next": next_url}
    if len(started) > MAX_PENDING:
        oldest = sorted(started.values(), key=lambda p: p["created_at"])
        for stale in oldest[: len(started) - MAX_PENDING]:
            started.pop(stale["state"], None)
    session["oidc_pending"] = started


def take_pending(state: str, now: float) -> dict[str, Any] | None:
    """The sign-in this state belongs to, once: a replayed or stale state finds nothing."""
    started = dict(session.get("oidc_pending", {}))
    pending = started.pop(state, None) if state else None
    session["oidc_pending"] = started
    if pending is None or now - pending["created_at"] > PENDING_LIFETIME:
        return None
    return pending


# --- From an identity to an account ---------------------------------------------------------


@dataclass
class Outcome:
    """What the callback does next: sign ``user`` in, or ask to prove ``link_user``'s
    account (``browser_token`` ties the request to this browser)."""

    user: User | None = None
    link_user: User | None = None
    browser_token: str | None = None
    created: bool = False


def _details(identity: Identity) -> dict[str, Any]:
    return {k: identity.claims[k] for k in KEPT_CLAIMS if identity.claims.get(k)}


def resolve(identity: Identity) -> Outcome:
    """The account this identity signs into, created if need be, or the link to prove."""
    known = db.scalar(
        select(FederatedIdentity).where(
            FederatedIdentity.provider == identity.provider,
            FederatedIdentity.sub == identity.sub,
        )
    )
    if known is not None:
        known.last_login_at = utcnow()
        known.email = identity.email
        known.details = _details(identity)
        return Outcome(user=known.user)
    email = auth.normalize_email(identity.email) if identity.email else None
    existing = auth.find_user(email) if email else None
    if existing is not None:
        token, token_hash = auth.new_token()
        db.add(
            IdentityLinkRequest(
                user=existing,
                provider=identity.provider,
                sub=identity.sub,
                email=email,
                details=_details(identity),
                browser_token_hash=token_hash,
                expires_at=utcnow() + LINK_LIFETIME,
            )
        )
        record("identity.link_requested", existing, identity.provider)
        return Outcome(link_user=existing, browser_token=token)
    if email is None:
        raise MissingEmail()
    user = User(email=email, name=identity.name[:200] or email.split("@")[0])
    db.add(user)
    db.flush()
    record("user.created", user, identity.provider)
    link(user, identity.provider, identity.sub, email, _details(identity))
    return Outcome(user=user, created=True)


class MissingEmail(Exception):
    """The provider sent no e-mail address, and the portal needs one for a new account."""


def record(action: str, user: User, provider: str) -> None:
    """An audit event about ``user``'s sign-in or identities at ``provider``."""
    audit.record(
        action, actor=user, object_type="user", object_id=user.id, details={"provider": provider}
    )


def link(user: User, provider: str, sub: str, email: str | None, details: dict[str, Any]) -> None:
    db.add(
        FederatedIdentity(
            user_id=user.id,
            provider=provider,
            sub=sub,
            email=email,
            details=details,
            last_login_at=utcnow(),
        )
    )
    record("identity.linked", user, provider)


def link_request(*, browser_token: str | None = None, mail_token: str | None = None) -> Any:
    """The pending link named by one of its tokens, if still valid."""
    if browser_token:
        where = IdentityLinkRequest.browser_token_hash == auth.token_hash(browser_token)
    elif mail_token:
        where = IdentityLinkRequest.mail_token_hash == auth.token_hash(mail_token)
    else:
        return None
    request = db.scalar(select(IdentityLinkRequest).where(where))
    if request is None or request.used_at is not None or request.expires_at < utcnow():
        return None
    return request


def complete_link(request: IdentityLinkRequest) -> User:
    """The account is proven: link the identity (once) and return the account."""
    request.used_at = utcnow()
    already = db.scalar(
        select(FederatedIdentity).where(
            FederatedIdentity.provider == request.provider, FederatedIdentity.sub == request.sub
        )
    )
    if already is None:
        link(request.user, request.provider, request.sub, request.email, request.details)
    return request.user


def identities(user: User) -> list[FederatedIdentity]:
    return list(
        db.scalars(
            select(FederatedIdentity)
            .where(FederatedIdentity.user_id == user.id)
            .order_by(FederatedIdentity.created_at)
        )
    )


def can_unlink(user: User) -> bool:
    """Whether the person keeps a way in after unlinking one identity."""
    return user.password_hash is not None or len(identities(user)) > 1


def unlink(user: User, identity: FederatedIdentity) -> None:
    db.delete(identity)
    record("identity.unlinked", user, identity.provider)


# --- Logout at the provider ---------------------------------------------------------------------


def remember_sign_in(provider: Provider, id_token: str) -> None:
    """Keep what the logout needs: the id_token for the provider's end-session endpoint, and
    that endpoint's origin, which the pages' ``form-action`` must allow (a browser applies
    it to the logout form's redirect)."""
    endpoint = client(provider).metadata().end_session_endpoint
    if endpoint is None:
        return
    parts = urlsplit(endpoint)
    session["oidc"] = {
        "provider": provider.slug,
        "id_token": id_token,
        "logout_origin": f"{parts.scheme}://{parts.netloc}",
    }


def logout_origin() -> str | None:
    """The origin the logout form of this session may lead to, if any."""
    signed_in_with = session.get("oidc")
    return signed_in_with.get("logout_origin") if signed_in_with else None


def end_session_url(signed_in_with: dict[str, Any] | None) -> str | None:
    """After the local logout, the provider's end-session URL when the person signed in
    through one; the state to check on return is kept in the session."""
    if not signed_in_with:
        return None
    provider = providers().get(signed_in_with.get("provider", ""))
    if provider is None:
        return None
    state = random_token()
    try:
        url = client(provider).end_session_url(
            signed_in_with["id_token"], url_for("federation.logged_out", _external=True), state
        )
    except OidcError as error:
        log.warning("Logout at %s not possible: %s", provider.slug, error)
        return None
    if url is not None:
        session["oidc_logout"] = {"state": state, "provider": provider.slug}
    return url


__all__ = ["KINDS", "ConfigurationError", "MissingEmail", "Outcome", "Provider"]
