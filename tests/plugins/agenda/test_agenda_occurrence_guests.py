"""Guests from outside named on one date of a series (the date's own form, which makes it an
exception: the series' UID with a RECURRENCE-ID). They are invited to that date alone, as
RFC 5546 (3.2.2) has it: their iTIP messages carry that occurrence, never the series' RRULE,
and taking them off it cancels that occurrence alone. The guests of the whole series keep
getting the series with its changed dates.

Each guest's calendar is played as their calendar app would play the e-mails they got, in
order, then read back with recurring-ical-events: what they would see is what is checked."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import icalendar
import recurring_ical_events

from core.db import db
from plugins.agenda.models import Event
from tests.plugins.agenda.helpers import (
    AGENDA,
    attendees,
    calendar_id,
    create,
    event_form,
    events,
    guest_mail,
    page,
    says,
    upload,
)

PARIS = ZoneInfo("Europe/Paris")
ALICE, ELU = "alice.durand@exemple.org", "elu@voisine.example"
COMPTABLE = "comptable@cabinet.example"
# Every Tuesday at 18:00, four times from 20 October 2026: 20, 27 October (the clocks went
# back on the 25th), 3 and 10 November.
SERIES = {
    "title": "Permanence des élus",
    "start_date": "2026-10-20",
    "repeat": "weekly",
    "weekdays": ["TU"],
    "ends": "count",
    "count": "4",
}


def paris(day: int, month: int, hour: int = 18) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, tzinfo=PARIS)


class GuestCalendar:
    """A guest's calendar app, applying the iTIP messages e-mailed to them (RFC 5546): a
    REQUEST holding the series replaces what it had of that UID, one of single dates adds
    or updates those dates; a CANCEL of the series drops it, one of dates drops those
    dates. A message older than what it holds (a lower SEQUENCE) would be ignored by a
    real app: it fails the test."""

    def __init__(self) -> None:
        self.held: dict[str, dict[str, icalendar.Event]] = {}

    def receive(self, calendar: icalendar.Calendar) -> None:
        method = str(calendar["METHOD"])
        components = calendar.walk("VEVENT")
        for component in components:
            uid, date = str(component["UID"]), recurrence_id(component)
            held = self.held.setdefault(uid, {})
            if date in held:
                assert int(component["SEQUENCE"]) >= int(held[date]["SEQUENCE"]), "outdated"
            if method == "REQUEST":
                if not date:
                    held.clear()
                held[date] = component
            elif not date:
                del self.held[uid]
            else:
                held.pop(date, None)
                if "" in held:  # one date of a series it holds: that date is gone
                    held[""].add("exdate", component["RECURRENCE-ID"].dt)
        assert method in ("REQUEST", "CANCEL") and components

    def dates(self) -> list[tuple[dt.datetime, str]]:
        """What the calendar shows from October to December: start and title."""
        cal = icalendar.Calendar()
        for held in self.held.values():
            for component in held.values():
                cal.add_component(component)
        found = recurring_ical_events.of(cal).between(dt.date(2026, 10, 1), dt.date(2026, 12, 1))
        shown = [(o["DTSTART"].dt, str(o["SUMMARY"])) for o in found]
        return sorted(shown, key=lambda date: date[0].isoformat())  # days and times mixed


def recurrence_id(component: icalendar.Event) -> str:
    return component["RECURRENCE-ID"].to_ical().decode() if "RECURRENCE-ID" in component else ""


def calendars_of(app) -> dict[str, GuestCalendar]:
    """Every guest's calendar, having received all their e-mails so far."""
    found: dict[str, GuestCalendar] = {}
    for recipient, _subject, calendar in guest_mail(app):
        found.setdefault(recipient, GuestCalendar()).receive(calendar)
    return found


def new_mail(app, seen: int) -> list[tuple[str, str, icalendar.Calendar]]:
    return guest_mail(app)[seen:]


def permanence(weekly: list[dt.datetime] | None = None) -> list[tuple[dt.datetime, str]]:
    dates = weekly or [paris(20, 10), paris(27, 10), paris(3, 11), paris(10, 11)]
    return [(d, "Permanence des élus") for d in dates]


def date_form(app, day: str, **values):
    """The form of one date of the series, as it comes filled (the series' guests)."""
    return event_form(app, **{**SERIES, "start_date": day, "guests": ALICE, **values})


