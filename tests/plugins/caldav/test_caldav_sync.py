"""Two-way sync against a real Radicale, driven as people and the scheduler drive it: the
agenda's pages for local changes, the ``caldav`` library for another calendar application
on the server, ``core.outbox.deliver_due()`` and the pull job for the scheduler."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import icalendar
import pytest
from sqlalchemy import select

from core.db import db
from plugins.agenda.models import Event
from tests.plugins.agenda.helpers import AGENDA, create, event_form, events, page
from tests.plugins.caldav.helpers import (
    CALDAV,
    audit,
    connect,
    connection,
    deliver,
    pending,
    pull,
)

pytestmark = pytest.mark.slow

PARIS = ZoneInfo("Europe/Paris")

REMOTE_SERIES = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//Test//Nextcloud like//FR
BEGIN:VEVENT
UID:permanence@serveur
DTSTAMP:20261001T080000Z
LAST-MODIFIED:20261001T080000Z
DTSTART;TZID=Europe/Paris:20261013T180000
DTEND;TZID=Europe/Paris:20261013T190000
SUMMARY:Permanence des élus
RRULE:FREQ=WEEKLY;COUNT=4
EXDATE;TZID=Europe/Paris:20261020T180000
END:VEVENT
BEGIN:VEVENT
UID:permanence@serveur
DTSTAMP:20261001T080000Z
LAST-MODIFIED:20261001T080000Z
RECURRENCE-ID;TZID=Europe/Paris:20261027T180000
DTSTART;TZID=Europe/Paris:20261027T200000
DTEND;TZID=Europe/Paris:20261027T210000
SUMMARY:Permanence exceptionnelle
END:VEVENT
END:VCALENDAR
"""

