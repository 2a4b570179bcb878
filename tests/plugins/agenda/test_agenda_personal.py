"""Each member's own calendar: they alone write it, and each event says who sees it; a
private one is theirs (and its attendees') only, hidden even from the commune's writers."""

from __future__ import annotations

import re
from html import unescape

from sqlalchemy import select

from core.db import db
from plugins.agenda.models import Calendar
from tests.plugins.agenda.helpers import (
    AGENDA,
    calendar_id,
    count_events,
    create,
    events,
    page,
    parse,
    says,
)

MONTH = f"{AGENDA}/?mois=2026-10"


def own_calendar(app, user) -> Calendar:
    with app.app_context():
        return db.scalar(select(Calendar).where(Calendar.owner_id == user.id))


def test_a_councillor_keeps_their_own_calendar_and_chooses_who_sees_each_event(
    app, village, client
):
    nadia = village.conseiller
    client.login(nadia.email)
    # Made on her first visit, offered first in the legend after the commune's.
    month = page(client, MONTH)
    assert says(month, "Agenda de Nadia Benali")
    mine = own_calendar(app, nadia)
    assert mine is not None and mine.kind == "personnel" and mine.default_visibility == "private"
    form = page(client, f"{AGENDA}/nouvel-evenement")
    visibility = re.search(r'<select [^>]*name="visibility"[^>]*>(.*?)</select>', form, re.S)[1]
    assert re.search(r'<option (?=[^>]*selected)(?=[^>]*value="private")', visibility)
    for title, visibility in [
        ("Rendez-vous chez le dentiste", "private"),
        ("Préparation de la commission", "members"),
        ("Permanence de l'élue au marché", "public"),
    ]:
        response = create(client, app, calendar=str(mine.id), title=title, visibility=visibility)
        assert response.status_code == 302, title
    assert all(e.calendar_id == mine.id for e in events(app))
    assert says(page(client, MONTH), "Rendez-vous chez le dentiste")

    def sees(user) -> set[str]:
        other = app.test_client()
        other.login(user.email)
        html = page(other, MONTH)
        return {
            title
            for title in (
                "Rendez-vous chez le dentiste",
                "Préparation de la commission",
                "Permanence de l'élue au marché",
            )
            if says(html, title)
        }

    # The maire writes the commune's calendars, yet does not see Nadia's private event.
    assert sees(village.maire) == {"Préparation de la commission", "Permanence de l'élue au marché"}
    assert sees(village.adjoint) == {
        "Préparation de la commission",
        "Permanence de l'élue au marché",
    }
    assert sees(village.habitant) == {"Permanence de l'élue au marché"}
    private = next(e for e in events(app) if e.visibility == "private")
    maire = app.test_client()
    maire.login(village.maire.email)
    assert maire.get(f"{AGENDA}/evenement/{private.id}").status_code == 404
    # Nor may the maire change her members' event, though it shows to them.
    shared = next(e for e in events(app) if e.visibility == "members")
    assert maire.get(f"{AGENDA}/evenement/{shared.id}").status_code == 200
    refused = maire.submit(
        f"{AGENDA}/evenement/{shared.id}/modifier",
        {"calendar": str(mine.id), "title": "Piraté", "start_date": "2026-10-20"},
        page=f"{AGENDA}/evenement/{shared.id}",
    )
    assert refused.status_code == 403
    assert maire.submit(f"{AGENDA}/evenement/{shared.id}/supprimer", {}).status_code == 403
    assert count_events(app) == 3 and "Piraté" not in {e.title for e in events(app)}


def test_nobody_else_writes_into_a_members_own_calendar(app, village, client):
    nadia = village.conseiller
    client.login(nadia.email)
    page(client, MONTH)
    mine = own_calendar(app, nadia)
    # Another member's own calendar is not offered to the maire, and not taken from a form.
    client.post("/deconnexion", data={"csrf_token": client.csrf_token()})
    client.login(village.maire.email)
    assert "Agenda de Nadia Benali" not in page(client, f"{AGENDA}/nouvel-evenement")
    refused = create(client, app, calendar=str(mine.id))
    assert refused.status_code == 400
    assert says(refused.get_data(as_text=True), "Choisissez un agenda de la commune.")
    assert client.submit(f"{AGENDA}/agendas/{mine.id}/abonnement", {}).status_code == 404
    # Nadia does not write the council's calendar.
    client.post("/deconnexion", data={"csrf_token": client.csrf_token()})
    client.login(nadia.email)
    refused = create(client, app, calendar=str(calendar_id(app, "conseil")))
    assert refused.status_code == 403
    assert count_events(app) == 0


