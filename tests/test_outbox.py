"""The outbox: external writes saved with the local change, retried, visible, idempotent."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from core import outbox
from core.db import db, utcnow
from core.hookspecs import hookimpl
from core.models import OutboxMessage
from core.types import PluginInfo


class FlakyTool:
    """An external system that is down for the first ``failures`` calls."""

    def __init__(self) -> None:
        self.failures = 0
        self.received: list[str] = []

    def deliver(self, message: OutboxMessage) -> None:
        if self.failures > 0:
            self.failures -= 1
            raise ConnectionError("service indisponible")
        self.received.append(message.idempotency_key)


TOOL = FlakyTool()


class Sync:
    @hookimpl
    def viatic_plugin_info(self):
        return PluginInfo(name="sync", label="Synchronisation", version="1")

    @hookimpl
    def viatic_outbox_handlers(self):
        return {"sync.push": TOOL.deliver}


@pytest.fixture
def app(database_backend, tmp_path):
    from core.testing import make_app
    from tests.conftest import FAKE_PLUGINS

    TOOL.failures = 0
    TOOL.received.clear()
    application = make_app(database_backend.fresh_url(tmp_path), [*FAKE_PLUGINS, Sync()])
    yield application
    application.extensions["viatic.db"].engine.dispose()


def _due_now(app):
    with app.app_context():
        for message in db.scalars(select(OutboxMessage)):
            message.next_attempt_at = utcnow()
        db.commit()


def test_a_message_is_kept_while_the_tool_is_down_then_delivered(app):
    TOOL.failures = 2
    with app.app_context():
        outbox.put("sync.push", {"event": 1}, key="evt-1")
        db.commit()
        assert outbox.deliver_due() == 0
        message = db.scalar(select(OutboxMessage))
        assert (message.status, message.attempts) == ("pending", 1)
        assert "service indisponible" in message.last_error
        wait = message.next_attempt_at - utcnow()
        assert dt.timedelta(seconds=20) < wait < dt.timedelta(seconds=40)
    _due_now(app)
    with app.app_context():
        assert outbox.deliver_due() == 0
        message = db.scalar(select(OutboxMessage))
        assert message.next_attempt_at - utcnow() > dt.timedelta(seconds=50)  # backoff grows
    _due_now(app)
    with app.app_context():
        assert outbox.deliver_due() == 1
        message = db.scalar(select(OutboxMessage))
        assert (message.status, message.attempts, message.last_error) == ("delivered", 3, None)
    assert TOOL.received == ["evt-1"]


def test_a_message_not_yet_due_waits(app):
    TOOL.failures = 1
    with app.app_context():
        outbox.put("sync.push", {}, key="k")
        db.commit()
        outbox.deliver_due()
        assert outbox.deliver_due() == 0
    assert TOOL.received == []


def test_after_max_attempts_it_fails_visibly_and_an_admin_can_retry(app, client, make_member):
    TOOL.failures = outbox.MAX_ATTEMPTS
    with app.app_context():
        outbox.put("sync.push", {}, key="evt-2")
        db.commit()
    for _ in range(outbox.MAX_ATTEMPTS):
        _due_now(app)
        with app.app_context():
            outbox.deliver_due()
    with app.app_context():
        message = db.scalar(select(OutboxMessage))
        assert message.status == "failed"
    admin = make_member(None, platform_admin=True)
    client.login(admin.email)
    page = client.get("/admin/outbox").get_data(as_text=True)
    assert "sync.push" in page and "service indisponible" in page
    assert "1 envoi en échec" in client.get("/admin/").get_data(as_text=True)
    client.submit(f"/admin/outbox/{message.id}/relancer", page="/admin/outbox")
    with app.app_context():
        assert outbox.deliver_due() == 1
    assert TOOL.received == ["evt-2"]


def test_the_same_key_is_the_same_message(app):
    with app.app_context():
        first = outbox.put("sync.push", {"n": 1}, key="same")
        db.commit()
        second = outbox.put("sync.push", {"n": 2}, key="same")
        db.commit()
        assert first.id == second.id
        assert outbox.deliver_due() == 1
        assert outbox.deliver_due() == 0
    assert TOOL.received == ["same"]


def test_a_message_rolls_back_with_the_local_change(app):
    with app.app_context():
        outbox.put("sync.push", {}, key="lost")
        db.rollback()
        assert db.scalar(select(OutboxMessage)) is None


def test_an_unknown_kind_is_refused(app):
    with app.app_context(), pytest.raises(outbox.UnknownOutboxKind):
        outbox.put("inconnu.push", {})


def test_a_failing_delivery_shows_on_the_modules_page_until_one_goes_through(
    app, client, commune, make_member, enable_module
):
    TOOL.failures = 1
    enable_module(commune, "sync")
    with app.app_context():
        outbox.put("sync.push", {}, key="evt-3", commune=db.merge(commune))
        db.commit()
        outbox.deliver_due()
    client.login(make_member(commune, role="maire", admin=True).email)
    page = client.get("/c/10145/admin/modules").get_data(as_text=True)
    assert "Dernière erreur" in page and "service indisponible" in page
    _due_now(app)
    with app.app_context():
        assert outbox.deliver_due() == 1
    page = client.get("/c/10145/admin/modules").get_data(as_text=True)
    assert "Dernière erreur" not in page and "service indisponible" not in page
