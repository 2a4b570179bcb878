"""Local accounts: password hashing, signing in and out, throttling, single-use tokens.

Sessions live in Flask's signed cookie (HttpOnly, SameSite=Lax, Secure outside development).
Signing in clears the old session and binds the new one to the account's security stamp (a
password change or reset signs out every other session) and to a row of ``user_session``
named by the cookie's random ``sid``: the person lists their sessions and closes any of
them, which signs that browser out at its next request. Both checks ride on the one
statement that loads the signed-in user (``SIGNED_IN_USER``).

A person who has enrolled a second factor (``core.totp``) is signed in in two steps: after
the password (or an identity provider), ``begin_login`` keeps a short-lived "half-login" in
the session and sends them to ``/connexion/code``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import secrets
from collections.abc import Iterable
from typing import Any

import argon2.profiles
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import Flask, current_app, g, redirect, request, session, url_for
from sqlalchemy import Select, and_, bindparam, delete, func, or_, select, update
from sqlalchemy.orm import joinedload
from werkzeug.wrappers import Response

from core import audit, rights, throttle
from core.db import db, utcnow
from core.models import (
    Commune,
    Membership,
    Notification,
    User,
    UserSession,
    new_security_stamp,
)

MIN_PASSWORD_LENGTH = 10
# A session's "last seen" is written at most this often, not at every request.
LAST_SEEN_EVERY = dt.timedelta(minutes=5)
# Time to type the code after the password.
HALF_LOGIN_LIFETIME = dt.timedelta(minutes=5)
HALF_LOGIN = "half_login"


def init_app(app: Flask) -> None:
    """Argon2 with the parameters of ``VIATIC_ARGON2_PROFILE`` (default: RFC 9106's low-memory
    profile; the test suite uses ``CHEAPEST``)."""
    profile = getattr(argon2.profiles, app.config.get("ARGON2_PROFILE", "RFC_9106_LOW_MEMORY"))
    app.extensions["viatic.password_hasher"] = PasswordHasher.from_parameters(profile)


def _dummy_hash() -> str:
    """A hash to verify against when the account does not exist, so that the answer takes
    as long. Made on first use: hashing costs a worker 64 MiB and a fraction of a second."""
    extensions = current_app.extensions
    if "viatic.dummy_hash" not in extensions:
        extensions["viatic.dummy_hash"] = _hasher().hash(secrets.token_hex(16))
    return extensions["viatic.dummy_hash"]


def _hasher() -> PasswordHasher:
    return current_app.extensions["viatic.password_hasher"]


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def normalize_email(email: str) -> str:
    return email.strip().lower()


def find_user(email: str) -> User | None:
    return db.scalar(select(User).where(User.email == normalize_email(email)))


def set_password(user: User, password: str) -> None:
    """Set a new password and sign out every session of this person (the caller signs the
    current browser in again with ``login_user`` if it should stay)."""
    user.password_hash = hash_password(password)
    user.security_stamp = new_security_stamp()
    if user.id is not None:
        revoke_sessions(user)


def check_password(user: User | None, password: str) -> bool:
    if user is None or not user.password_hash:
        with contextlib.suppress(VerificationError):
            _hasher().verify(_dummy_hash(), password)
        return False
    try:
        _hasher().verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False
    if _hasher().check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return True


# --- Throttling -------------------------------------------------------------------------------


def client_ip() -> str:
    return request.remote_addr or "?"


def authenticate(email: str, password: str) -> User | None:
    """Check the credentials, record the attempt (and its audit event), return the user.

    For a person with a second factor the audit says ``login.password_accepted``: the
    sign-in succeeds (``login.success``) only once the code is given."""
    user = find_user(email)
    ok = check_password(user, password) and user is not None and user.is_active
    throttle.record_login(normalize_email(email), client_ip(), ok)
    if ok:
        audit.record(
            "login.password_accepted" if needs_second_factor(user) else "login.success",
            actor=user,
            commune=None,
            object_type="user",
            object_id=user.id,
        )
        return user
    audit.record(
        "login.failure",
        actor_label=normalize_email(email)[:254],
        commune=None,
        details={
            "reason": "inactive" if user is not None and not user.is_active else "credentials"
        },
    )
    return None


# --- The session ------------------------------------------------------------------------------


def _user_agent() -> str:
    return (request.user_agent.string or "")[:300]


def login_user(user: User) -> None:
    """Start a fresh session for ``user`` (the old one, and its CSRF token, are dropped) and
    record it in ``user_session``. The caller commits."""
    _revoke_current_session()
    session.clear()
    session.permanent = True
    sid = secrets.token_urlsafe(16)
    session["uid"] = user.id
    session["stamp"] = user.security_stamp
    session["sid"] = sid
    now = utcnow()
    user.last_login_at = now
    db.add(
        UserSession(
            user=user,
            sid_hash=token_hash(sid),
            created_at=now,
            last_seen_at=now,
            user_agent=_user_agent(),
            ip=client_ip(),
        )
    )
    g.user = user


def logout_user() -> None:
    """End this browser's session (its row is marked revoked; the caller commits)."""
    _revoke_current_session()
    _clear_session()
    g.user = None


