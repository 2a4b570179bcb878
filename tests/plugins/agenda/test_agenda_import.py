"""Importing a .ics file into a calendar, through the calendars page as a writer would: all
of the file or nothing, the fault named; the same file twice adds nothing; a newer version
updates. What was imported is read back from the calendar's feed with recurring-ical-events,
on both sides of the clock change."""

from __future__ import annotations

import datetime as dt
import io
from zoneinfo import ZoneInfo

import pytest

from tests.plugins.agenda.helpers import (
    AGENDA,
    calendar_id,
    count_events,
    events,
    page,
    parse,
    says,
    starts,
    upload,
)

PARIS = ZoneInfo("Europe/Paris")

# As Thunderbird writes it: its own VTIMEZONE, folded lines, a weekly council with one date
# cancelled and one moved, an all-day fête, and a meeting given in UTC.
THUNDERBIRD = (
    "BEGIN:VCALENDAR\r\n"
    "PRODID:-//Mozilla.org/NONSGML Mozilla Calendar V1.1//EN\r\n"
    "VERSION:2.0\r\n"
    "BEGIN:VTIMEZONE\r\n"
    "TZID:Europe/Paris\r\n"
    "BEGIN:DAYLIGHT\r\n"
    "TZOFFSETFROM:+0100\r\n"
    "TZOFFSETTO:+0200\r\n"
    "TZNAME:CEST\r\n"
    "DTSTART:19700329T020000\r\n"
    "RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=3\r\n"
    "END:DAYLIGHT\r\n"
    "BEGIN:STANDARD\r\n"
    "TZOFFSETFROM:+0200\r\n"
    "TZOFFSETTO:+0100\r\n"
    "TZNAME:CET\r\n"
    "DTSTART:19701025T030000\r\n"
    "RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=10\r\n"
    "END:STANDARD\r\n"
    "END:VTIMEZONE\r\n"
    "BEGIN:VEVENT\r\n"
    "UID:commission-travaux@mairie.example\r\n"
    "SUMMARY:Commission des travaux\r\n"
    "LOCATION:Salle du conseil\r\n"
    "DESCRIPTION:Ordre du jour : voirie\\, éclairage public\\, cimetière. Les pièce\r\n"
    " s sont en mairie.\r\n"
    "DTSTART;TZID=Europe/Paris:20261014T183000\r\n"
    "DTEND;TZID=Europe/Paris:20261014T200000\r\n"
    "RRULE:FREQ=WEEKLY;UNTIL=20261111T235959Z\r\n"
    "EXDATE;TZID=Europe/Paris:20261028T183000\r\n"
    "END:VEVENT\r\n"
    "BEGIN:VEVENT\r\n"
    "UID:commission-travaux@mairie.example\r\n"
    "RECURRENCE-ID;TZID=Europe/Paris:20261104T183000\r\n"
    "SUMMARY:Commission des travaux (déplacée)\r\n"
    "DTSTART;TZID=Europe/Paris:20261105T090000\r\n"
    "DTEND;TZID=Europe/Paris:20261105T103000\r\n"
    "END:VEVENT\r\n"
    "BEGIN:VEVENT\r\n"
    "UID:fete-village@mairie.example\r\n"
    "SUMMARY:Fête du village\r\n"
    "DTSTART;VALUE=DATE:20261017\r\n"
    "DTEND;VALUE=DATE:20261019\r\n"
    "END:VEVENT\r\n"
    "BEGIN:VEVENT\r\n"
    "UID:visio-epci@cc.example\r\n"
    "SUMMARY:Réunion communauté de communes\r\n"
    "DTSTART:20261027T130000Z\r\n"
    "DURATION:PT2H\r\n"
    "CLASS:PRIVATE\r\n"
    "END:VEVENT\r\n"
    "END:VCALENDAR\r\n"
)


def as_instant(start: dt.date | dt.datetime) -> dt.datetime:
    if isinstance(start, dt.datetime):
        return start
    return dt.datetime.combine(start, dt.time(), tzinfo=PARIS)


def feed_of(client, calendar: int):
    page_ = client.submit(
        f"{AGENDA}/agendas/{calendar}/abonnement", {}, page=f"{AGENDA}/agendas"
    ).get_data(as_text=True)
    address = page_.split('id="adresse-abonnement" type="text" readonly value="')[1].split('"')[0]
    return parse(client.get(address.removeprefix("http://viatic.test")).data)


def test_a_thunderbird_export_is_imported_whole(app, village, client):
    client.login(village.maire.email)
    council = calendar_id(app, "commission")
    response = upload(client, council, THUNDERBIRD)
    assert response.status_code == 302
    shown = page(client, f"{AGENDA}/agendas")
    assert says(shown, "4 ajouté(s), 0 mis à jour, 0 inchangé(s)")

    series = next(e for e in events(app) if e.uid.startswith("commission") and e.rrule)
    assert series.exdates == ["20261028T183000"]
    assert series.overridden == ["20261104T183000"]
    assert "éclairage public, cimetière. Les pièces sont en mairie." in series.description
    private = next(e for e in events(app) if e.uid.startswith("visio"))
    assert private.visibility == "private"

    cal = feed_of(client, council)  # the feed holds no private event
    found = starts(cal, dt.date(2026, 10, 1), dt.date(2026, 12, 1))
    assert sorted(found, key=as_instant) == [
        dt.datetime(2026, 10, 14, 18, 30, tzinfo=PARIS),
        dt.date(2026, 10, 17),
        dt.datetime(2026, 10, 21, 18, 30, tzinfo=PARIS),
        # 28 October cancelled; after the clock change, still 18:30 in Paris
        dt.datetime(2026, 11, 5, 9, 0, tzinfo=PARIS),  # moved from 4 November
        dt.datetime(2026, 11, 11, 18, 30, tzinfo=PARIS),
    ]
    month = page(client, f"{AGENDA}/?mois=2026-10")
    assert 'datetime="2026-10-27T14:00:00+01:00"' in month  # 13:00 UTC, in Paris time


