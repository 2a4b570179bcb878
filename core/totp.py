"""The second factor: TOTP codes (RFC 6238, 6 digits, 30-second steps) and recovery codes.

The secret is stored encrypted (``core.settings.encrypt``). A code is accepted one step
early or late (a phone's clock drifts), and never twice: the step of the last accepted code
is stored, and a code of that step or an earlier one is refused. Recovery codes are single
use, stored hashed, and a new set replaces the old one.
"""

from __future__ import annotations

import hmac
import re
import secrets
import time

import pyotp
import segno
from markupsafe import Markup
from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm.attributes import set_committed_value

from core import auth
from core.db import db, utcnow
from core.models import RecoveryCode, User
from core.settings import decrypt, encrypt

ISSUER = "Viatic"
STEP = 30  # seconds
DRIFT = 1  # steps accepted before and after the current one
RECOVERY_CODE_COUNT = 10
# No 0/o, 1/l/i: a code copied from paper must read one way only.
RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
_DIGITS = re.compile(r"^\d{6}$")


def now() -> float:
    """The clock of the codes (tests replace it)."""
    return time.time()


# --- Enrolment ---------------------------------------------------------------------------------


def start_enrolment(user: User) -> str:
    """Give ``user`` a new secret, not in force until ``confirm`` sees a code made from it."""
    secret = pyotp.random_base32()
    user.totp_secret = encrypt(secret)
    user.totp_enabled_at = None
    user.totp_last_step = None
    return secret


def secret_of(user: User) -> str | None:
    return decrypt(user.totp_secret) if user.totp_secret else None


def is_pending(user: User) -> bool:
    """Enrolment started and not confirmed yet."""
    return user.totp_secret is not None and user.totp_enabled_at is None


def grouped(secret: str) -> str:
    """The secret in groups of four, for typing it into an app by hand."""
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def provisioning_uri(user: User, secret: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=ISSUER)


def qr_code(uri: str, title: str) -> Markup:
    """The ``otpauth://`` URI as an inline SVG QR code, titled for screen readers."""
    svg = segno.make(uri, error="m").svg_inline(
        scale=4, border=2, title=title, svgclass=None, lineclass=None, light="#fff"
    )
    return Markup(svg.replace("<svg ", '<svg role="img" ', 1))


def confirm(user: User, code: str) -> bool:
    """Put the pending secret in force if ``code`` was made from it."""
    if not is_pending(user) or not verify_code(user, code):
        return False
    user.totp_enabled_at = utcnow()
    return True


def disable(user: User) -> None:
    user.totp_secret = None
    user.totp_enabled_at = None
    user.totp_last_step = None
    db.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))


# --- Codes -------------------------------------------------------------------------------------


def _matching_step(secret: str, code: str) -> int | None:
    totp = pyotp.TOTP(secret, interval=STEP)
    current = int(now() // STEP)
    for step in range(current - DRIFT, current + DRIFT + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def verify_code(user: User, code: str) -> bool:
    """Whether ``code`` is a current TOTP code of ``user`` never accepted before; accepting
    it records its step, in one conditional UPDATE so that two requests racing with the same
    code cannot both pass."""
    code = re.sub(r"\s", "", code or "")
    secret = secret_of(user)
    if secret is None or not _DIGITS.match(code):
        return False
    step = _matching_step(secret, code)
    if step is None:
        return False
    taken = db.execute(
        update(User)
        .where(
            User.id == user.id,
            or_(User.totp_last_step.is_(None), User.totp_last_step < step),
        )
        .values(totp_last_step=step)
        .execution_options(synchronize_session=False)
    )
    if taken.rowcount != 1:
        return False
    set_committed_value(user, "totp_last_step", step)  # written above already
    return True


def _normalized(code: str) -> str:
    return re.sub(r"[\s-]", "", (code or "").lower())


def new_recovery_codes(user: User) -> list[str]:
    """A new set of recovery codes (``xxxxx-xxxxx``); the old ones stop working. Only their
    hashes are kept: show the codes now, they cannot be shown again."""
    db.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = []
    for _ in range(RECOVERY_CODE_COUNT):
        raw = "".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(10))
        codes.append(f"{raw[:5]}-{raw[5:]}")
        db.add(RecoveryCode(user_id=user.id, code_hash=auth.token_hash(raw)))
    return codes


def use_recovery_code(user: User, code: str) -> bool:
    """Consume one of the person's unused recovery codes, if ``code`` is one."""
    normalized = _normalized(code)
    if len(normalized) != 10:
        return False
    used = db.execute(
        update(RecoveryCode)
        .where(
            RecoveryCode.user_id == user.id,
            RecoveryCode.code_hash == auth.token_hash(normalized),
            RecoveryCode.used_at.is_(None),
        )
        .values(used_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return used.rowcount == 1


def recovery_codes_left(user: User) -> int:
    return (
        db.scalar(
            select(func.count()).where(
                RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None)
            )
        )
        or 0
    )


def verify(user: User, code: str) -> str | None:
    """Check a TOTP code or a recovery code of ``user`` (an enrolled person); return which
    one served (``"totp"`` or ``"recovery"``), or None."""
    if not user.has_totp:
        return None
    if _DIGITS.match(re.sub(r"\s", "", code or "")):
        return "totp" if verify_code(user, code) else None
    return "recovery" if use_recovery_code(user, code) else None
