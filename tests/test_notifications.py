"""Notifications: the bell with its unread count, e-mail, and muting a type."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from core import notifications
from core.db import db
from core.models import EmailMessage, Notification


def _alert(app, commune, make_member, enable_module):
    enable_module(commune, "meteo")
    maire = make_member(commune, role="maire")
    client = app.test_client()
    client.login(maire.email)
    assert client.submit("/c/10145/meteo/alerte", page="/c/10145/meteo/").status_code == 201


def test_the_bell_counts_unread_notifications_until_read(
    app, client, commune, make_member, enable_module
):
    agent = make_member(commune, role="agent")
    _alert(app, commune, make_member, enable_module)
    client.login(agent.email)
    header = client.get("/c/10145/").get_data(as_text=True)
    assert '<span class="badge">1<span class="visually-hidden"> non lues</span></span>' in header
    page = client.get("/compte/notifications").get_data(as_text=True)
    assert "Orage annoncé ce soir" in page and "Rentrez les tables." in page
    client.submit("/compte/notifications/lues", page="/compte/notifications")
    assert 'class="badge"' not in client.get("/c/10145/").get_data(as_text=True)


def test_a_notification_type_with_email_is_also_mailed(app, commune, make_member, enable_module):
    agent = make_member(commune, role="agent")
    _alert(app, commune, make_member, enable_module)
    with app.app_context():
        subjects = list(
            db.scalars(select(EmailMessage.subject).where(EmailMessage.recipient == agent.email))
        )
    assert subjects == ["Orage annoncé ce soir"]


def test_a_muted_type_is_neither_shown_nor_mailed(app, client, commune, make_member, enable_module):
    agent = make_member(commune, role="agent")
    client.login(agent.email)
    page = client.get("/compte/preferences").get_data(as_text=True)
    assert "Alertes météo" in page
    # Keep every type but the weather alerts (checked means "I want it").
    wanted = {"mute:core.member_joined": "on", "mute:core.role_changed": "on"}
    client.submit("/compte/preferences", wanted)
    _alert(app, commune, make_member, enable_module)
    with app.app_context():
        assert db.scalar(select(Notification).where(Notification.user_id == agent.id)) is None
        assert db.scalar(select(EmailMessage).where(EmailMessage.recipient == agent.email)) is None


def test_notifications_of_one_person_are_not_shown_to_another(
    app, client, commune, make_member, enable_module
):
    outsider = make_member(None, role="citoyen")
    _alert(app, commune, make_member, enable_module)
    client.login(outsider.email)
    assert "Orage" not in client.get("/compte/notifications").get_data(as_text=True)


def test_an_undeclared_type_is_refused(app, commune, make_member):
    user = make_member(commune)
    with app.app_context(), pytest.raises(notifications.UnknownNotificationType):
        notifications.notify([db.merge(user)], "meteo.inconnu", "x")
