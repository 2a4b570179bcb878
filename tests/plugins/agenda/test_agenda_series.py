"""Changing one date of a series: "cette date seulement" (a RECURRENCE-ID of its own),
"cette date et les suivantes" (the series is cut, a new one starts) and "toutes les dates"
from one of them (the series moves by the same shift). Driven through the pages as a
writer would, and read back from the .ics with recurring-ical-events, on both sides of the
clock change of 25 October 2026."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from core.db import db
from core.models import AuditEvent
from plugins.agenda import services
from plugins.agenda.models import Event
from tests.plugins.agenda.helpers import AGENDA, create, event_form, events, page, parse, starts

PARIS = ZoneInfo("Europe/Paris")
OCTOBER, DECEMBER = dt.date(2026, 10, 1), dt.date(2026, 12, 1)


def paris(day: int, month: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, minute, tzinfo=PARIS)


@pytest.fixture
def series(app, village, client):
    """A permanence every Tuesday at 18:00, five times from 13 October 2026 (the clocks go
    back on the 25th): 13, 20, 27 October, 3 and 10 November."""
    client.login(village.maire.email)
    create(
        client,
        app,
        title="Permanence des élus",
        start_date="2026-10-13",
        start_time="18:00",
        end_time="19:00",
        repeat="weekly",
        weekdays=["TU"],
        ends="count",
        count="5",
    )
    [event] = events(app)
    return event


def edit(client, app, event_id: int, date: str | None, **values):
    url = f"{AGENDA}/evenement/{event_id}/modifier" + (f"?date={date}" if date else "")
    return client.submit(url, event_form(app, **values))


def ics_of(client, event_id: int):
    response = client.get(f"{AGENDA}/evenement/{event_id}.ics")
    assert response.status_code == 200
    return parse(response.data)


def audit(app, action: str) -> list[dict]:
    with app.app_context():
        return list(db.scalars(select(AuditEvent.details).where(AuditEvent.action == action)))


SERIES_FORM = {
    "title": "Permanence des élus",
    "start_time": "18:00",
    "end_time": "19:00",
    "repeat": "weekly",
    "weekdays": ["TU"],
    "ends": "count",
    "count": "5",
}


def test_one_date_changed_on_its_own_moves_alone(app, village, client, series):
    form = page(client, f"{AGENDA}/evenement/{series.id}/modifier?date=20261027T180000")
    assert "cette date seulement" in form
    assert 'value="2026-10-27"' in form  # the form shows that date's times

    response = edit(
        client,
        app,
        series.id,
        "20261027T180000",
        **{
            **SERIES_FORM,
            "start_date": "2026-10-27",
            "start_time": "20:00",
            "end_time": "21:30",
            "title": "Permanence exceptionnelle",
        },
        scope="occurrence",
    )
    assert response.status_code == 302
    override = next(e for e in events(app) if e.parent_id == series.id)
    assert response.headers["Location"].endswith(f"/evenement/{override.id}")
    assert override.uid == series.uid and override.recurrence_id == "20261027T180000"

    shown = page(client, f"{AGENDA}/evenement/{override.id}")
    assert "Permanence exceptionnelle" in shown and "a été modifiée à part" in shown
    month = page(client, f"{AGENDA}/?mois=2026-10")
    assert 'datetime="2026-10-27T20:00:00+01:00">20:00</time> Permanence exceptionnelle' in month
    assert 'datetime="2026-10-27T18:00:00+01:00"' not in month  # no longer at 18:00
    assert 'datetime="2026-10-20T18:00:00+02:00"' in month  # the others stay

    cal = ics_of(client, series.id)
    assert starts(cal, OCTOBER, DECEMBER) == [
        paris(13, 10, 18),
        paris(20, 10, 18),
        paris(27, 10, 20),  # after the clock change: 19:00 UTC
        paris(3, 11, 18),
        paris(10, 11, 18),
    ]
    [changed] = [c for c in cal.walk("VEVENT") if "RECURRENCE-ID" in c]
    assert changed["RECURRENCE-ID"].dt == paris(27, 10, 18)
    assert changed["RECURRENCE-ID"].params["TZID"] == "Europe/Paris"
    assert str(changed["SUMMARY"]) == "Permanence exceptionnelle"
    assert [d["recurrence_id"] for d in audit(app, "agenda.occurrence_updated")] == [
        "20261027T180000"
    ]

    # Changed again, the exception stays one row.
    edit(
        client,
        app,
        override.id,
        None,
        **{
            **SERIES_FORM,
            "repeat": "",
            "start_date": "2026-10-28",
            "start_time": "20:00",
            "end_time": "21:00",
            "title": "Permanence exceptionnelle",
        },
    )
    assert len(events(app)) == 2
    assert starts(ics_of(client, series.id), OCTOBER, DECEMBER)[2] == paris(28, 10, 20)


def test_this_date_and_the_following_cut_the_series(app, village, client, series):
    response = edit(
        client,
        app,
        series.id,
        "20261027T180000",
        **{**SERIES_FORM, "start_date": "2026-10-27", "start_time": "19:00", "end_time": "20:00"},
        place="Salle du conseil",
        scope="following",
    )
    assert response.status_code == 302
    old, new = events(app)
    assert old.id == series.id and new.uid != old.uid
    assert new.rrule.endswith("COUNT=3") or "COUNT=3" in new.rrule  # 5 in all, 2 before
    assert "UNTIL=" in old.rrule and "COUNT" not in old.rrule

    before = starts(ics_of(client, old.id), OCTOBER, DECEMBER)
    after = starts(ics_of(client, new.id), OCTOBER, DECEMBER)
    assert before == [paris(13, 10, 18), paris(20, 10, 18)]
    assert after == [paris(27, 10, 19), paris(3, 11, 19), paris(10, 11, 19)]
    assert page(client, f"{AGENDA}/evenement/{new.id}").count("Salle du conseil") >= 1
    assert audit(app, "agenda.series_split")[0]["at"] == "20261027T180000"


def test_all_dates_from_one_move_the_series_by_the_same_shift(app, village, client, series):
    # Cancel 3 November, move 27 October alone; then move every date by half an hour,
    # starting from the form of 20 October.
    client.submit(
        f"{AGENDA}/evenement/{series.id}/supprimer",
        {"date": "20261103T180000", "scope": "occurrence"},
        page=f"{AGENDA}/evenement/{series.id}/supprimer?date=20261103T180000",
    )
    edit(
        client,
        app,
        series.id,
        "20261027T180000",
        **{**SERIES_FORM, "start_date": "2026-10-27", "start_time": "08:00", "end_time": "09:00"},
        scope="occurrence",
    )
    response = edit(
        client,
        app,
        series.id,
        "20261020T180000",
        **{**SERIES_FORM, "start_date": "2026-10-20", "start_time": "18:30", "end_time": "19:30"},
        scope="all",
    )
    assert response.status_code == 302
    with app.app_context():
        moved = db.get(Event, series.id)
        assert services.local_start(moved) == paris(13, 10, 18, 30)  # still from 13 October
        assert moved.exdates == ["20261103T183000"]
        assert moved.overridden == ["20261027T183000"]
    assert starts(ics_of(client, series.id), OCTOBER, DECEMBER) == [
        paris(13, 10, 18, 30),
        paris(20, 10, 18, 30),
        paris(27, 10, 8),  # the date changed on its own keeps its own time
        paris(10, 11, 18, 30),
    ]


def test_deleting_a_changed_date_cancels_it_and_following_ends_the_series(
    app, village, client, series
):
    edit(
        client,
        app,
        series.id,
        "20261020T180000",
        **{**SERIES_FORM, "start_date": "2026-10-20", "start_time": "21:00", "end_time": "22:00"},
        scope="occurrence",
    )
    override = next(e for e in events(app) if e.parent_id == series.id)
    delete_page = page(client, f"{AGENDA}/evenement/{override.id}/supprimer")
    assert "sera supprimée de la série" in delete_page
    response = client.submit(
        f"{AGENDA}/evenement/{override.id}/supprimer",
        {"scope": "all"},
        page=f"{AGENDA}/evenement/{override.id}/supprimer",
    )
    assert response.headers["Location"].endswith(f"/evenement/{series.id}")
    cal = ics_of(client, series.id)
    assert paris(20, 10, 18) not in starts(cal, OCTOBER, DECEMBER)  # not brought back
    assert len(starts(cal, OCTOBER, DECEMBER)) == 4

    client.submit(
        f"{AGENDA}/evenement/{series.id}/supprimer",
        {"date": "20261103T180000", "scope": "following"},
        page=f"{AGENDA}/evenement/{series.id}/supprimer?date=20261103T180000",
    )
    assert starts(ics_of(client, series.id), OCTOBER, DECEMBER) == [
        paris(13, 10, 18),
        paris(27, 10, 18),
    ]
    [remaining] = events(app)
    assert remaining.exdates == ["20261020T180000"]


def test_what_cannot_be_changed_is_refused(app, village, client, series):
    # A date that is not one of the series.
    assert (
        client.get(f"{AGENDA}/evenement/{series.id}/modifier?date=20261028T180000").status_code
        == 404
    )
    # A scope that does not exist.
    response = edit(
        client,
        app,
        series.id,
        "20261020T180000",
        **{**SERIES_FORM, "start_date": "2026-10-20"},
        scope="everything",
    )
    assert response.status_code == 400
    assert events(app)[0].overridden == []
    # A date changed on its own does not repeat.
    edit(
        client,
        app,
        series.id,
        "20261020T180000",
        **{**SERIES_FORM, "start_date": "2026-10-20", "title": "Autre"},
        scope="occurrence",
    )
    override = next(e for e in events(app) if e.parent_id == series.id)
    with app.test_request_context():
        commune, maire = village.commune, db.get(type(village.maire), village.maire.id)
        data = services.validate(
            commune,
            maire,
            event_form(app, **{**SERIES_FORM, "start_date": "2026-10-21", "repeat": "daily"}),
        )
        with pytest.raises(services.EventError) as error:
            services.update_event(commune, maire, db.get(Event, override.id), data)
        assert "modifiez la série" in error.value.message
    # A citizen may not change a date, nor even see this members' series.
    client.post("/deconnexion", data={"csrf_token": client.csrf_token()})
    client.login(village.habitant.email)
    assert (
        client.get(f"{AGENDA}/evenement/{series.id}/modifier?date=20261020T180000").status_code
        == 404
    )