REMOTE_SINGLE = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//Test//Nextcloud like//FR
BEGIN:VEVENT
UID:voeux@serveur
DTSTAMP:20261001T080000Z
LAST-MODIFIED:20261001T080000Z
DTSTART;TZID=Europe/Paris:20261107T110000
DTEND;TZID=Europe/Paris:20261107T120000
SUMMARY:Cérémonie du 11 novembre
END:VEVENT
END:VCALENDAR
"""


def local(app, uid: str) -> list[Event]:
    with app.app_context():
        return list(db.scalars(select(Event).where(Event.uid == uid).order_by(Event.recurrence_id)))


def remote_components(remote, uid: str) -> list[icalendar.Event]:
    found = remote.event_by_uid(uid)
    return list(icalendar.Calendar.from_ical(found.data).walk("VEVENT"))


def test_first_sync_brings_an_existing_remote_calendar_with_its_exceptions(
    app, village, client, remote
):
    remote.save_event(REMOTE_SERIES)
    remote.save_event(REMOTE_SINGLE)
    client.login(village.maire.email)
    response = connect(client, app, str(remote.url))
    assert response.status_code == 302
    assert "2 événement(s) reçu(s)" in page(client, "/c/10145/caldav/")

    series, override = local(app, "permanence@serveur")
    assert series.rrule == "FREQ=WEEKLY;COUNT=4" and series.exdates == ["20261020T180000"]
    assert override.recurrence_id == "20261027T180000" and override.parent_id == series.id
    assert series.overridden == ["20261027T180000"]
    month = page(client, f"{AGENDA}/?mois=2026-10")
    assert 'datetime="2026-10-13T18:00:00+02:00"' in month
    assert 'datetime="2026-10-20T18:00:00+02:00"' not in month  # cancelled there
    assert 'datetime="2026-10-27T20:00:00+01:00">20:00</time> Permanence exceptionnelle' in month
    assert "Cérémonie du 11 novembre" in page(client, f"{AGENDA}/?mois=2026-11")
    assert len(local(app, "voeux@serveur")) == 1

    # Nothing to send back: what came from the server is not pushed to it again.
    deliver(app)
    assert pending(app) == 0
    assert audit(app, "caldav.conflict") == []


def test_a_local_recurring_event_with_an_exception_reaches_the_server_as_one_resource(
    app, village, client, remote
):
    client.login(village.maire.email)
    connect(client, app, str(remote.url))
    create(
        client,
        app,
        title="Conseil municipal",
        start_date="2026-10-13",
        start_time="18:00",
        end_time="19:00",
        repeat="weekly",
        weekdays=["TU"],
        ends="count",
        count="4",
    )
    [series] = events(app)
    client.submit(
        f"{AGENDA}/evenement/{series.id}/modifier?date=20261027T180000",
        event_form(
            app,
            title="Conseil (salle des fêtes)",
            start_date="2026-10-27",
            start_time="20:00",
            end_time="21:00",
            scope="occurrence",
        ),
    )
    assert deliver(app) >= 1
    first, second = remote_components(remote, series.uid)
    assert first["RRULE"].to_ical().decode() == "FREQ=WEEKLY;COUNT=4;BYDAY=TU"
    assert "RECURRENCE-ID" not in first
    assert second["RECURRENCE-ID"].dt == dt.datetime(2026, 10, 27, 18, tzinfo=PARIS)
    assert second["DTSTART"].dt == dt.datetime(2026, 10, 27, 20, tzinfo=PARIS)
    assert str(second["SUMMARY"]) == "Conseil (salle des fêtes)"
    assert len(remote.events()) == 1

    # A date cancelled here becomes an EXDATE there.
    client.submit(
        f"{AGENDA}/evenement/{series.id}/supprimer",
        {"date": "20261103T180000", "scope": "occurrence"},
        page=f"{AGENDA}/evenement/{series.id}/supprimer?date=20261103T180000",
    )
    deliver(app)
    first, _second = remote_components(remote, series.uid)
    assert [d.dt for d in first["EXDATE"].dts] == [dt.datetime(2026, 11, 3, 18, tzinfo=PARIS)]


def test_a_change_made_on_the_server_is_pulled(app, village, client, remote):
    remote.save_event(REMOTE_SERIES)
    client.login(village.maire.email)
    connect(client, app, str(remote.url))

    found = remote.event_by_uid("permanence@serveur")
    cal = icalendar.Calendar.from_ical(found.data)
    for component in cal.walk("VEVENT"):
        if "RECURRENCE-ID" not in component:
            component["SUMMARY"] = icalendar.vText("Permanence du maire")
            component["LAST-MODIFIED"] = icalendar.vDDDTypes(dt.datetime.now(dt.UTC))
    found.data = cal.to_ical().decode()
    found.save()

    # « Synchroniser maintenant »
    response = client.submit(f"{CALDAV}{connection(app).id}/synchroniser", page=CALDAV)
    assert response.status_code == 302
    assert "Synchronisé : 1 événement(s) reçu(s), 0 supprimé(s)." in page(client, CALDAV)
    series, override = local(app, "permanence@serveur")
    assert series.title == "Permanence du maire"
    assert override.title == "Permanence exceptionnelle"  # the exception stays
    assert "Permanence du maire" in page(client, f"{AGENDA}/?mois=2026-10")


def test_deletions_go_both_ways(app, village, client, remote):
    remote.save_event(REMOTE_SERIES)
    remote.save_event(REMOTE_SINGLE)
    client.login(village.maire.email)
    connect(client, app, str(remote.url))

    # Deleted here: gone there.
    [single] = local(app, "voeux@serveur")
    client.submit(f"{AGENDA}/evenement/{single.id}/supprimer", {"scope": "all"})
    assert local(app, "voeux@serveur") == []
    deliver(app)
    assert [e.icalendar_component["UID"] for e in remote.events()] == ["permanence@serveur"]

    # Deleted there: gone here, with its changed occurrence.
    remote.event_by_uid("permanence@serveur").delete()
    pull(app)
    assert local(app, "permanence@serveur") == []
    assert "Permanence" not in page(client, f"{AGENDA}/?mois=2026-10")
    deliver(app)
    assert remote.events() == []


def test_another_communes_admin_neither_sees_nor_drives_the_connection(
    app, village, client, remote, other_commune, make_member, enable_module
):
    client.login(village.maire.email)
    connect(client, app, str(remote.url))
    connection_id = connection(app).id
    client.get("/deconnexion")
    enable_module(other_commune, "agenda")
    enable_module(other_commune, "caldav")
    client.login(make_member(other_commune, "maire", admin=True).email)
    other = "/c/10124/caldav/"
    html = page(client, other)
    assert str(remote.url) not in html and "Aucun agenda n'est encore connecté." in html
    for action in ("synchroniser", "deconnecter"):
        response = client.submit(f"{other}{connection_id}/{action}", page=other)
        assert response.status_code == 404
    assert connection(app) is not None