def _clear_session() -> None:
    locale = session.get("locale")
    session.clear()
    if locale:
        session["locale"] = locale


def _revoke_current_session() -> None:
    sid = session.get("sid")
    if sid:
        db.execute(
            update(UserSession)
            .where(UserSession.sid_hash == token_hash(sid), UserSession.revoked_at.is_(None))
            .values(revoked_at=utcnow())
            .execution_options(synchronize_session=False)
        )


def person_of_request(*columns: Any) -> Select[Any]:
    """Select a user, their count of unread notifications (the header's bell) and
    ``columns``, with their memberships, communes and EPCI loaded (rights, the commune
    switcher, the commune of the URL): what every request needs, in one round trip. Each way
    in (session cookie, personal token, app token) adds its own join and conditions."""
    unread = (
        select(func.count())
        .where(Notification.user_id == User.id, Notification.read_at.is_(None))
        .correlate(User)
        .scalar_subquery()
    )
    return select(User, unread, *columns).options(
        joinedload(User.memberships).joinedload(Membership.commune).joinedload(Commune.epci)
    )


def _signed_in_user_query() -> Select[Any]:
    """The signed-in user (see ``person_of_request``) with the id and last activity of this
    browser's session row if it is still open (no row: the session was closed). Built once;
    executed with ``uid`` and ``sid`` (the hash of the cookie's session id)."""
    return (
        person_of_request(UserSession.id, UserSession.last_seen_at)
        .outerjoin(
            UserSession,
            and_(
                UserSession.user_id == User.id,
                UserSession.sid_hash == bindparam("sid"),
                UserSession.revoked_at.is_(None),
            ),
        )
        .where(User.id == bindparam("uid"))
    )


SIGNED_IN_USER = _signed_in_user_query()


def load_user() -> User | None:
    """The signed-in user of this request, if the session is still valid: the account is
    active, its security stamp unchanged, and this browser's session row open."""
    uid = session.get("uid")
    if uid is None:
        return None
    sid = session.get("sid")
    row = (
        db.execute(SIGNED_IN_USER, {"uid": uid, "sid": token_hash(sid) if sid else ""})
        .unique()
        .one_or_none()
    )
    if (
        row is None
        or row[2] is None
        or not row[0].is_active
        or session.get("stamp") != row[0].security_stamp
    ):
        for key in ("uid", "stamp", "sid"):
            session.pop(key, None)
        return None
    g.unread_notifications = row[1]
    g.user_session_id = row[2]
    now = utcnow()
    if now - row[3] >= LAST_SEEN_EVERY:
        db.execute(
            update(UserSession)
            .where(UserSession.id == row[2])
            .values(last_seen_at=now, ip=client_ip())
            .execution_options(synchronize_session=False)
        )
        db.commit()
        session.modified = True  # the cookie's expiry moves on with the recorded activity
    return row[0]


def requires_second_factor(user: User) -> bool:
    """Whether ``user`` administers the platform or a commune without a second factor, and
    so may open nothing but the enrolment page. Reads only what ``SIGNED_IN_USER`` loaded
    (``VIATIC_ADMIN_TOTP_REQUIRED=false`` turns the rule off)."""
    if user.has_totp or not current_app.config["ADMIN_TOTP_REQUIRED"]:
        return False
    return user.is_platform_admin or any(
        m.is_commune_admin for m in rights.memberships(user).values()
    )


# --- Two-step sign-in -------------------------------------------------------------------------


def needs_second_factor(user: User) -> bool:
    """Whether signing ``user`` in asks for a code after the first factor."""
    return user.has_totp


