"""Helpers of the CalDAV sync's tests: the page, connecting a calendar, running the jobs as
the scheduler runs them."""

from __future__ import annotations

from typing import Any

from flask import Flask
from sqlalchemy import select, update

from core import outbox
from core.db import db, utcnow
from core.models import AuditEvent, Commune, OutboxMessage
from plugins.caldav import services
from plugins.caldav.models import Connection
from tests.plugins.agenda.helpers import calendar_id
from tests.plugins.caldav.radicale import PASSWORD, USER

CALDAV = "/c/10145/caldav/"


def connect(client: Any, app: Flask, url: str, password: str = PASSWORD, **extra: str) -> Any:
    form = {
        "calendar": str(calendar_id(app, "conseil")),
        "url": url,
        "username": USER,
        "password": password,
        "save": "Enregistrer",
        **extra,
    }
    return client.submit(CALDAV, form)


def deliver(app: Flask, force: bool = False) -> int:
    """The outbox job; ``force`` makes the messages waiting for a retry due now."""
    with app.app_context():
        if force:
            db.execute(
                update(OutboxMessage)
                .where(OutboxMessage.status == OutboxMessage.PENDING)
                .values(next_attempt_at=utcnow())
            )
            db.commit()
        return outbox.deliver_due()


def pending(app: Flask) -> int:
    with app.app_context():
        return len(
            db.scalars(
                select(OutboxMessage).where(OutboxMessage.status == OutboxMessage.PENDING)
            ).all()
        )


def pull(app: Flask) -> None:
    """The scheduled job, for the commune."""
    with app.app_context():
        services.sync_commune(db.scalar(select(Commune).where(Commune.insee == "10145")))


def connection(app: Flask) -> Connection:
    with app.app_context():
        return db.scalar(select(Connection))


def audit(app: Flask, action: str) -> list[dict]:
    with app.app_context():
        return [
            e.details
            for e in db.scalars(
                select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
            )
        ]
