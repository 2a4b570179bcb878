"""Helpers of the Académie's tests: a village with its officials, a fake Chamilo, and the
scheduler's work (jobs, outbox) run on demand."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Flask
from markupsafe import escape
from sqlalchemy import select, update

from core import outbox, scheduler
from core.db import db, utcnow
from core.models import OutboxMessage
from plugins.academie.models import Course, Enrolment
from tests.plugins.chamilo.fake_chamilo import Served

FORMATIONS = "/c/10145/academie"


@dataclass
class Village:
    commune: Any
    maire: Any
    adjoint: Any
    conseiller: Any
    agent_admin: Any
    habitant: Any


def configure_chamilo(app: Flask, village: Village, chamilo: Served, **values: str) -> Any:
    """The commune admin fills in the Chamilo settings on the core's page."""
    client = app.test_client()
    client.login(village.maire.email)
    form = {"url": chamilo.url, "username": "admin", "password": "admin-secret"}
    form.update(values)
    form.setdefault("concurrency", "4")
    return client.submit("/c/10145/admin/modules/chamilo/reglages", form)


def run_job(app: Flask, name: str) -> None:
    with app.app_context():
        assert scheduler.run_job_in_context(name)


def deliver(app: Flask, *, now: bool = True) -> int:
    """The scheduler's outbox run; ``now`` makes the messages waiting for a retry due."""
    with app.app_context():
        if now:
            db.execute(
                update(OutboxMessage)
                .where(OutboxMessage.status == OutboxMessage.PENDING)
                .values(next_attempt_at=utcnow())
            )
            db.commit()
        return outbox.deliver_due()


def courses(app: Flask) -> list[Course]:
    with app.app_context():
        return list(db.scalars(select(Course).order_by(Course.id)))


def course_id(app: Flask, title: str) -> int:
    return next(c.id for c in courses(app) if c.title == title)


def enrolments(app: Flask) -> list[Enrolment]:
    with app.app_context():
        return list(db.scalars(select(Enrolment).order_by(Enrolment.id)))


def outbox_messages(app: Flask) -> list[OutboxMessage]:
    with app.app_context():
        return list(db.scalars(select(OutboxMessage).where(OutboxMessage.kind == "academie.enrol")))


def says(html: str, message: str) -> bool:
    return str(escape(message)) in html or message in html


def page(client: Any, url: str, status: int = 200) -> str:
    response = client.get(url)
    assert response.status_code == status, f"{url}: {response.status_code}"
    return response.get_data(as_text=True)


def enrol(client: Any, course: int) -> Any:
    return client.submit(
        f"{FORMATIONS}/formation/{course}/inscription", {}, page=f"{FORMATIONS}/formation/{course}"
    )