def begin_login(
    user: User, next_url: str | None = None, keep: Iterable[str] = ()
) -> Response | None:
    """Sign ``user`` in after a first factor (their password, or an identity provider's
    answer), or start the second step if they enrolled one.

    Every sign-in path calls it in place of ``login_user``: it returns None when the person
    is signed in (the caller commits and redirects as it likes), or a response to return
    (after committing): the redirect to ``/connexion/code``, where the code completes the
    sign-in and leads to ``next_url``. Until then the session holds only a signed
    "half-login" (user id, security stamp, expiry in ``HALF_LOGIN_LIFETIME``), which signs
    nobody in. ``keep`` names session keys whose values must survive the sign-in, e.g.
    ``"oidc"`` set by ``federation.remember_sign_in`` beforehand, so that the logout still
    reaches the provider.
    """
    kept = {key: session[key] for key in keep if key in session}
    if not needs_second_factor(user):
        login_user(user)
        session.update(kept)
        return None
    _revoke_current_session()
    _clear_session()
    g.user = None
    session[HALF_LOGIN] = {
        "uid": user.id,
        "stamp": user.security_stamp,
        "exp": int((utcnow() + HALF_LOGIN_LIFETIME).timestamp()),
        "next": next_url,
        "keep": kept,
    }
    return redirect(url_for("auth.second_factor"))


def pending_login() -> tuple[User, dict[str, Any]] | None:
    """The person of this browser's half-login and its data, if it is still valid."""
    half = session.get(HALF_LOGIN)
    if not isinstance(half, dict):
        return None
    user = None
    if half.get("exp", 0) >= utcnow().timestamp():
        user = db.get(User, half.get("uid"))
    if (
        user is None
        or not user.is_active
        or user.security_stamp != half.get("stamp")
        or not needs_second_factor(user)
    ):
        session.pop(HALF_LOGIN, None)
        return None
    return user, half


def finish_login(user: User, half: dict[str, Any]) -> str | None:
    """Complete a half-login whose code was right; return where the person was going."""
    login_user(user)
    session.update(half.get("keep") or {})
    return half.get("next")


# --- A person's sessions ----------------------------------------------------------------------


def active_sessions(user: User) -> list[UserSession]:
    """The person's open sessions, the most recently used first."""
    since = utcnow() - current_app.permanent_session_lifetime
    return list(
        db.scalars(
            select(UserSession)
            .where(
                UserSession.user_id == user.id,
                UserSession.revoked_at.is_(None),
                UserSession.last_seen_at > since,
            )
            .order_by(UserSession.last_seen_at.desc(), UserSession.id.desc())
        )
    )


def revoke_sessions(user: User, keep_id: int | None = None) -> int:
    """Close every open session of ``user`` but ``keep_id``; return how many."""
    query = update(UserSession).where(
        UserSession.user_id == user.id, UserSession.revoked_at.is_(None)
    )
    if keep_id is not None:
        query = query.where(UserSession.id != keep_id)
    result = db.execute(
        query.values(revoked_at=utcnow()).execution_options(synchronize_session=False)
    )
    return result.rowcount


def revoke_session(user: User, session_id: int) -> bool:
    """Close one open session of ``user``."""
    result = db.execute(
        update(UserSession)
        .where(
            UserSession.id == session_id,
            UserSession.user_id == user.id,
            UserSession.revoked_at.is_(None),
        )
        .values(revoked_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def forget_old_sessions() -> None:
    """Delete the rows of closed sessions and of expired ones (whose cookie is no longer
    accepted anyway): the person no longer sees them, and no browser can use them."""
    expired = utcnow() - current_app.permanent_session_lifetime
    db.execute(
        delete(UserSession).where(
            or_(UserSession.revoked_at.is_not(None), UserSession.last_seen_at < expired)
        )
    )


# --- Single-use tokens (password reset, invitations) ------------------------------------------


def new_token() -> tuple[str, str]:
    """A token to put in a link, and the hash to store."""
    token = secrets.token_urlsafe(32)
    return token, token_hash(token)


def credential_digest(value: str) -> str:
    """The stored form of a long-lived random credential (an app's secret or token, a
    personal access token, a calendar feed's address): its SHA-256. Such credentials carry
    256 random bits, so a fast unkeyed hash keeps a stolen table useless; and unlike
    ``token_hash`` it does not depend on ``VIATIC_SECRET_KEY``, whose change then signs
    people out without breaking every app, script and subscription at once."""
    return hashlib.sha256(value.encode()).hexdigest()


def token_hash(token: str) -> str:
    key = current_app.secret_key
    assert isinstance(key, str | bytes)
    key_bytes = key.encode() if isinstance(key, str) else key
    return hashlib.blake2b(token.encode(), key=key_bytes[:64], digest_size=32).hexdigest()
