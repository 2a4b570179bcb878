"""Conflicts, outages and repeated deliveries against a real Radicale: the most recent
change wins and the other is kept in the audit log; while the server is down the portal
works on and the outbox delivers later, nothing lost and nothing doubled."""

from __future__ import annotations

import datetime as dt
import time

import icalendar
import pytest
from sqlalchemy import delete, select, update

from connectors.http import BREAKERS
from core.db import db
from core.models import OutboxMessage
from plugins.caldav.models import Resource
from tests.plugins.agenda.helpers import AGENDA, create, event_form, page
from tests.plugins.caldav.helpers import CALDAV, audit, connect, deliver, pending, pull
from tests.plugins.caldav.test_caldav_sync import REMOTE_SINGLE, local

pytestmark = pytest.mark.slow
UID = "voeux@serveur"


def change_remotely(remote, title: str, when: dt.datetime) -> None:
    """Another calendar application changes the event's title on the server."""
    found = remote.event_by_uid(UID)
    cal = icalendar.Calendar.from_ical(found.data)
    for component in cal.walk("VEVENT"):
        component["SUMMARY"] = icalendar.vText(title)
        component["LAST-MODIFIED"] = icalendar.vDDDTypes(when)
    found.data = cal.to_ical().decode()
    found.save()


def change_here(client, app, title: str) -> None:
    [event] = local(app, UID)
    response = client.submit(
        f"{AGENDA}/evenement/{event.id}/modifier",
        event_form(app, title=title, start_date="2026-11-07", start_time="11:00", end_time="12:00"),
    )
    assert response.status_code == 302


def remote_title(remote) -> str:
    return str(remote.event_by_uid(UID).icalendar_component["SUMMARY"])


@pytest.fixture
def synced(app, village, client, remote):
    remote.save_event(REMOTE_SINGLE)
    client.login(village.maire.email)
    connect(client, app, str(remote.url))
    assert [e.title for e in local(app, UID)] == ["Cérémonie du 11 novembre"]
    return remote


def test_a_later_change_on_the_server_wins_over_an_earlier_one_here(app, client, synced):
    change_here(client, app, "Cérémonie (version de la mairie)")  # not delivered yet
    time.sleep(1)  # iCalendar dates to the second
    change_remotely(synced, "Cérémonie (version du serveur)", dt.datetime.now(dt.UTC))
    pull(app)
    assert [e.title for e in local(app, UID)] == ["Cérémonie (version du serveur)"]
    deliver(app)
    assert remote_title(synced) == "Cérémonie (version du serveur)"
    [conflict] = audit(app, "caldav.conflict")
    assert conflict["kept"] == "remote" and conflict["uid"] == UID
    assert "Cérémonie (version de la mairie)" in conflict["discarded"]


def test_a_later_change_here_wins_over_an_earlier_one_on_the_server(app, client, synced):
    change_remotely(
        synced, "Cérémonie (version du serveur)", dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    )
    change_here(client, app, "Cérémonie (version de la mairie)")
    deliver(app)  # If-Match fails (412): the server's version is older, ours goes over it
    assert remote_title(synced) == "Cérémonie (version de la mairie)"
    [conflict] = audit(app, "caldav.conflict")
    assert conflict["kept"] == "local"
    assert "Cérémonie (version du serveur)" in conflict["discarded"]
    pull(app)  # and nothing comes back from it
    assert [e.title for e in local(app, UID)] == ["Cérémonie (version de la mairie)"]
    assert len(synced.events()) == 1


def test_an_event_changed_here_and_deleted_there_is_kept(app, client, synced):
    change_here(client, app, "Cérémonie (version de la mairie)")
    synced.event_by_uid(UID).delete()
    pull(app)
    assert [e.title for e in local(app, UID)] == ["Cérémonie (version de la mairie)"]
    deliver(app)
    assert remote_title(synced) == "Cérémonie (version de la mairie)"
    assert audit(app, "caldav.conflict")[0]["deleted_on"] == "remote"


def test_a_server_down_mid_way_gets_everything_once_when_it_comes_back(
    app, client, synced, radicale
):
    radicale.stop()
    change_here(client, app, "Cérémonie du 11 novembre, 11 h 30")
    create(client, app, title="Réunion de chantier", start_date="2026-11-10")
    assert "Réunion de chantier" in page(client, f"{AGENDA}/?mois=2026-11")  # work goes on
    assert deliver(app) == 0
    assert pending(app) == 2
    pull(app)
    assert "Le serveur est injoignable" in page(client, CALDAV)

    radicale.start()
    BREAKERS.clear()  # the breaker's pause is over, as it would be a minute later
    assert deliver(app, force=True) == 2
    assert pending(app) == 0
    titles = sorted(str(e.icalendar_component["SUMMARY"]) for e in synced.events())
    assert titles == ["Cérémonie du 11 novembre, 11 h 30", "Réunion de chantier"]
    pull(app)
    assert "Le serveur est injoignable" not in page(client, CALDAV)
    assert len(local(app, UID)) == 1


def test_a_delivery_repeated_after_a_lost_answer_doubles_nothing(app, client, synced):
    create(client, app, title="Réunion de chantier", start_date="2026-11-10")
    assert deliver(app) == 1
    with app.app_context():
        # As if the server's answer had been lost: the write is there, our record is not.
        uid = db.scalar(select(Resource.uid).where(Resource.uid != UID))
        db.execute(delete(Resource).where(Resource.uid == uid))
        db.execute(update(OutboxMessage).values(status=OutboxMessage.PENDING))
        db.commit()
    assert deliver(app) >= 1
    assert len(synced.events()) == 2
    assert audit(app, "caldav.conflict") == []