def test_the_same_file_twice_adds_nothing_and_a_newer_one_updates(app, village, client):
    client.login(village.maire.email)
    council = calendar_id(app, "commission")
    upload(client, council, THUNDERBIRD)
    before = {e.uid + e.recurrence_id: e.sequence for e in events(app)}

    upload(client, council, THUNDERBIRD)
    assert says(page(client, f"{AGENDA}/agendas"), "0 ajouté(s), 0 mis à jour, 4 inchangé(s)")
    assert {e.uid + e.recurrence_id: e.sequence for e in events(app)} == before

    upload(client, council, THUNDERBIRD.replace("Fête du village", "Fête de la Saint-Martin"))
    assert says(page(client, f"{AGENDA}/agendas"), "0 ajouté(s), 1 mis à jour, 3 inchangé(s)")
    fete = next(e for e in events(app) if e.uid.startswith("fete"))
    assert fete.title == "Fête de la Saint-Martin" and fete.sequence == 1

    # In another calendar of the commune, the same events are not taken twice.
    upload(client, calendar_id(app, "conseil"), THUNDERBIRD)
    assert says(page(client, f"{AGENDA}/agendas"), "Déjà dans un autre agenda de la commune")
    assert count_events(app) == 4


BROKEN = [
    ("not-ics", "Bonjour,\r\nvoici l'agenda.\r\n", "doit commencer par BEGIN:VCALENDAR"),
    (
        "bad-line",
        THUNDERBIRD.replace("SUMMARY:Fête du village", "Fête du village sans nom"),
        "Ligne 41 : « Fête du village sans nom » n'est pas une ligne iCalendar valable",
    ),
    (
        "unclosed",
        THUNDERBIRD.replace("END:VEVENT\r\nBEGIN:VEVENT\r\nUID:fete", "BEGIN:VEVENT\r\nUID:fete"),
        "END:VCALENDAR ne ferme pas le composant ouvert (VEVENT)",
    ),
    (
        "bad-date",
        THUNDERBIRD.replace("DTSTART;VALUE=DATE:20261017", "DTSTART;VALUE=DATE:2026-17"),
        "L'événement « Fête du village » (ligne 39) : DTSTART est invalide",
    ),
    (
        "broken-vtimezone",
        THUNDERBIRD.replace("TZOFFSETTO:+0100\r\n", ""),
        "Le fuseau horaire « Europe/Paris » (composant VTIMEZONE, ligne 4) est invalide",
    ),
    (
        "hourly",
        THUNDERBIRD.replace("FREQ=WEEKLY", "FREQ=HOURLY"),
        "L'événement « Commission des travaux » (ligne 21) : La fréquence doit être",
    ),
    (
        "end-before-start",
        THUNDERBIRD.replace("DTEND;VALUE=DATE:20261019", "DTEND;VALUE=DATE:20261001"),
        "la fin est avant le début",
    ),
    ("latin-1", THUNDERBIRD.encode("latin-1", "replace"), "en UTF-8"),
]


@pytest.mark.parametrize(("body", "message"), [b[1:] for b in BROKEN], ids=[b[0] for b in BROKEN])
def test_a_broken_file_is_refused_with_its_fault_named_and_nothing_imported(
    app, village, client, body, message
):
    client.login(village.maire.email)
    response = upload(client, calendar_id(app, "commission"), body)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert says(html, "Rien n'a été importé.")
    assert says(html, message), html[html.find("Rien") - 200 : html.find("Rien") + 400]
    assert count_events(app) == 0


def test_only_writers_import_and_only_into_their_communes_calendars(
    app, village, client, other_commune, make_member, enable_module
):
    client.login(village.conseiller.email)
    assert upload(client, calendar_id(app, "commission"), THUNDERBIRD).status_code == 403
    client.post("/deconnexion", data={"csrf_token": client.csrf_token()})

    enable_module(other_commune, "agenda")
    elsewhere = calendar_id(app, "commission")  # of Faux-Villecerf, asked through the other
    stranger = make_member(other_commune, "maire")
    client.login(stranger.email)
    response = client.post(
        f"/c/{other_commune.insee}/agenda/agendas/{elsewhere}/import",
        data={
            "csrf_token": client.csrf_token(f"/c/{other_commune.insee}/agenda/agendas"),
            f"i{elsewhere}-file": (io.BytesIO(THUNDERBIRD.encode()), "a.ics"),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 404
    assert count_events(app) == 0