def own_form(app, day: str, **values):
    """The form of a date changed on its own (no recurrence there)."""
    return event_form(app, title=SERIES["title"], start_date=day, **values)


def test_a_guest_named_on_one_date_is_invited_to_that_date_alone(app, village, client):
    client.login(village.maire.email)
    create(client, app, **SERIES, guests=ALICE)
    [series] = events(app)
    one_date = f"{AGENDA}/evenement/{series.id}/modifier?date=20261027T180000"
    assert ALICE in page(client, one_date)  # the date's form starts with the series' guests

    added = client.submit(
        one_date, date_form(app, "2026-10-27", guests=f"{ALICE}\n{ELU}", scope="occurrence")
    )
    assert added.status_code == 302
    [(recipient, subject, calendar)] = new_mail(app, 1)  # Alice: nothing changed for her
    assert (recipient, subject) == (ELU, "Invitation : Permanence des élus")
    assert str(calendar["METHOD"]) == "REQUEST"
    [vevent] = calendar.walk("VEVENT")
    assert str(vevent["UID"]) == series.uid and "RRULE" not in vevent
    assert vevent["RECURRENCE-ID"].dt == paris(27, 10)
    assert vevent["DTSTART"].dt == paris(27, 10)
    assert attendees(vevent) == [f"mailto:{ELU}"]
    assert str(vevent["ORGANIZER"]) == f"mailto:{village.maire.email}"
    guests = calendars_of(app)
    assert guests[ELU].dates() == [(paris(27, 10), "Permanence des élus")]
    assert guests[ALICE].dates() == permanence()

    # The date's page lists its guest, the series' page does not.
    [_series, exception] = events(app)
    assert added.headers["Location"].endswith(f"/evenement/{exception.id}")
    assert ELU in page(client, f"{AGENDA}/evenement/{exception.id}")
    assert ELU not in page(client, f"{AGENDA}/evenement/{series.id}?date=20261103T180000")

    # That date moved on its own page: each gets the change, in what they hold.
    its_form = f"{AGENDA}/evenement/{exception.id}/modifier"
    moved = client.submit(
        its_form,
        own_form(app, "2026-10-27", start_time="20:00", end_time="21:00", guests=f"{ALICE}\n{ELU}"),
    )
    assert moved.status_code == 302
    changed = {r: (s, c) for r, s, c in new_mail(app, 2)}
    assert changed.keys() == {ALICE, ELU}
    subject, calendar = changed[ELU]
    assert subject == "Modifié : Permanence des élus"
    [vevent] = calendar.walk("VEVENT")
    assert "RRULE" not in vevent and int(vevent["SEQUENCE"]) == 1
    assert vevent["DTSTART"].dt == paris(27, 10, 20)
    # Alice's is the series with its changed date (RFC 5546's REQUEST of the exception).
    subject, calendar = changed[ALICE]
    assert subject == "Modifié : Permanence des élus"
    assert [recurrence_id(c) for c in calendar.walk("VEVENT")] == ["", "20261027T180000"]
    guests = calendars_of(app)
    assert guests[ELU].dates() == [(paris(27, 10, 20), "Permanence des élus")]
    assert guests[ALICE].dates() == permanence(
        [paris(20, 10), paris(27, 10, 20), paris(3, 11), paris(10, 11)]
    )

    # Taken off that date: a CANCEL of that date alone; Alice hears nothing.
    removed = client.submit(
        its_form,
        own_form(app, "2026-10-27", start_time="20:00", end_time="21:00", guests=ALICE),
    )
    assert removed.status_code == 302
    [(recipient, subject, calendar)] = new_mail(app, 4)
    assert (recipient, subject) == (ELU, "Invitation retirée : Permanence des élus")
    assert str(calendar["METHOD"]) == "CANCEL"
    [vevent] = calendar.walk("VEVENT")
    assert str(vevent["UID"]) == series.uid and "RRULE" not in vevent
    assert vevent["RECURRENCE-ID"].dt == paris(27, 10) and str(vevent["STATUS"]) == "CANCELLED"
    assert int(vevent["SEQUENCE"]) == 1  # the date itself did not change
    guests = calendars_of(app)
    assert guests[ELU].dates() == []
    assert len(guests[ALICE].dates()) == 4
    assert ELU not in page(client, f"{AGENDA}/evenement/{exception.id}")


