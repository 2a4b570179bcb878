"""Appointments, driven through the pages: the maire proposes two slots to two members; one
says which suits her, the other declines and proposes another time; the maire sees the
answers, fixes a slot, and the meeting is in the agenda for those who come. Every step
notifies; nobody else sees it; bad input changes nothing."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from core.db import db
from core.models import Notification
from plugins.agenda.models import Appointment, Attendee, Event, Slot
from tests.plugins.agenda.helpers import AGENDA, calendar_id, page, says

NEW = f"{AGENDA}/rendez-vous/nouveau"


def proposal(app, *invitees, **changes):
    form = {
        "title": "Point sur le budget",
        "place": "Bureau du maire",
        "description": "Préparer la commission des finances.",
        "calendar": str(calendar_id(app, "commission")),
        "invitees": [str(p.id) for p in invitees],
        "slot1_date": "2030-03-12",
        "slot1_start": "09:00",
        "slot1_end": "10:00",
        "slot2_date": "2030-03-14",
        "slot2_start": "18:00",
        "slot2_end": "19:00",
    }
    form.update(changes)
    return form


def titles_for(app, person) -> list[str]:
    with app.app_context():
        return list(db.scalars(select(Notification.title).where(Notification.user_id == person.id)))


def sign_in(client, person):
    client.post("/deconnexion", data={"csrf_token": client.csrf_token()})
    client.login(person.email)


def test_an_appointment_from_proposal_to_the_agenda(app, village, client, make_member):
    nadia, julie = village.conseiller, village.agent
    client.login(village.maire.email)
    response = client.submit(NEW, proposal(app, nadia, julie))
    assert response.status_code == 302
    url = response.headers["Location"]
    with app.app_context():
        appointment = db.scalar(select(Appointment))
        first, second = (s.id for s in appointment.slots)
    assert "Claire Martin vous propose un rendez-vous : Point sur le budget" in titles_for(
        app, nadia
    )

    sign_in(client, nadia)
    shown = page(client, url)
    assert "le mardi 12 mars 2030 de 09:00 à 10:00" in shown
    client.submit(url, {"available": [str(second)], "comment": "Plutôt le soir"})
    sign_in(client, julie)
    client.submit(
        url,
        {"proposal_date": "2030-03-13", "proposal_start": "17:00", "proposal_end": "18:00"},
    )
    assert "Nadia Benali a répondu : Point sur le budget" in titles_for(app, village.maire)

    sign_in(client, village.maire)
    answers = page(client, url)
    assert "1 personne : Nadia Benali" in answers
    assert "proposé par Julie Morel" in answers
    assert "« Plutôt le soir »" in answers
    # Somebody not invited does not see it, even a writer of the agenda.
    sign_in(client, village.adjoint)
    assert client.get(url).status_code == 404

    sign_in(client, village.maire)
    fixed = client.post(f"{url}/fixer?slot={second}", data={"csrf_token": client.csrf_token(url)})
    assert fixed.status_code == 302
    with app.app_context():
        event = db.scalar(select(Event))
        assert (event.visibility, event.title) == ("private", "Point sur le budget")
        coming = set(db.scalars(select(Attendee.user_id).where(Attendee.event_id == event.id)))
    assert coming == {village.maire.id, nadia.id}
    assert any(
        t.startswith("Rendez-vous fixé : Point sur le budget") for t in titles_for(app, julie)
    )

    # Nadia, who is not a writer of the agenda, sees the private meeting she attends.
    sign_in(client, nadia)
    assert says(page(client, f"{AGENDA}/evenement/{event.id}"), "Point sur le budget")
    assert "Point sur le budget" in page(client, f"{AGENDA}/mon-planning?du=2030-03-10")
    # A conseiller who was not invited does not.
    sign_in(client, make_member(village.commune, "conseiller"))
    assert client.get(f"{AGENDA}/evenement/{event.id}").status_code == 404
    # Once fixed, it waits for no more answers.
    sign_in(client, julie)
    refused = client.submit(url, {"available": [str(first)]})
    assert refused.status_code == 400
    assert says(refused.get_data(as_text=True), "Ce rendez-vous n'attend plus de réponse.")


def test_bad_proposals_are_refused_and_nothing_is_kept(
    app, village, client, other_commune, make_member
):
    stranger = make_member(other_commune, "maire")
    client.login(village.maire.email)
    cases = [
        (proposal(app), "Invitez au moins une personne."),
        (proposal(app, village.habitant), "On ne peut inviter que des élus et des agents"),
        (proposal(app, stranger), "On ne peut inviter que des élus et des agents"),
        (
            proposal(app, village.conseiller, slot1_end="08:00"),
            "La fin du créneau doit être après son début.",
        ),
        (
            proposal(app, village.conseiller, slot1_date="2020-01-01"),
            "Ce créneau est déjà passé.",
        ),
        (
            proposal(
                app,
                village.conseiller,
                slot1_date="",
                slot1_start="",
                slot1_end="",
                slot2_date="",
                slot2_start="",
                slot2_end="",
            ),
            "Proposez au moins un créneau.",
        ),
        (proposal(app, village.conseiller, title=""), "Donnez un objet au rendez-vous."),
    ]
    for form, message in cases:
        response = client.submit(NEW, form)
        assert response.status_code == 400, message
        assert says(response.get_data(as_text=True), message), message
    with app.app_context():
        assert db.scalar(select(func.count()).select_from(Appointment)) == 0
        assert db.scalar(select(func.count()).select_from(Slot)) == 0


def test_only_the_organiser_fixes_and_only_members_organise(app, village, client):
    client.login(village.maire.email)
    url = client.submit(NEW, proposal(app, village.conseiller)).headers["Location"]
    slot = re.search(r"fixer\?slot=(\d+)", page(client, url)).group(1)

    sign_in(client, village.conseiller)
    assert "Fixer ce créneau" not in page(client, url)
    forced = client.post(f"{url}/fixer?slot={slot}", data={"csrf_token": client.csrf_token(url)})
    assert forced.status_code == 403
    # Citizens do not arrange meetings with the council here.
    sign_in(client, village.habitant)
    assert client.get(NEW).status_code == 403
    assert client.get(url).status_code == 403
    # Another commune's URL does not lead to it.
    sign_in(client, village.maire)
    assert client.get(url.replace("/c/10145/", "/c/10124/")).status_code in (403, 404)
    with app.app_context():
        assert db.scalar(select(func.count()).select_from(Event)) == 0
