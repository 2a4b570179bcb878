"""Login throttling, per account and per address, shared by every worker.

Counters live in Redis when ``VIATIC_REDIS_URL`` is set (one INCR per failure, expiring with
the window), else they are counted from the ``login_attempt`` table. Should Redis fail, the
database takes over: throttling degrades to slower, never to off.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging

from flask import Flask, current_app
from sqlalchemy import func, select

from core.db import db, utcnow
from core.models import LoginAttempt

WINDOW = dt.timedelta(minutes=15)
MAX_FAILURES_PER_ACCOUNT = 5
MAX_FAILURES_PER_IP = 20
SHORTEST_WAIT = dt.timedelta(minutes=1)

log = logging.getLogger(__name__)


def init_app(app: Flask) -> None:
    url = app.config.get("REDIS_URL")
    if url:
        import redis

        app.extensions["viatic.redis"] = redis.Redis.from_url(url, socket_timeout=2)


def _redis_keys(email: str, ip: str) -> list[tuple[str, int]]:
    prefix = current_app.config.get("REDIS_PREFIX", "viatic:")
    account = hashlib.sha256(email.encode()).hexdigest()[:32]
    return [
        (f"{prefix}login:account:{account}", MAX_FAILURES_PER_ACCOUNT),
        (f"{prefix}login:ip:{ip}", MAX_FAILURES_PER_IP),
    ]


def wait_before_login(email: str, ip: str) -> dt.timedelta | None:
    """How long this account or address must still wait, or None if it may try now."""
    client = current_app.extensions.get("viatic.redis")
    if client is not None:
        import redis

        try:
            for key, limit in _redis_keys(email, ip):
                count = client.get(key)
                if count is not None and int(count) >= limit:
                    return max(dt.timedelta(seconds=client.ttl(key)), SHORTEST_WAIT)
            return None
        except redis.RedisError:
            log.warning("Redis unavailable: login throttling counted in the database")
    return _database_wait(email, ip)


def _database_wait(email: str, ip: str) -> dt.timedelta | None:
    since = utcnow() - WINDOW
    for column, value, limit in (
        (LoginAttempt.email, email, MAX_FAILURES_PER_ACCOUNT),
        (LoginAttempt.ip, ip, MAX_FAILURES_PER_IP),
    ):
        count, oldest = db.execute(
            select(func.count(), func.min(LoginAttempt.at)).where(
                column == value, LoginAttempt.succeeded.is_(False), LoginAttempt.at > since
            )
        ).one()
        if count >= limit:
            if oldest.tzinfo is None:
                oldest = oldest.replace(tzinfo=dt.UTC)
            return max(oldest + WINDOW - utcnow(), SHORTEST_WAIT)
    return None


def record_login(email: str, ip: str, succeeded: bool) -> None:
    """Count the attempt (the database row is always kept: it tells the admins, and it is
    what the fallback counts)."""
    db.add(LoginAttempt(email=email[:254], ip=ip, succeeded=succeeded))
    client = current_app.extensions.get("viatic.redis")
    if client is None or succeeded:
        return
    import redis

    try:
        pipe = client.pipeline()
        for key, _limit in _redis_keys(email, ip):
            pipe.incr(key)
            pipe.expire(key, int(WINDOW.total_seconds()), nx=True)
        pipe.execute()
    except redis.RedisError:
        log.warning("Redis unavailable: login failure counted in the database only")
