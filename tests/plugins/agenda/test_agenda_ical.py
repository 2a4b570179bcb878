"""iCalendar out, read back as a phone would: one event's .ics and the subscription feeds,
parsed with ``icalendar`` and expanded with ``recurring-ical-events``. Also the rules a raw
RRULE (the later JSON API's input) must follow, and the calendars' palette."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import recurring_ical_events

from core.db import db
from plugins.agenda import recurrence, services
from plugins.agenda.models import PALETTE
from tests.plugins.agenda.helpers import (
    AGENDA,
    calendar_id,
    create,
    events,
    page,
    parse,
    says,
    starts,
)

PARIS = ZoneInfo("Europe/Paris")
HOUR = dt.timedelta(hours=1)


def test_the_ics_of_a_recurring_event_keeps_18_00_on_both_sides_of_the_clock_change(
    app, village, client
):
    client.login(village.maire.email)
    create(
        client,
        app,
        title="Permanence des élus",
        place="Mairie, bureau du maire",
        description="Sans rendez-vous; apportez vos questions, remarques.",
        start_date="2026-10-13",
        start_time="18:00",
        end_time="19:30",
        repeat="weekly",
        weekdays=["TU"],
        ends="count",
        count="5",
    )
    [event] = events(app)
    client.submit(
        f"{AGENDA}/evenement/{event.id}/supprimer",
        {"date": "20261103T180000", "scope": "occurrence"},
        page=f"{AGENDA}/evenement/{event.id}/supprimer?date=20261103T180000",
    )
    response = client.get(f"{AGENDA}/evenement/{event.id}.ics")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    body = response.get_data()
    assert b"DTSTART;TZID=Europe/Paris:20261013T180000\r\n" in body
    assert b"RRULE:FREQ=WEEKLY;COUNT=5;BYDAY=TU\r\n" in body
    assert b"EXDATE;TZID=Europe/Paris:20261103T180000\r\n" in body
    cal = parse(body)
    [zone] = cal.walk("VTIMEZONE")
    assert zone["TZID"] == "Europe/Paris"
    [vevent] = cal.walk("VEVENT")
    assert vevent["UID"] == event.uid
    assert vevent["SEQUENCE"] == 1  # the EXDATE was a change
    assert vevent["SUMMARY"] == "Permanence des élus"
    assert vevent["DESCRIPTION"] == "Sans rendez-vous; apportez vos questions, remarques."
    assert cal["METHOD"] == "PUBLISH"

    found = starts(cal, dt.date(2026, 10, 1), dt.date(2026, 12, 31))
    assert found == [
        dt.datetime(2026, 10, 13, 18, 0, tzinfo=PARIS),
        dt.datetime(2026, 10, 20, 18, 0, tzinfo=PARIS),
        dt.datetime(2026, 10, 27, 18, 0, tzinfo=PARIS),
        dt.datetime(2026, 11, 10, 18, 0, tzinfo=PARIS),
    ]
    assert [s.utcoffset() for s in found] == [2 * HOUR, 2 * HOUR, HOUR, HOUR]
    assert [s.astimezone(dt.UTC).hour for s in found] == [16, 16, 17, 17]
    # The UID does not change when the event does.
    assert vevent["UID"] == events(app)[0].uid


def test_an_all_day_event_is_written_as_dates(app, village, client):
    client.login(village.maire.email)
    create(
        client,
        app,
        title="Brocante",
        kind="evenements",
        all_day="y",
        start_date="2027-03-27",
        start_time="",
        end_date="2027-03-28",  # over the night of the March clock change
        end_time="",
    )
    [event] = events(app)
    body = client.get(f"{AGENDA}/evenement/{event.id}.ics").get_data()
    assert b"DTSTART;VALUE=DATE:20270327\r\n" in body
    assert b"DTEND;VALUE=DATE:20270329\r\n" in body
    [vevent] = parse(body).walk("VEVENT")
    assert vevent["DTSTART"].dt == dt.date(2027, 3, 27)


def _new_feed(client, calendar: int) -> str:
    answer = client.submit(f"{AGENDA}/agendas/{calendar}/abonnement", page=f"{AGENDA}/agendas")
    assert answer.status_code == 200
    html = answer.get_data(as_text=True)
    assert "Copiez-la maintenant" in html
    found = re.search(r'id="adresse-abonnement" type="text" readonly value="([^"]+)"', html)
    assert found, "the new address is shown"
    return found.group(1).replace("http://viatic.test", "")


def test_a_calendar_feed_holds_its_public_and_members_events_and_a_new_token_ends_the_old(
    app, village, client
):
    client.login(village.maire.email)
    commission = calendar_id(app, "commission")
    create(
        client,
        app,
        kind="commission",
        title="Commission des travaux",
        visibility="members",
        start_date="2026-10-08",
        start_time="18:00",
        end_time="19:00",
        repeat="weekly",
        interval="2",
        weekdays=["TH"],
    )
    create(client, app, kind="commission", title="Visite du chantier", visibility="public")
    create(client, app, kind="commission", title="Entretien individuel", visibility="private")
    create(client, app, kind="conseil", title="Conseil municipal")  # another calendar

    old = _new_feed(client, commission)
    assert old.startswith(f"{AGENDA}/abonnement/") and old.endswith(".ics")
    with app.app_context():
        from plugins.agenda.models import Calendar

        stored = db.get(Calendar, commission).feed_token_hash
        assert stored and stored not in old  # kept hashed only

    # The feed needs no session: its token is the credential.
    anonymous = app.test_client()
    response = anonymous.get(old)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    cal = parse(response.get_data())
    assert cal["X-WR-CALNAME"] == "Commissions — Faux-Villecerf"
    titles = sorted(str(v["SUMMARY"]) for v in cal.walk("VEVENT"))
    assert titles == ["Commission des travaux", "Visite du chantier"]
    # Every other Thursday at 18:00, CEST then CET.
    meetings = [
        o["DTSTART"].dt
        for o in recurring_ical_events.of(cal).between(dt.date(2026, 10, 1), dt.date(2026, 11, 30))
        if str(o["SUMMARY"]) == "Commission des travaux"
    ]
    assert [(m.date().isoformat(), m.hour, m.utcoffset()) for m in meetings] == [
        ("2026-10-08", 18, 2 * HOUR),
        ("2026-10-22", 18, 2 * HOUR),
        ("2026-11-05", 18, HOUR),
        ("2026-11-19", 18, HOUR),
    ]

    # A phone that has this version gets a 304; any change of the calendar makes a new one.
    tag = response.headers["ETag"]
    assert anonymous.get(old, headers={"If-None-Match": tag}).status_code == 304
    create(client, app, kind="commission", title="Réunion de chantier", visibility="public")
    changed = anonymous.get(old, headers={"If-None-Match": tag})
    assert changed.status_code == 200 and changed.headers["ETag"] != tag
    assert "Réunion de chantier" in changed.get_data(as_text=True)

    new = _new_feed(client, commission)
    assert new != old
    gone = anonymous.get(old)
    assert gone.status_code == 404
    assert says(gone.get_data(as_text=True), "Cette adresse d'abonnement n'est plus valable")
    assert anonymous.get(new).status_code == 200
    # A token of this commune does not open another commune's URL, nor a made-up one.
    assert anonymous.get(new.replace("/c/10145/", "/c/10124/")).status_code == 404
    assert anonymous.get(f"{AGENDA}/abonnement/invente.ics").status_code == 404
    listing = page(client, f"{AGENDA}/agendas")
    assert says(listing, "Régénérer l'adresse d'abonnement de « Commissions »")


def test_only_writers_make_feed_addresses(app, village, client):
    client.login(village.conseiller.email)
    commission = calendar_id(app, "commission")
    listing = page(client, f"{AGENDA}/agendas")
    assert says(listing, "Pas encore d'adresse d'abonnement.")
    assert not says(listing, "Créer l'adresse d'abonnement de « Commissions »")
    # Their own calendar is theirs to share.
    assert says(listing, "Créer l'adresse d'abonnement de « Agenda de Nadia Benali »")
    refused = client.submit(f"{AGENDA}/agendas/{commission}/abonnement", page=f"{AGENDA}/agendas")
    assert refused.status_code == 403
    with app.app_context():
        from plugins.agenda.models import Calendar

        assert db.get(Calendar, commission).feed_token_hash is None


# --- Raw RRULEs, as the JSON API will send them ------------------------------------------------

START = dt.datetime(2026, 10, 13, 18, 0, tzinfo=PARIS)


@pytest.mark.parametrize(
    ("rule", "field", "message"),
    [
        ("FREQ=SECONDLY", "repeat", "La fréquence doit être quotidienne"),
        ("FREQ=WEEKLY;BYDAY=TU;COUNT=2;UNTIL=20261110T225959Z", "repeat", "pas les deux"),
        ("FREQ=WEEKLY;BYHOUR=3", "repeat", "non pris en charge : BYHOUR"),
        ("n'importe quoi", "repeat", "La règle de récurrence est mal formée"),
        ("FREQ=MONTHLY;BYMONTHDAY=31;BYMONTH=2", "repeat", "ne donne aucune date"),
        ("FREQ=WEEKLY;BYDAY=XY", "weekdays", "Les jours de la règle"),
        ("FREQ=WEEKLY;UNTIL=20261110", "until", "La date de fin de la répétition"),
        ("FREQ=DAILY;COUNT=9999", "count", "Indiquez un nombre de fois entre 1 et 500."),
        ("FREQ=DAILY;UNTIL=20261001T000000Z", "until", "ne donne aucune date"),
    ],
)
def test_a_bad_rrule_is_refused_in_french(app, rule, field, message):
    with app.test_request_context(), pytest.raises(recurrence.RecurrenceError) as refused:
        recurrence.validate(rule, START, all_day=False)
    assert message in refused.value.message
    assert refused.value.field == field


def test_a_raw_rrule_goes_through_the_services_like_the_form(app, village):
    with app.test_request_context():
        commune = db.get(type(village.commune), village.commune.id)
        raw = {
            "calendar": str(calendar_id(app)),
            "title": "Conseil",
            "start_date": "2026-10-06",
            "start_time": "20:30",
            "rrule": "freq=monthly;byday=1tu;count=12",
        }
        data = services.validate(commune, db.get(type(village.maire), village.maire.id), raw)
        assert data.rrule == "FREQ=MONTHLY;BYDAY=1TU;COUNT=12"
        with pytest.raises(services.EventError) as refused:
            services.validate(
                commune, db.get(type(village.maire), village.maire.id), {**raw, "rrule": "FREQ=X"}
            )
        assert "repeat" in refused.value.errors


# --- The palette --------------------------------------------------------------------------------


def _luminance(colour: str) -> float:
    def channel(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def test_every_calendar_colour_holds_white_text_at_4_5_to_1_and_is_in_the_stylesheet():
    css = (Path(services.__file__).parent / "static" / "agenda.css").read_text()
    for name, colour in PALETTE.items():
        ratio = (1.0 + 0.05) / (_luminance(colour) + 0.05)
        assert ratio >= 4.5, f"{name} {colour}: {ratio:.2f}"
        assert f".agenda-colour--{name} {{ background: {colour}; }}" in css, name
