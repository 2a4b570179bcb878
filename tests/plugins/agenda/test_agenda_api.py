"""The agenda's JSON API, as a mobile app uses it: a personal access token with the agenda's
scopes, a period's dates expanded on both sides of the clock change, creating, changing one
date of a series, deleting one; bad input answered with a problem naming the field."""

from __future__ import annotations

from typing import Any

import pytest

from core.db import db
from tests.plugins.agenda.helpers import calendar_id, count_events, events

API = "/api/v1/c/10145/agenda"
AGENDA_PAGES = "/c/10145/agenda"


def permanence(app) -> dict[str, Any]:
    return {
        "calendar": calendar_id(app, "conseil"),
        "title": "Permanence des élus",
        "start": "2026-10-13T18:00",
        "end": "2026-10-13T19:00",
        "place": "Mairie",
        "rrule": "FREQ=WEEKLY;COUNT=5",
    }


def test_an_app_creates_a_series_and_reads_its_dates_across_the_clock_change(
    app, village, client, bearer
):
    writer = bearer(village.maire, "agenda:read", "agenda:write")
    created = client.post(f"{API}/evenements", json=permanence(app), headers=writer)
    assert created.status_code == 201, created.json
    event = created.json
    assert created.headers["Location"].endswith(f"/evenements/{event['id']}")
    assert event["start"] == "2026-10-13T18:00:00+02:00"
    assert event["rrule"] == "FREQ=WEEKLY;COUNT=5"

    reader = bearer(village.conseiller, "agenda:read")
    listed = client.get(f"{API}/evenements?du=2026-10-01&au=2026-12-01", headers=reader)
    assert listed.status_code == 200
    assert [o["start"] for o in listed.json["occurrences"]] == [
        "2026-10-13T18:00:00+02:00",
        "2026-10-20T18:00:00+02:00",
        "2026-10-27T18:00:00+01:00",
        "2026-11-03T18:00:00+01:00",
        "2026-11-10T18:00:00+01:00",
    ]
    assert listed.json["occurrences"][2]["date"] == "20261027T180000"
    calendars = client.get(f"{API}/agendas", headers=reader).json
    # A councillor writes their own calendar only.
    assert {(c["kind"], c["personal"], c["writable"]) for c in calendars["calendars"]} == {
        ("conseil", False, False),
        ("commission", False, False),
        ("evenements", False, False),
        ("personnel", True, True),
    }
    assert calendars["can_write"] is True


def test_one_date_is_changed_then_another_deleted(app, village, client, bearer):
    writer = bearer(village.maire, "agenda:read", "agenda:write")
    series = client.post(f"{API}/evenements", json=permanence(app), headers=writer).json

    changed = client.patch(
        f"{API}/evenements/{series['id']}",
        json={
            "scope": "occurrence",
            "date": "20261027T180000",
            "start": "2026-10-27T20:00",
            "end": "2026-10-27T21:00",
            "title": "Permanence du soir",
        },
        headers=writer,
    )
    assert changed.status_code == 200, changed.json
    assert changed.json["series_id"] == series["id"]
    assert changed.json["recurrence_id"] == "20261027T180000"

    deleted = client.delete(
        f"{API}/evenements/{series['id']}?scope=occurrence&date=20261103T180000", headers=writer
    )
    assert deleted.status_code == 204
    listed = client.get(f"{API}/evenements?du=2026-10-01&au=2026-12-01", headers=writer).json
    assert [(o["title"], o["start"]) for o in listed["occurrences"]] == [
        ("Permanence des élus", "2026-10-13T18:00:00+02:00"),
        ("Permanence des élus", "2026-10-20T18:00:00+02:00"),
        ("Permanence du soir", "2026-10-27T20:00:00+01:00"),
        ("Permanence des élus", "2026-11-10T18:00:00+01:00"),
    ]
    # A PATCH sends only what changes: the rest stays.
    renamed = client.patch(
        f"{API}/evenements/{series['id']}", json={"place": "Salle du conseil"}, headers=writer
    )
    assert renamed.json["place"] == "Salle du conseil"
    assert renamed.json["rrule"] == "FREQ=WEEKLY;COUNT=5"
    assert renamed.json["start"] == "2026-10-13T18:00:00+02:00"


def test_an_all_day_event_ends_the_day_after_as_in_icalendar(app, village, client, bearer):
    writer = bearer(village.maire, "agenda:write", "agenda:read")
    body = {
        "calendar": calendar_id(app, "evenements"),
        "title": "Fête du village",
        "start": "2026-07-13",
        "end": "2026-07-15",
    }
    created = client.post(f"{API}/evenements", json=body, headers=writer).json
    assert (created["all_day"], created["start"], created["end"]) == (
        True,
        "2026-07-13",
        "2026-07-15",
    )
    again = client.patch(f"{API}/evenements/{created['id']}", json={}, headers=writer).json
    assert again["end"] == "2026-07-15"  # unchanged by a round trip


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"end": "2026-10-13T17:00"}, "end", "La fin doit être après le début."),
        ({"start": "13/10/2026 18h"}, "start", "n'est pas une date ISO 8601"),
        ({"rrule": "FREQ=HOURLY"}, "rrule", "quotidienne, hebdomadaire"),
        ({"title": ""}, "title", "Donnez un titre"),
        ({"calendar": 999_999}, "calendar", "Choisissez un agenda de la commune."),
    ],
)
def test_bad_input_is_a_problem_naming_the_field(
    app, village, client, bearer, change, field, message
):
    writer = bearer(village.maire, "agenda:write")
    response = client.post(f"{API}/evenements", json={**permanence(app), **change}, headers=writer)
    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"
    assert response.json["field"] == field
    assert message in response.json["detail"]
    assert count_events(app) == 0


