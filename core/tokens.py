"""Bearer tokens on the JSON API: personal access tokens, and the authenticators of others.

A request under ``/api/`` with ``Authorization: Bearer <token>`` acts for the token's person,
with their rights narrowed to the token's scopes; it carries no cookie, so no CSRF check.
Each kind of token has an authenticator in ``app.extensions["viatic.bearer_authenticators"]``
(``raw token -> Bearer | None``): this module's for personal access tokens, ``core.oauth2``'s
for the tokens the portal issues to apps.

A personal access token is ``vtc_pat_`` followed by 43 random characters; only its digest
(``auth.credential_digest``) is stored. Its person creates, lists and revokes it from their
account page.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from flask import Flask, current_app, g
from sqlalchemy import Select, bindparam, select, update

from core import audit, auth
from core.db import db, utcnow
from core.models import PersonalAccessToken, User

PAT_PREFIX = "vtc_pat_"
LIFETIMES = (30, 90, 365)  # days a person may choose
USED_AT_EVERY = dt.timedelta(minutes=5)  # how stale last_used_at may be (no write per call)


@dataclass(frozen=True)
class Bearer:
    """Who a token acts for, and what it may do."""

    user: User
    scopes: frozenset[str]
    kind: str  # "personal" or "oauth"
    client_id: str | None = None


Authenticator = Callable[[str], Bearer | None]


def init_app(app: Flask) -> None:
    app.extensions.setdefault("viatic.bearer_authenticators", []).append(_personal)


def authenticate(raw: str) -> Bearer | None:
    """The bearer of ``raw``, if some authenticator accepts it."""
    for authenticator in current_app.extensions["viatic.bearer_authenticators"]:
        bearer = authenticator(raw)
        if bearer is not None:
            return bearer
    return None


def _personal_token_query() -> Select[tuple[User, int, PersonalAccessToken]]:
    """The token's person with what every request needs (``auth.person_of_request``), in
    one statement, if the token is valid."""
    return (
        auth.person_of_request(PersonalAccessToken)
        .join(PersonalAccessToken, PersonalAccessToken.user_id == User.id)
        .where(
            PersonalAccessToken.token_hash == bindparam("hash"),
            PersonalAccessToken.revoked_at.is_(None),
            PersonalAccessToken.expires_at > bindparam("now"),
            User.is_active.is_(True),
        )
    )


PERSONAL_TOKEN = _personal_token_query()


def _personal(raw: str) -> Bearer | None:
    if not raw.startswith(PAT_PREFIX):
        return None
    now = utcnow()
    row = (
        db.execute(PERSONAL_TOKEN, {"hash": auth.credential_digest(raw), "now": now})
        .unique()
        .one_or_none()
    )
    if row is None:
        return None
    user, unread, token = row
    g.unread_notifications = unread
    if token.last_used_at is None or now - token.last_used_at > USED_AT_EVERY:
        db.execute(
            update(PersonalAccessToken)
            .where(PersonalAccessToken.id == token.id)
            .values(last_used_at=now)
        )
        db.commit()
    return Bearer(user, frozenset(token.scopes.split()), "personal")


# --- The person's own tokens ------------------------------------------------------------------


def create(
    user: User, name: str, scopes: Iterable[str], days: int
) -> tuple[str, PersonalAccessToken]:
    """A new token for ``user``; the clear value is returned once, never stored."""
    raw = PAT_PREFIX + secrets.token_urlsafe(32)
    token = PersonalAccessToken(
        user_id=user.id,
        name=name,
        token_hash=auth.credential_digest(raw),
        prefix=raw[: len(PAT_PREFIX) + 4],
        scopes=" ".join(sorted(set(scopes))),
        expires_at=utcnow() + dt.timedelta(days=days),
    )
    db.add(token)
    db.flush()
    audit.record(
        "token.created",
        actor=user,
        object_type="personal_access_token",
        object_id=token.id,
        details={"name": name, "scopes": token.scopes, "days": days},
    )
    return raw, token


def owned(user: User) -> list[PersonalAccessToken]:
    """All the person's tokens, the newest first."""
    return list(
        db.scalars(
            select(PersonalAccessToken)
            .where(PersonalAccessToken.user_id == user.id)
            .order_by(PersonalAccessToken.created_at.desc(), PersonalAccessToken.id.desc())
        )
    )


def revoke(user: User, token: PersonalAccessToken) -> None:
    token.revoked_at = utcnow()
    audit.record(
        "token.revoked",
        actor=user,
        object_type="personal_access_token",
        object_id=token.id,
        details={"name": token.name},
    )
