"""Local accounts: password hashing, signing in and out, throttling, single-use tokens.

Sessions live in Flask's signed cookie (HttpOnly, SameSite=Lax, Secure outside development),
so no worker keeps state. Signing in clears the old session and binds the new one to the
account's security stamp: a password change or reset signs out every other session.
"""

from __future__ import annotations

import contextlib
import hashlib
import secrets

import argon2.profiles
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import Flask, current_app, g, request, session
from sqlalchemy import Select, bindparam, func, select
from sqlalchemy.orm import joinedload

from core import audit, throttle
from core.db import db, utcnow
from core.models import Commune, Membership, Notification, User, new_security_stamp

MIN_PASSWORD_LENGTH = 10


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
    """Set a new password and sign out every other session of this person."""
    user.password_hash = hash_password(password)
    user.security_stamp = new_security_stamp()


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
    """Check the credentials, record the attempt (and its audit event), return the user."""
    user = find_user(email)
    ok = check_password(user, password) and user is not None and user.is_active
    throttle.record_login(normalize_email(email), client_ip(), ok)
    if ok:
        audit.record(
            "login.success", actor=user, commune=None, object_type="user", object_id=user.id
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


def login_user(user: User) -> None:
    """Start a fresh session for ``user`` (the old one, and its CSRF token, are dropped)."""
    session.clear()
    session.permanent = True
    session["uid"] = user.id
    session["stamp"] = user.security_stamp
    session["sid"] = secrets.token_urlsafe(16)
    user.last_login_at = utcnow()
    g.user = user


def logout_user() -> None:
    locale = session.get("locale")
    session.clear()
    if locale:
        session["locale"] = locale
    g.user = None


def _signed_in_user_query() -> Select[tuple[User, int]]:
    """The signed-in user with their count of unread notifications (the header's bell) and
    their memberships, communes and EPCI (rights, switcher, the commune of the URL): one
    round trip for what every page needs. Built once; executed with ``uid``."""
    unread = (
        select(func.count())
        .where(Notification.user_id == User.id, Notification.read_at.is_(None))
        .correlate(User)
        .scalar_subquery()
    )
    return (
        select(User, unread)
        .options(
            joinedload(User.memberships).joinedload(Membership.commune).joinedload(Commune.epci)
        )
        .where(User.id == bindparam("uid"))
    )


SIGNED_IN_USER = _signed_in_user_query()


def load_user() -> User | None:
    """The signed-in user of this request, if the session is still valid."""
    uid = session.get("uid")
    if uid is None:
        return None
    row = db.execute(SIGNED_IN_USER, {"uid": uid}).unique().one_or_none()
    if row is None or not row[0].is_active or session.get("stamp") != row[0].security_stamp:
        session.pop("uid", None)
        return None
    g.unread_notifications = row[1]
    return row[0]


# --- Single-use tokens (password reset, invitations) ------------------------------------------


def new_token() -> tuple[str, str]:
    """A token to put in a link, and the hash to store."""
    token = secrets.token_urlsafe(32)
    return token, token_hash(token)


def token_hash(token: str) -> str:
    key = current_app.secret_key
    assert isinstance(key, str | bytes)
    key_bytes = key.encode() if isinstance(key, str) else key
    return hashlib.blake2b(token.encode(), key=key_bytes[:64], digest_size=32).hexdigest()
