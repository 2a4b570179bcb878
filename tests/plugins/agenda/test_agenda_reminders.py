"""Reminders: a person chooses on « Mon planning » how long before their events they want
one; the scheduler's job sends each when it is due, once, to those who attend or wrote the
event, and to nobody else."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from core.db import db
from core.models import Commune, Notification
from plugins.agenda import reminders
from plugins.agenda.models import Attendee
from tests.plugins.agenda.helpers import AGENDA, create, events, page, says

PARIS = dt.timezone(dt.timedelta(hours=1))  # 20 November 2026 is in winter time


def run_job(app, village, at: dt.datetime) -> int:
    with app.test_request_context():
        sent = reminders.send_reminders(db.get(Commune, village.commune.id), now=at)
        db.commit()
        return sent


def reminded(app, person) -> list[tuple[str, str]]:
    with app.app_context():
        return list(
            db.execute(
                select(Notification.title, Notification.body).where(
                    Notification.user_id == person.id, Notification.type == "agenda.reminder"
                )
            ).all()
        )


def test_a_reminder_an_hour_before_each_date_once(app, village, client):
    client.login(village.maire.email)
    shown = page(client, f"{AGENDA}/mon-planning")
    assert says(shown, "Me rappeler les événements que j'organise ou auxquels je participe")
    response = client.submit(f"{AGENDA}/mon-planning/rappels", {"minutes": "60"})
    assert response.status_code == 302
    assert says(page(client, f"{AGENDA}/mon-planning"), "Rappels : 1 heure avant.")
    create(
        client,
        app,
        title="Permanence",
        place="Mairie",
        start_date="2026-11-20",
        start_time="18:00",
        end_time="19:00",
        repeat="weekly",
        weekdays=["FR"],
    )
    # An hour and a half before: nothing yet. Forty minutes before: the reminder, once.
    assert run_job(app, village, dt.datetime(2026, 11, 20, 16, 30, tzinfo=PARIS)) == 0
    assert run_job(app, village, dt.datetime(2026, 11, 20, 17, 20, tzinfo=PARIS)) == 1
    assert run_job(app, village, dt.datetime(2026, 11, 20, 17, 25, tzinfo=PARIS)) == 0
    assert reminded(app, village.maire) == [
        ("Rappel : Permanence", "le vendredi 20 novembre 2026 de 18:00 à 19:00 — Mairie")
    ]
    # After the start, a late run sends nothing; the next Friday has its own.
    assert run_job(app, village, dt.datetime(2026, 11, 20, 18, 5, tzinfo=PARIS)) == 0
    assert run_job(app, village, dt.datetime(2026, 11, 27, 17, 30, tzinfo=PARIS)) == 1
    # Nobody else is reminded: the adjoint did not write it, and wants no reminder anyway.
    assert reminded(app, village.adjoint) == []
    # Expected at it (an attendee) with a reminder 15 minutes before, she gets hers.
    with app.app_context():
        db.add(Attendee(event_id=events(app)[0].id, user_id=village.adjoint.id))
        db.commit()
    client.post("/deconnexion", data={"csrf_token": client.csrf_token()})
    client.login(village.adjoint.email)
    client.submit(f"{AGENDA}/mon-planning/rappels", {"minutes": "15"})
    assert run_job(app, village, dt.datetime(2026, 12, 4, 17, 30, tzinfo=PARIS)) == 1  # the maire
    assert run_job(app, village, dt.datetime(2026, 12, 4, 17, 50, tzinfo=PARIS)) == 1  # hers
    assert [t for t, _b in reminded(app, village.adjoint)] == ["Rappel : Permanence"]


def test_no_reminder_by_default_and_a_bad_choice_is_refused(app, village, client):
    client.login(village.maire.email)
    create(client, app, title="Conseil", start_date="2026-11-20", start_time="18:00")
    assert run_job(app, village, dt.datetime(2026, 11, 20, 17, 55, tzinfo=PARIS)) == 0
    refused = client.submit(f"{AGENDA}/mon-planning/rappels", {"minutes": "7"})
    assert refused.status_code == 400
    assert says(refused.get_data(as_text=True), "Choisissez un rappel dans la liste.")
    assert len(events(app)) == 1