def test_a_series_guest_taken_off_one_date_loses_that_date_alone(app, village, client):
    client.login(village.maire.email)
    url = create(client, app, **SERIES, guests=f"{ALICE}\n{COMPTABLE}").headers["Location"]
    [series] = events(app)
    taken_off = client.submit(
        f"{url}/modifier?date=20261027T180000",
        date_form(app, "2026-10-27", scope="occurrence"),
    )
    assert taken_off.status_code == 302
    [(recipient, subject, calendar)] = new_mail(app, 2)
    assert (recipient, subject) == (COMPTABLE, "Invitation retirée : Permanence des élus")
    [vevent] = calendar.walk("VEVENT")
    assert str(calendar["METHOD"]) == "CANCEL" and vevent["RECURRENCE-ID"].dt == paris(27, 10)
    guests = calendars_of(app)
    assert guests[COMPTABLE].dates() == permanence([paris(20, 10), paris(3, 11), paris(10, 11)])
    assert guests[ALICE].dates() == permanence()

    # A change of the series reaches both; the date stays out of the accountant's.
    moved = client.submit(
        f"{url}/modifier",
        event_form(app, **SERIES, place="Mairie", guests=f"{ALICE}\n{COMPTABLE}"),
    )
    assert moved.status_code == 302
    changed = {r: c for r, _s, c in new_mail(app, 3)}
    assert changed.keys() == {ALICE, COMPTABLE}
    [master] = changed[COMPTABLE].walk("VEVENT")
    assert [d.dt for d in master["EXDATE"].dts] == [paris(27, 10)]
    assert str(master["LOCATION"]) == "Mairie"
    guests = calendars_of(app)
    assert guests[COMPTABLE].dates() == permanence([paris(20, 10), paris(3, 11), paris(10, 11)])
    assert guests[ALICE].dates() == permanence()
    assert series.uid == str(master["UID"])


def test_the_guests_of_a_date_hear_when_it_or_the_series_is_cancelled(app, village, client):
    client.login(village.maire.email)
    url = create(client, app, **SERIES, guests=ALICE).headers["Location"]
    [series] = events(app)
    for key, day in (("20261027T180000", "2026-10-27"), ("20261103T180000", "2026-11-03")):
        client.submit(
            f"{url}/modifier?date={key}",
            date_form(app, day, guests=f"{ALICE}\n{ELU}", scope="occurrence"),
        )
    assert [(r, s) for r, s, _c in new_mail(app, 1)] == [
        (ELU, "Invitation : Permanence des élus"),
        (ELU, "Invitation : Permanence des élus"),  # to a second date
    ]
    assert calendars_of(app)[ELU].dates() == permanence([paris(27, 10), paris(3, 11)])
    [_series, first, _second] = events(app)

    # One of those dates deleted: cancelled for the guest of that date, an EXDATE for Alice.
    deleted = client.submit(
        f"{AGENDA}/evenement/{first.id}/supprimer",
        {"scope": "all"},
        page=f"{AGENDA}/evenement/{first.id}/supprimer",
    )
    assert deleted.status_code == 302
    told = {r: (s, c) for r, s, c in new_mail(app, 3)}
    subject, calendar = told[ELU]
    assert subject == "Annulé : Permanence des élus" and str(calendar["METHOD"]) == "CANCEL"
    [vevent] = calendar.walk("VEVENT")
    assert vevent["RECURRENCE-ID"].dt == paris(27, 10) and int(vevent["SEQUENCE"]) == 1
    assert told[ALICE][0] == "Modifié : Permanence des élus"
    guests = calendars_of(app)
    assert guests[ELU].dates() == permanence([paris(3, 11)])
    assert guests[ALICE].dates() == permanence([paris(20, 10), paris(3, 11), paris(10, 11)])

    # The whole series deleted: each gets the CANCEL of what they hold.
    client.submit(f"{url}/supprimer", {"scope": "all"}, page=f"{url}/supprimer")
    told = {r: (s, c) for r, s, c in new_mail(app, 5)}
    assert {r: s for r, (s, _c) in told.items()} == {
        ALICE: "Annulé : Permanence des élus",
        ELU: "Annulé : Permanence des élus",
    }
    [vevent] = told[ELU][1].walk("VEVENT")
    assert vevent["RECURRENCE-ID"].dt == paris(3, 11) and "RRULE" not in vevent
    [vevent] = told[ALICE][1].walk("VEVENT")
    assert "RECURRENCE-ID" not in vevent and str(vevent["UID"]) == series.uid
    assert all(c.dates() == [] for c in calendars_of(app).values())


