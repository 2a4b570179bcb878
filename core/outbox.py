"""The outbox: writes to external systems, saved with the local change, delivered later.

A plugin calls ``toolkit.outbox_put(kind, payload)`` in the same transaction as its own
change; the scheduler's ``core.deliver_outbox`` job hands each due message to the handler the
plugin declared for its kind, retrying with exponential backoff. After ``MAX_ATTEMPTS`` a
message is marked failed and shown to the platform admin, who may retry it.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
import uuid
from typing import Any

from flask import current_app
from sqlalchemy import select

from core import modules
from core.db import db, utcnow
from core.models import Commune, OutboxMessage

MAX_ATTEMPTS = 8
FIRST_RETRY = dt.timedelta(seconds=30)
LONGEST_RETRY = dt.timedelta(hours=6)

log = logging.getLogger(__name__)


class UnknownOutboxKind(Exception):
    pass


def put(
    kind: str, payload: dict[str, Any], *, key: str | None = None, commune: Commune | None = None
) -> OutboxMessage:
    """Queue a message; ``key`` makes it idempotent (a second put with the same key is the
    same message)."""
    if kind not in current_app.extensions["viatic.plugins"].outbox_handlers:
        raise UnknownOutboxKind(f"no plugin handles outbox messages of kind '{kind}'")
    key = key or f"{kind}:{uuid.uuid4()}"
    existing = db.scalar(select(OutboxMessage).where(OutboxMessage.idempotency_key == key))
    if existing is not None:
        return existing
    message = OutboxMessage(
        kind=kind,
        payload=payload,
        idempotency_key=key,
        commune_id=commune.id if commune is not None else None,
    )
    db.add(message)
    return message


def backoff(attempts: int) -> dt.timedelta:
    """Wait before the next try: 30 s, 1 min, 2 min... up to 6 h, with 10 % jitter."""
    delay = min(FIRST_RETRY * 2 ** (attempts - 1), LONGEST_RETRY)
    return delay * random.uniform(0.9, 1.1)


def _work_of(message: OutboxMessage) -> tuple[str, str]:
    """The module a message is delivered for (its kind's prefix) and the name its delivery
    goes by on the module's last error."""
    return message.kind.split(".", 1)[0], f"outbox {message.kind}"


def deliver_due(limit: int = 100) -> int:
    """Deliver the messages whose time has come, one transaction each. Returns how many
    were delivered."""
    handlers = current_app.extensions["viatic.plugins"].outbox_handlers
    delivered = 0
    query = (
        select(OutboxMessage)
        .where(
            OutboxMessage.status == OutboxMessage.PENDING, OutboxMessage.next_attempt_at <= utcnow()
        )
        .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
        .limit(1)
    )
    if db.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    for _ in range(limit):
        message = db.scalar(query)
        if message is None:
            break
        try:
            handler = handlers[message.kind]
            handler(message)
        except Exception as exc:
            db.rollback()
            message = db.get(OutboxMessage, message.id)
            assert message is not None
            message.attempts += 1
            message.last_error = f"{type(exc).__name__}: {exc}"[:2000]
            if message.attempts >= MAX_ATTEMPTS:
                message.status = OutboxMessage.FAILED
            if message.commune_id is not None:
                # The commune admin sees it beside the module: "its tool does not answer".
                plugin, source = _work_of(message)
                modules.record_error(message.commune_id, plugin, message.last_error, source)
            message.next_attempt_at = utcnow() + backoff(message.attempts)
            log.warning("Outbox message %s (%s) failed: %s", message.id, message.kind, exc)
        else:
            message.status = OutboxMessage.DELIVERED
            message.delivered_at = utcnow()
            message.attempts += 1
            message.last_error = None
            if message.commune_id is not None:  # the tool answers again
                modules.clear_error(message.commune_id, *_work_of(message))
            delivered += 1
        db.commit()
    return delivered


def retry(message: OutboxMessage) -> None:
    """Give a failed message a new round of attempts, now."""
    message.status = OutboxMessage.PENDING
    message.attempts = 0
    message.next_attempt_at = utcnow()