def test_periods_scopes_and_rights(app, village, client, bearer, other_commune, make_member):
    reader = bearer(village.conseiller, "agenda:read")
    too_long = client.get(f"{API}/evenements?du=2026-01-01&au=2027-06-01", headers=reader)
    assert too_long.status_code == 400 and too_long.json["field"] == "au"
    assert client.get(f"{API}/evenements?du=demain", headers=reader).json["field"] == "du"

    # A token without the write scope, a citizen, a member of another commune.
    assert client.post(f"{API}/evenements", json=permanence(app), headers=reader).status_code == 403
    citizen = bearer(village.habitant, "agenda:read", "agenda:write")
    assert (
        client.post(f"{API}/evenements", json=permanence(app), headers=citizen).status_code == 403
    )
    stranger = make_member(other_commune, "maire")
    outsider = bearer(stranger, "agenda:read", "agenda:write")
    assert client.get(f"{API}/evenements", headers=outsider).status_code in (403, 404)
    assert count_events(app) == 0

    # Deleting one date needs its date; a date that is not one is refused.
    writer = bearer(village.maire, "agenda:write", "agenda:read")
    series = client.post(f"{API}/evenements", json=permanence(app), headers=writer).json
    no_date = client.delete(f"{API}/evenements/{series['id']}?scope=occurrence", headers=writer)
    assert no_date.status_code == 400 and no_date.json["field"] == "date"
    wrong = client.delete(
        f"{API}/evenements/{series['id']}?scope=occurrence&date=20261014T180000", headers=writer
    )
    assert wrong.status_code == 400
    assert [e.exdates for e in events(app)] == [[]]


def test_an_invitee_answers_an_appointment_from_the_app(app, village, client, bearer):
    from sqlalchemy import select

    from plugins.agenda.models import Appointment
    from tests.plugins.agenda.test_agenda_appointments import NEW, proposal, sign_in

    nadia, julie = village.conseiller, village.agent
    client.login(village.maire.email)
    assert client.submit(NEW, proposal(app, nadia, julie)).status_code == 302
    with app.app_context():
        appointment = db.scalar(select(Appointment))
        first, second = (s.id for s in appointment.slots)
    url = f"{API}/rendez-vous/{appointment.id}"

    phone = bearer(nadia, "agenda:read", "agenda:write")
    listed = client.get(f"{API}/rendez-vous", headers=phone)
    assert listed.status_code == 200
    [mine] = listed.json["appointments"]
    assert (mine["title"], mine["organiser"], mine["my_answer"]) == (
        "Point sur le budget",
        "Claire Martin",
        "pending",
    )
    assert [s["start"] for s in mine["slots"]] == [
        "2030-03-12T09:00:00+01:00",
        "2030-03-14T18:00:00+01:00",
    ]

    answered = client.post(
        f"{url}/reponse", json={"available": [second], "comment": "Le jeudi"}, headers=phone
    )
    assert answered.status_code == 200, answered.json
    assert (answered.json["my_answer"], answered.json["my_slots"]) == ("accepted", [second])
    assert answered.json["slots"][1]["suits"] == [nadia.name]

    # Julie declines and proposes another time, which is offered to everyone.
    other = bearer(julie, "agenda:read", "agenda:write")
    proposed = client.post(
        f"{url}/reponse",
        json={
            "available": [],
            "proposal": {"start": "2030-03-13T14:00", "end": "2030-03-13T15:00"},
        },
        headers=other,
    )
    assert proposed.status_code == 200, proposed.json
    assert proposed.json["my_answer"] == "proposed"
    assert [s["start"] for s in proposed.json["slots"]][1] == "2030-03-13T14:00:00+01:00"
    # The organiser's page shows the answers.
    sign_in(client, village.maire)
    page = client.get(f"{AGENDA_PAGES}/rendez-vous/{appointment.id}").get_data(as_text=True)
    assert "Le jeudi" in page

    # Bad input: a slot of no appointment, a proposal ending another day, not a list.
    for body, field in (
        ({"available": [first + 999]}, "answer"),
        (
            {"available": [], "proposal": {"start": "2030-03-13T14:00", "end": "2030-03-14T15:00"}},
            "proposal",
        ),
        ({"available": "tous"}, "available"),
    ):
        refused = client.post(f"{url}/reponse", json=body, headers=phone)
        assert refused.status_code == 400 and refused.json["field"] == field, refused.json
        assert refused.json["detail"]
    # A read-only token may not answer; someone not invited does not see it.
    assert (
        client.post(
            f"{url}/reponse", json={"available": []}, headers=bearer(nadia, "agenda:read")
        ).status_code
        == 403
    )
    outsider = bearer(village.adjoint, "agenda:read", "agenda:write")
    assert client.get(url, headers=outsider).status_code == 404
    assert (
        client.post(f"{url}/reponse", json={"available": []}, headers=outsider).status_code == 404
    )
    assert client.get(url, headers=bearer(village.habitant, "agenda:read")).status_code == 403
    # Nadia's answer is what she sent last, once.
    with app.app_context():
        from plugins.agenda.models import Invitee

        answers = {i.user_id: i.answer for i in db.scalars(select(Invitee))}
    assert answers == {nadia.id: "accepted", julie.id: "proposed"}