def test_guests_named_on_the_series_are_named_on_its_changed_dates(app, village, client):
    client.login(village.maire.email)
    url = create(client, app, **SERIES, guests=ALICE).headers["Location"]
    client.submit(
        f"{url}/modifier?date=20261027T180000",
        date_form(app, "2026-10-27", start_time="20:00", end_time="21:00", scope="occurrence"),
    )
    [series, exception] = events(app)
    assert [s for _r, s, _c in new_mail(app, 1)] == ["Modifié : Permanence des élus"]

    added = client.submit(f"{url}/modifier", event_form(app, **SERIES, guests=f"{ALICE}\n{ELU}"))
    assert added.status_code == 302
    [(recipient, subject, _calendar)] = new_mail(app, 2)
    assert (recipient, subject) == (ELU, "Invitation : Permanence des élus")
    assert ELU in page(client, f"{AGENDA}/evenement/{exception.id}")
    moved = [paris(20, 10), paris(27, 10, 20), paris(3, 11), paris(10, 11)]
    assert calendars_of(app)[ELU].dates() == permanence(moved)

    # Taken off the series: off its changed dates too, and their invitation withdrawn whole.
    client.submit(f"{url}/modifier", event_form(app, **SERIES, guests=ELU))
    [(recipient, subject, calendar)] = new_mail(app, 3)
    assert (recipient, subject) == (ALICE, "Invitation retirée : Permanence des élus")
    [vevent] = calendar.walk("VEVENT")
    assert "RECURRENCE-ID" not in vevent and str(vevent["UID"]) == series.uid
    assert ALICE not in page(client, f"{AGENDA}/evenement/{exception.id}")
    assert calendars_of(app)[ALICE].dates() == []


def test_a_date_whose_guest_follows_a_series_cut_in_two(app, village, client):
    client.login(village.maire.email)
    url = create(client, app, **SERIES, guests=ALICE).headers["Location"]
    client.submit(
        f"{url}/modifier?date=20261103T180000",
        date_form(app, "2026-11-03", guests=f"{ALICE}\n{ELU}", scope="occurrence"),
    )
    cut = client.submit(
        f"{url}/modifier?date=20261027T180000",
        date_form(app, "2026-10-27", place="Mairie", scope="following"),
    )
    assert cut.status_code == 302
    [old, exception, following] = sorted(events(app), key=lambda e: e.id)
    assert exception.parent_id == following.id and following.uid != old.uid
    guests = calendars_of(app)
    assert guests[ELU].dates() == permanence([paris(3, 11)])
    assert guests[ALICE].dates() == permanence()
    # Their date now belongs to another UID: withdrawn from the first, sent in the second.
    theirs = [
        (subject, str(calendar["METHOD"]), str(vevent["UID"]), recurrence_id(vevent))
        for recipient, subject, calendar in new_mail(app, 2)
        for vevent in calendar.walk("VEVENT")
        if recipient == ELU and "RRULE" not in vevent
    ]
    assert theirs == [
        ("Invitation retirée : Permanence des élus", "CANCEL", old.uid, "20261103T180000"),
        ("Invitation : Permanence des élus", "REQUEST", following.uid, "20261103T180000"),
    ]


def test_a_date_made_all_day_keeps_the_series_time_as_recurrence_id(app, village, client):
    client.login(village.maire.email)
    url = create(client, app, **SERIES, guests=ALICE).headers["Location"]
    [series] = events(app)
    made = client.submit(
        f"{url}/modifier?date=20261027T180000",
        date_form(app, "2026-10-27", all_day="y", guests=f"{ALICE}\n{ELU}", scope="occurrence"),
    )
    assert made.status_code == 302
    # RFC 5545 (3.8.4.4): RECURRENCE-ID has the type of the series' DTSTART.
    [calendar] = [c for r, _s, c in new_mail(app, 1) if r == ELU]
    [vevent] = calendar.walk("VEVENT")
    assert vevent["RECURRENCE-ID"].dt == paris(27, 10)
    assert vevent["DTSTART"].dt == dt.date(2026, 10, 27)
    response = client.get(f"{AGENDA}/evenement/{series.id}.ics")
    assert response.status_code == 200
    _series, exception = icalendar.Calendar.from_ical(response.data).walk("VEVENT")
    assert exception["RECURRENCE-ID"].dt == paris(27, 10)
    # Read back (an import, a CalDAV pull), it is the same date, with its guests.
    assert upload(client, series.calendar_id, response.data).status_code == 302
    assert says(page(client, f"{AGENDA}/agendas"), "0 ajouté(s)")
    [_series, exception] = events(app)
    assert exception.recurrence_id == "20261027T180000" and ELU in exception.guests
    guests = calendars_of(app)
    assert guests[ELU].dates() == [(dt.date(2026, 10, 27), "Permanence des élus")]
    assert [d for d, _t in guests[ALICE].dates()][1:3] == [dt.date(2026, 10, 27), paris(3, 11)]


