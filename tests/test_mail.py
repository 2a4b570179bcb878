"""Outgoing e-mail through a real SMTP server (aiosmtpd on 127.0.0.1)."""

from __future__ import annotations

import socket
from email import message_from_bytes
from email.policy import default as email_policy

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from core import outbox
from core.db import db
from core.models import EmailMessage, OutboxMessage
from core.testing import make_app
from tests.conftest import FAKE_PLUGINS


class Inbox:
    def __init__(self) -> None:
        self.messages: list = []

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd calls it by this name
        self.messages.append(message_from_bytes(envelope.content, policy=email_policy))
        return "250 Message accepted"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp():
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    yield inbox, controller.port
    controller.stop()


def test_password_reset_mail_goes_out_by_smtp(database_backend, tmp_path, smtp):
    inbox, port = smtp
    app = make_app(
        database_backend.fresh_url(tmp_path), FAKE_PLUGINS, SMTP_HOST="127.0.0.1", SMTP_PORT=port
    )
    from core.testing import add_commune

    commune = add_commune(app, "10145", "Faux-Villecerf")
    with app.app_context():
        from core import auth
        from core.models import Membership, User

        user = User(email="maire@exemple.fr", name="Claire Martin")
        auth.set_password(user, "un mot de passe")
        db.add(user)
        db.flush()
        db.add(Membership(user_id=user.id, commune_id=commune.id, role="maire"))
        db.commit()
    client = app.test_client()
    client.submit("/mot-de-passe/oublie", {"email": "maire@exemple.fr"})
    with app.app_context():
        assert outbox.deliver_due() == 1
        email = db.scalar(select(EmailMessage))
        assert email.sent_at is not None
        assert email.body == ""  # the mail server has it; the reset link is not kept
    [message] = inbox.messages
    assert message["To"] == "maire@exemple.fr"
    assert message["Subject"] == "Réinitialisation de votre mot de passe Viatic"
    assert "http://viatic.test/mot-de-passe/nouveau/" in message.get_content()
    app.extensions["viatic.db"].engine.dispose()


@pytest.mark.parametrize("method", ["REQUEST", "CANCEL"])
def test_a_calendar_message_goes_out_as_a_text_calendar_alternative(
    database_backend, tmp_path, smtp, method
):
    """An invitation, a cancellation: the MIME part's method is the calendar's own, so that
    the recipient's mail app adds the event or drops it (RFC 6047)."""
    inbox, port = smtp
    app = make_app(
        database_backend.fresh_url(tmp_path), FAKE_PLUGINS, SMTP_HOST="127.0.0.1", SMTP_PORT=port
    )
    invitation = (
        f"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Test//FR\r\nMETHOD:{method}\r\n"
        "BEGIN:VEVENT\r\nUID:abc@viatic\r\nDTSTAMP:20261020T100000Z\r\n"
        "DTSTART:20261020T160000Z\r\nSUMMARY:Réunion\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    with app.app_context():
        from core import mail

        mail.queue(
            "alice@exemple.org", "Invitation : Réunion", "Vous êtes invitée.", calendar=invitation
        )
        db.commit()
        assert outbox.deliver_due() == 1
        assert db.scalar(select(EmailMessage.calendar)) is None  # not kept once sent
    [message] = inbox.messages
    assert message.get_content_type() == "multipart/alternative"
    text, calendar = message.iter_parts()
    assert text.get_content().strip() == "Vous êtes invitée."
    assert calendar.get_content_type() == "text/calendar"
    assert calendar.get_param("method") == method
    assert "SUMMARY:Réunion" in calendar.get_content()
    app.extensions["viatic.db"].engine.dispose()


def test_a_calendar_without_its_method_is_refused_when_queued(app):
    with app.app_context():
        from core import mail

        with pytest.raises(ValueError, match="METHOD"):
            mail.queue(
                "alice@exemple.org",
                "Invitation",
                "Texte",
                calendar="BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n",
            )


def test_mail_server_down_keeps_the_message_for_later(database_backend, tmp_path):
    app = make_app(
        database_backend.fresh_url(tmp_path),
        FAKE_PLUGINS,
        SMTP_HOST="127.0.0.1",
        SMTP_PORT=_free_port(),
    )
    with app.app_context():
        from core import mail

        mail.queue("quelquun@exemple.fr", "Sujet", "Corps")
        db.commit()
        assert outbox.deliver_due() == 0
        message = db.scalar(select(OutboxMessage))
        assert message.status == "pending" and "ConnectionRefusedError" in message.last_error
        assert db.scalar(select(EmailMessage)).body == "Corps"
    app.extensions["viatic.db"].engine.dispose()
