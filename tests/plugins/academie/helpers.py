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
from plugins.lms.models import LmsCourse
from tests.plugins.chamilo.fake_chamilo import Served
from tests.plugins.videotheque import helpers as library

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


def contributed(
    app: Flask, village: Village, enable_module: Any, host: str = "videointerne"
) -> int:
    """A testimony with its captions, uploaded by the maire to ``host``; it waits for a
    moderator (a platform admin) before it is published."""
    enable_module(village.commune, "videotheque")
    enable_module(village.commune, host)
    contributor = app.test_client()
    contributor.login(village.maire.email)
    return library.upload(contributor, title="Reprendre les concessions abandonnées")


def lessons(app: Flask, course: int) -> list[tuple[int, int | None]]:
    """(id, video id) of each lesson of a course of the platform's own."""
    with app.app_context():
        return [(lesson.id, lesson.video_id) for lesson in db.get(LmsCourse, course).lessons]