def test_an_attendee_sees_a_private_event_of_someone_s_own_calendar(app, village, client):
    nadia = village.conseiller
    client.login(nadia.email)
    page(client, MONTH)
    mine = own_calendar(app, nadia)
    response = create(
        client,
        app,
        calendar=str(mine.id),
        title="Déjeuner de travail",
        visibility="private",
        attendees=[str(village.adjoint.id)],
    )
    assert response.status_code == 302
    for user, expected in [(village.adjoint, True), (village.agent, False)]:
        other = app.test_client()
        other.login(user.email)
        assert says(page(other, MONTH), "Déjeuner de travail") is expected


def test_her_calendar_s_feed_holds_what_she_shares_and_her_planning_all_of_it(app, village, client):
    nadia = village.conseiller
    client.login(nadia.email)
    page(client, MONTH)
    mine = own_calendar(app, nadia)
    for title, visibility in [("Dentiste", "private"), ("Réunion de quartier", "members")]:
        create(client, app, calendar=str(mine.id), title=title, visibility=visibility)
    renamed = client.submit(
        f"{AGENDA}/agendas/{mine.id}",
        {f"c{mine.id}-name": "Mes rendez-vous d'élue", f"c{mine.id}-colour": "rouge"},
        page=f"{AGENDA}/agendas",
    )
    assert renamed.status_code == 302
    made = client.submit(f"{AGENDA}/agendas/{mine.id}/abonnement", {}, page=f"{AGENDA}/agendas")
    assert made.status_code == 200
    address = unescape(
        re.search(r'id="adresse-abonnement" [^>]*value="([^"]+)"', made.get_data(as_text=True))[1]
    )
    phone = app.test_client()
    feed = parse(phone.get(address.split("viatic.test", 1)[1]).data)
    assert str(feed["X-WR-CALNAME"]) == "Mes rendez-vous d'élue — Faux-Villecerf"
    assert {str(e["SUMMARY"]) for e in feed.walk("VEVENT")} == {"Réunion de quartier"}
    planning = page(client, f"{AGENDA}/mon-planning?du=2026-10-20")
    assert says(planning, "Dentiste") and says(planning, "Réunion de quartier")


def test_an_app_writes_into_the_councillor_s_own_calendar(app, village, client, bearer):
    nadia = village.conseiller
    token = bearer(nadia, "agenda:read", "agenda:write")
    api = "/api/v1/c/10145/agenda"
    listed = client.get(f"{api}/agendas", headers=token).json["calendars"]
    [mine] = [c for c in listed if c["personal"]]
    assert mine["writable"] and mine["name"] == "Agenda de Nadia Benali"
    body = {
        "calendar": mine["id"],
        "title": "Visite de l'école",
        "start": "2026-10-13T09:00",
        "end": "2026-10-13T10:00",
        "visibility": "members",
    }
    created = client.post(f"{api}/evenements", json=body, headers=token)
    assert created.status_code == 201, created.json
    council = next(c["id"] for c in listed if c["kind"] == "conseil")
    refused = client.post(f"{api}/evenements", json={**body, "calendar": council}, headers=token)
    assert refused.status_code == 403
    assert count_events(app) == 1


def test_a_member_who_loses_the_right_no_longer_writes_their_calendar(app, village, client):
    from core import rights
    from core.models import Commune

    nadia = village.conseiller
    client.login(nadia.email)
    page(client, MONTH)
    mine = own_calendar(app, nadia)
    with app.app_context():
        commune = db.get(Commune, village.commune.id)
        permission = app.extensions["viatic.plugins"].permissions["agenda.personal"]
        rights.set_role_permission(commune, "conseiller", permission, False)
        db.commit()
    assert "Nouvel événement" not in page(client, MONTH)
    refused = create(client, app, calendar=str(mine.id))
    assert refused.status_code == 403
    assert count_events(app) == 0


def test_the_caldav_page_offers_the_commune_s_calendars_only(app, village, client, enable_module):
    enable_module(village.commune, "caldav")
    client.login(village.maire.email)
    page(client, MONTH)  # the maire's own calendar exists
    html = page(client, "/c/10145/caldav/")
    assert "Conseil municipal" in html and "Agenda de Claire Martin" not in html