def test_an_app_names_a_guest_on_one_date_sending_only_what_changes(app, village, client, bearer):
    writer = bearer(village.maire, "agenda:read", "agenda:write")
    api = "/api/v1/c/10145/agenda/evenements"
    series = client.post(
        api,
        json={
            "calendar": calendar_id(app, "conseil"),
            "title": "Permanence des élus",
            "start": "2026-10-20T18:00",
            "end": "2026-10-20T19:00",
            "rrule": "FREQ=WEEKLY;COUNT=4",
            "guests": [ALICE],
        },
        headers=writer,
    ).json
    # Neither start nor end sent: the date keeps its times, not the series' first ones.
    named = client.patch(
        f"{api}/{series['id']}",
        json={"scope": "occurrence", "date": "20261027T180000", "guests": [ALICE, ELU]},
        headers=writer,
    )
    assert named.status_code == 200, named.json
    assert named.json["start"] == "2026-10-27T18:00:00+01:00"
    assert named.json["guests"] == [ALICE, ELU]
    guests = calendars_of(app)
    assert guests[ELU].dates() == [(paris(27, 10), "Permanence des élus")]
    assert guests[ALICE].dates() == permanence()
    assert len(guest_mail(app)) == 2  # Alice's invitation, then Elu's: nothing else

    # The whole series changed from one of its dates, its times not sent: it stays put.
    placed = client.patch(
        f"{api}/{series['id']}",
        json={"scope": "all", "date": "20261103T180000", "place": "Mairie"},
        headers=writer,
    )
    assert placed.status_code == 200, placed.json
    assert placed.json["start"] == "2026-10-20T18:00:00+02:00"
    assert calendars_of(app)[ALICE].dates() == permanence()


def run_migration(app, name: str) -> None:
    """The upgrade of one of the agenda's revisions, on the test's database as it is."""
    import importlib.util
    from pathlib import Path

    from alembic.migration import MigrationContext
    from alembic.operations import Operations

    import plugins.agenda

    [path] = (Path(plugins.agenda.__file__).parent / "migrations").glob(f"{name}_*.py")
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    with (
        app.app_context(),
        db.get_bind().begin() as connection,
        Operations.context(MigrationContext.configure(connection)),
    ):
        module.upgrade()


def test_a_date_changed_before_dates_had_guests_of_their_own_gets_the_series_guests(
    app, village, client
):
    """Before dates kept guest lists of their own, a date changed on its own listed none,
    though the series' guests were invited to it: the migration names them there, so that
    the next change of the series does not withdraw their invitation to that date."""
    client.login(village.maire.email)
    url = create(client, app, **SERIES, guests=ALICE).headers["Location"]
    client.submit(
        f"{url}/modifier?date=20261027T180000",
        date_form(app, "2026-10-27", start_time="20:00", end_time="21:00", scope="occurrence"),
    )
    [_series, exception] = events(app)
    with app.app_context():  # as the code before left it
        db.get(Event, exception.id).guests = []
        db.commit()

    run_migration(app, "5b0e7c2d9a41")
    assert [e.guests for e in events(app)] == [[ALICE], [ALICE]]
    assert ALICE in page(client, f"{AGENDA}/evenement/{exception.id}")
    seen = len(guest_mail(app))
    client.submit(f"{url}/modifier", event_form(app, **{**SERIES, "place": "Mairie"}, guests=ALICE))
    [(recipient, subject, _calendar)] = new_mail(app, seen)
    assert (recipient, subject) == (ALICE, "Modifié : Permanence des élus")
    moved = [paris(20, 10), paris(27, 10, 20), paris(3, 11), paris(10, 11)]
    assert calendars_of(app)[ALICE].dates() == permanence(moved)
    run_migration(app, "5b0e7c2d9a41")  # run again, it changes nothing
    assert [e.guests for e in events(app)] == [[ALICE], [ALICE]]
