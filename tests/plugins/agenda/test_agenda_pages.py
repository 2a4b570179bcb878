"""The agenda through its pages, as the members of a commune use it."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from markupsafe import escape
from sqlalchemy import select

from core.db import db
from core.models import AuditEvent
from plugins.agenda import services
from plugins.agenda.models import Calendar
from tests.plugins.agenda.helpers import (
    AGENDA,
    audit_actions,
    calendar_id,
    calendars,
    count_events,
    create,
    event_form,
    events,
    page,
    says,
)


def test_enabling_the_agenda_creates_the_communes_calendars_once(
    app, client, commune, make_member, enable_module
):
    maire = make_member(commune, "maire", admin=True)
    enable_module(commune, "agenda")
    names = [(c.kind, c.name, c.colour) for c in calendars(app)]
    assert names == [
        ("conseil", "Conseil municipal", "bleu"),
        ("commission", "Commissions", "vert"),
        ("evenements", "Événements de la mairie", "violet"),
    ]
    client.login(maire.email)
    create(client, app, title="Séance du conseil")
    modules_page = "/c/10145/admin/modules"
    assert (
        client.submit("/c/10145/admin/modules/agenda/desactiver", page=modules_page).status_code
        == 302
    )
    assert client.get(f"{AGENDA}/").status_code == 404
    assert (
        client.submit("/c/10145/admin/modules/agenda/activer", page=modules_page).status_code == 302
    )
    # Enabling again adds no calendar, and the event is still there.
    assert len(calendars(app)) == 3
    assert "Séance du conseil" in page(client, f"{AGENDA}/?mois=2026-10")
    listing = page(client, f"{AGENDA}/agendas")
    for name in ("Conseil municipal", "Commissions", "Événements de la mairie"):
        assert escape(name) in listing


def test_a_writer_creates_a_timed_event_and_finds_it_everywhere(app, village, client):
    client.login(village.agent.email)
    form = page(client, f"{AGENDA}/nouvel-evenement")
    assert '<label for="title">Titre</label>' in form
    sent = create(
        client,
        app,
        title="Commission des finances",
        kind="commission",
        visibility="members",
        start_date="2026-10-14",
        start_time="20:30",
        end_time="22:00",
        end_date="",
        place="Mairie, salle du conseil",
        description="Préparation du budget.\r\nOrdre du jour en mairie.",
    )
    assert sent.status_code == 302
    [event] = events(app)
    assert sent.headers["Location"].endswith(f"{AGENDA}/evenement/{event.id}")
    assert event.start_at == dt.datetime(2026, 10, 14, 18, 30, tzinfo=dt.UTC)  # 20:30 CEST
    assert event.end_at == dt.datetime(2026, 10, 14, 20, 0, tzinfo=dt.UTC)
    assert (event.timezone, event.sequence, event.rrule) == ("Europe/Paris", 0, None)
    assert event.description == "Préparation du budget.\nOrdre du jour en mairie."
    assert audit_actions(app) == ["agenda.event_created"]

    shown = page(client, f"{AGENDA}/evenement/{event.id}")
    assert "mercredi 14 octobre 2026, 20:30 – 22:00" in shown
    assert "Mairie, salle du conseil" in shown
    month = page(client, f"{AGENDA}/?mois=2026-10")
    assert "<caption>Octobre 2026</caption>" in month
    assert (
        '<time datetime="2026-10-14T20:30:00+02:00">20:30</time> Commission des finances' in month
    )
    found = page(client, "/c/10145/recherche?q=salle du conseil")
    assert f'href="{AGENDA}/evenement/{event.id}"' in found


def test_a_weekly_meeting_stays_at_18_00_across_the_october_clock_change(app, village, client):
    client.login(village.maire.email)
    sent = create(
        client,
        app,
        title="Permanence des élus",
        start_date="2026-10-13",
        start_time="18:00",
        end_time="19:30",
        repeat="weekly",
        weekdays=["TU"],
        ends="until",
        until="2026-11-10",
    )
    assert sent.status_code == 302
    [event] = events(app)
    assert event.rrule == "FREQ=WEEKLY;BYDAY=TU;UNTIL=20261110T225959Z"
    october = page(client, f"{AGENDA}/?mois=2026-10")
    # Summer time (UTC+2) before Sunday 25 October, winter time (UTC+1) after: 18:00 both.
    for moment in (
        "2026-10-13T18:00:00+02:00",
        "2026-10-20T18:00:00+02:00",
        "2026-10-27T18:00:00+01:00",
    ):
        assert f'<time datetime="{moment}">18:00</time> Permanence des élus' in october, moment
    # Three Tuesdays in the grid, then in the list of days that a phone shows instead.
    assert october.count('Permanence des élus<span class="visually-hidden">') == 3
    assert october.count("Permanence des élus</a>") == 3
    assert "mardi 27 octobre 2026" in october
    november = page(client, f"{AGENDA}/?mois=2026-11")
    assert '<time datetime="2026-11-10T18:00:00+01:00">18:00</time>' in november
    assert "2026-11-17T18:00" not in november  # after UNTIL
    shown = page(client, f"{AGENDA}/evenement/{event.id}?date=20261027T180000")
    assert "mardi 27 octobre 2026, 18:00 – 19:30" in shown
    assert "Toutes les semaines le mardi, jusqu&#39;au 10 novembre 2026" in shown


def test_a_monthly_council_on_the_first_tuesday_and_an_all_day_event(app, village, client):
    client.login(village.adjoint.email)
    create(
        client,
        app,
        title="Conseil municipal",
        start_date="2026-10-06",
        start_time="20:30",
        end_time="22:30",
        repeat="monthly",
        monthly_by="weekday",
        ends="count",
        count="3",
    )
    create(
        client,
        app,
        title="Brocante",
        kind="evenements",
        all_day="y",
        start_date="2026-11-07",
        start_time="",
        end_date="2026-11-08",
        end_time="",
    )
    council, fair = events(app)
    assert council.rrule == "FREQ=MONTHLY;BYDAY=1TU;COUNT=3"
    assert council.recurrence_end_at == dt.datetime(2026, 12, 1, 21, 30, tzinfo=dt.UTC)
    assert fair.all_day
    november = page(client, f"{AGENDA}/?mois=2026-11")
    assert '<time datetime="2026-11-03T20:30:00+01:00">20:30</time> Conseil municipal' in november
    assert "Brocante" in november
    assert "du samedi 7 novembre 2026 au dimanche 8 novembre 2026" in page(
        client, f"{AGENDA}/evenement/{fair.id}"
    )
    january = page(client, f"{AGENDA}/?mois=2027-01")
    assert "2027-01-05T20:30" not in january  # three times only
    shown = page(client, f"{AGENDA}/evenement/{council.id}")
    assert "Tous les mois le premier mardi, 3 fois" in shown


def test_editing_bumps_the_sequence_and_changes_every_occurrence(app, village, client):
    client.login(village.maire.email)
    create(client, app, repeat="weekly", weekdays=["TU"], ends="count", count="4")
    [event] = events(app)
    edit_url = f"{AGENDA}/evenement/{event.id}/modifier"
    form = page(client, edit_url)
    assert 'value="Réunion publique"' in form
    assert re.search(r'value="TU"\s+checked', form)
    changed = client.submit(
        edit_url,
        event_form(
            app,
            title="Réunion de quartier",
            repeat="weekly",
            weekdays=["TU"],
            ends="count",
            count="4",
        ),
    )
    assert changed.status_code == 302
    [event] = events(app)
    assert (event.title, event.sequence) == ("Réunion de quartier", 1)
    # Saving the same values again is no change: no new SEQUENCE, no audit record.
    client.submit(
        edit_url,
        event_form(
            app,
            title="Réunion de quartier",
            repeat="weekly",
            weekdays=["TU"],
            ends="count",
            count="4",
        ),
    )
    assert events(app)[0].sequence == 1
    assert audit_actions(app) == ["agenda.event_created", "agenda.event_updated"]
    ics = client.get(f"{AGENDA}/evenement/{event.id}.ics").get_data(as_text=True)
    assert "SEQUENCE:1\r\n" in ics
    assert "SUMMARY:Réunion de quartier\r\n" in ics
    november = page(client, f"{AGENDA}/?mois=2026-11")
    for moment in ("2026-10-27T18:00:00+01:00", "2026-11-03T18:00:00+01:00", "2026-11-10T18"):
        assert f'<time datetime="{moment}' in november, moment


def test_deleting_one_occurrence_adds_an_exdate_and_keeps_the_others(app, village, client):
    client.login(village.maire.email)
    create(client, app, repeat="weekly", weekdays=["TU"], ends="count", count="3")
    [event] = events(app)
    confirm = page(client, f"{AGENDA}/evenement/{event.id}/supprimer?date=20261027T180000")
    assert "Supprimer cette occurrence seulement" in confirm
    assert "mardi 27 octobre 2026, 18:00 – 19:00" in confirm
    removed = client.submit(
        f"{AGENDA}/evenement/{event.id}/supprimer",
        {"date": "20261027T180000", "scope": "occurrence"},
        page=f"{AGENDA}/evenement/{event.id}/supprimer?date=20261027T180000",
    )
    assert removed.status_code == 302
    [event] = events(app)
    assert event.exdates == ["20261027T180000"]
    assert event.sequence == 1
    october = page(client, f"{AGENDA}/?mois=2026-10")
    assert "2026-10-20T18:00:00+02:00" in october
    assert "2026-10-27T18:00" not in october
    assert "2026-11-03T18:00:00+01:00" in page(client, f"{AGENDA}/?mois=2026-11")
    ics = client.get(f"{AGENDA}/evenement/{event.id}.ics").get_data(as_text=True)
    assert "EXDATE;TZID=Europe/Paris:20261027T180000\r\n" in ics

    # A date that is not an occurrence is refused, and nothing changes.
    refused = client.submit(
        f"{AGENDA}/evenement/{event.id}/supprimer",
        {"date": "20261028T180000", "scope": "occurrence"},
        page=f"{AGENDA}/evenement/{event.id}/supprimer",
    )
    assert refused.status_code == 400
    assert escape("Cette date n'est pas une occurrence de l'événement.") in refused.get_data(
        as_text=True
    )
    assert events(app)[0].exdates == ["20261027T180000"]

    # Then the whole series.
    gone = client.submit(
        f"{AGENDA}/evenement/{event.id}/supprimer",
        {"scope": "all"},
        page=f"{AGENDA}/evenement/{event.id}/supprimer",
    )
    assert gone.status_code == 302
    assert events(app) == []
    assert audit_actions(app) == [
        "agenda.event_created",
        "agenda.event_deleted",
    ]
    with app.app_context():
        assert db.scalar(
            select(AuditEvent.id).where(AuditEvent.action == "agenda.occurrence_deleted")
        )


def test_a_citizen_sees_only_the_public_events(app, village, client):
    writer = app.test_client()
    writer.login(village.maire.email)
    create(writer, app, title="Fête du village", kind="evenements", visibility="public")
    create(writer, app, title="Commission des travaux", kind="commission", visibility="members")
    create(writer, app, title="Rendez-vous du maire", visibility="private")
    public, members, private = events(app)

    client.login(village.habitant.email)
    month = page(client, f"{AGENDA}/?mois=2026-10")
    assert "Fête du village" in month
    assert "Commission des travaux" not in month
    assert "Rendez-vous du maire" not in month
    assert "Nouvel événement" not in month
    assert client.get(f"{AGENDA}/evenement/{members.id}").status_code == 404
    assert client.get(f"{AGENDA}/evenement/{private.id}.ics").status_code == 404
    assert client.get(f"{AGENDA}/evenement/{public.id}.ics").status_code == 200
    assert "Commission" not in page(client, "/c/10145/recherche?q=commission")
    # No subscription addresses for citizens: the feeds hold the members' events.
    assert "adresse d&#39;abonnement" not in page(client, f"{AGENDA}/agendas")

    # A councillor sees the members' events, not someone else's private one.
    councillor = app.test_client()
    councillor.login(village.conseiller.email)
    month = page(councillor, f"{AGENDA}/?mois=2026-10")
    assert "Commission des travaux" in month
    assert "Rendez-vous du maire" not in month
    # A writer sees everything.
    assert "Rendez-vous du maire" in page(writer, f"{AGENDA}/?mois=2026-10")


def test_writing_a_shared_calendar_needs_agenda_write(app, village, client):
    citizen = app.test_client()
    citizen.login(village.habitant.email)
    assert "Nouvel événement" not in page(citizen, f"{AGENDA}/")
    assert citizen.get(f"{AGENDA}/nouvel-evenement").status_code == 403
    # A councillor writes their own calendar only: it is all the form offers.
    client.login(village.conseiller.email)
    form = page(client, f"{AGENDA}/nouvel-evenement")
    choices = re.search(r'<select [^>]*name="calendar"[^>]*>(.*?)</select>', form, re.S)
    assert choices and re.findall(r">([^<]+)</option>", choices.group(1)) == [
        "Agenda de Nadia Benali"
    ]
    refused = client.submit(f"{AGENDA}/nouvel-evenement", event_form(app), page=f"{AGENDA}/")
    assert refused.status_code == 403
    assert says(refused.get_data(as_text=True), "Vous ne pouvez pas modifier les événements")
    assert count_events(app) == 0
    writer = app.test_client()
    writer.login(village.agent.email)
    create(writer, app)
    [event] = events(app)
    for url in (
        f"{AGENDA}/evenement/{event.id}/modifier",
        f"{AGENDA}/evenement/{event.id}/supprimer",
    ):
        assert (
            client.submit(url, event_form(app, title="Piraté"), page=f"{AGENDA}/").status_code
            == 403
        )
    assert events(app)[0].title == "Réunion publique"
    assert audit_actions(app) == ["agenda.event_created"]


@pytest.mark.parametrize(
    ("values", "field", "message"),
    [
        ({"title": ""}, "title", "Donnez un titre à l'événement."),
        ({"title": "   "}, "title", "Donnez un titre à l'événement."),
        ({"title": "T" * 201}, "title", "Le titre ne doit pas dépasser 200 caractères (201"),
        ({"start_date": ""}, "start_date", "Indiquez la date de début."),
        ({"start_date": "32/13/2026"}, "start_date", "La date de début n'est pas valable"),
        ({"start_time": ""}, "start_time", "Indiquez l'heure de début, ou cochez"),
        ({"end_time": "17:00"}, "end_time", "La fin doit être après le début."),
        ({"end_date": "2026-10-19"}, "end_date", "La fin doit être après le début."),
        (
            {"all_day": "y", "start_time": "", "end_date": "2026-10-18"},
            "end_date",
            "La fin doit être après le début.",
        ),
        (
            {"start_date": "2026-03-29", "start_time": "02:30", "end_date": "2026-03-29"},
            "start_time",
            "Cette heure n'existe pas ce jour-là",
        ),
        ({"calendar": "999999"}, "calendar", "Choisissez un agenda de la commune."),
        ({"repeat": "hourly"}, "repeat", "Choisissez une fréquence de répétition"),
        ({"repeat": "weekly", "interval": "0"}, "interval", "L'intervalle de répétition va de 1"),
        ({"repeat": "weekly", "weekdays": ["XX"]}, "weekdays", "Choisissez les jours"),
        ({"repeat": "daily", "ends": "count", "count": "0"}, "count", "Indiquez un nombre de fois"),
        ({"repeat": "daily", "ends": "count", "count": "abc"}, "count", "Indiquez un nombre"),
        (
            {"repeat": "daily", "ends": "until", "until": "2026-10-01"},
            "until",
            "La date de la dernière fois doit être le jour du début ou après.",
        ),
        ({"repeat": "daily", "ends": "until", "until": ""}, "until", "Indiquez la date de la"),
        ({"visibility": "secret"}, "visibility", "Choisissez qui peut voir l'événement."),
    ],
)
def test_bad_input_gets_a_400_in_french_tied_to_its_field_and_writes_nothing(
    app, village, client, values, field, message
):
    client.login(village.maire.email)
    refused = create(client, app, **values)
    assert refused.status_code == 400
    html = refused.get_data(as_text=True)
    assert says(html, message)
    assert "<title>Erreur — Nouvel événement" in html
    assert f'id="{field}-erreur"' in html
    if field != "weekdays":  # a group of checkboxes, described by its fieldset
        # The field at fault is marked and tied to its message for screen readers.
        assert re.search(
            rf'aria-describedby="[^"]*{field}-erreur[^"]*" aria-invalid="true" id="{field}"', html
        )
    assert count_events(app) == 0
    assert audit_actions(app) == []


def test_a_form_without_its_csrf_token_writes_nothing(app, village, client):
    client.login(village.maire.email)
    refused = client.post(f"{AGENDA}/nouvel-evenement", data=event_form(app))
    assert refused.status_code == 400
    assert count_events(app) == 0


def test_a_member_of_another_commune_sees_nothing(
    app, village, client, other_commune, make_member, enable_module
):
    writer = app.test_client()
    writer.login(village.maire.email)
    create(writer, app, title="Fête de la Saint-Jean", kind="evenements")
    [event] = events(app)
    enable_module(other_commune, "agenda")
    client.login(make_member(other_commune, "maire", admin=True).email)
    for url in (
        f"{AGENDA}/",
        f"{AGENDA}/a-venir",
        f"{AGENDA}/agendas",
        f"{AGENDA}/evenement/{event.id}",
        f"{AGENDA}/evenement/{event.id}.ics",
        f"{AGENDA}/nouvel-evenement",
        f"{AGENDA}/evenement/{event.id}/modifier",
    ):
        assert client.get(url).status_code == 403, url
    deleted = client.submit(
        f"{AGENDA}/evenement/{event.id}/supprimer", {"scope": "all"}, page="/c/10124/agenda/"
    )
    assert deleted.status_code == 403
    # Through their own commune's URLs, the event does not exist.
    assert client.get(f"/c/10124/agenda/evenement/{event.id}").status_code == 404
    assert client.get(f"/c/10124/agenda/evenement/{event.id}.ics").status_code == 404
    assert client.get(f"/c/10124/agenda/evenement/{event.id}/modifier").status_code == 404
    assert "Saint-Jean" not in page(client, "/c/10124/agenda/?mois=2026-10")
    assert "Fête de la" not in page(client, "/c/10124/recherche?q=Saint-Jean")
    # Nor can they file an event into this commune's calendar from their own.
    sent = client.submit(
        "/c/10124/agenda/nouvel-evenement",
        {**event_form(app), "calendar": str(calendar_id(app, "conseil"))},
    )
    assert sent.status_code == 400
    assert [e.title for e in events(app)] == ["Fête de la Saint-Jean"]


def test_dashboard_widget_navigation_and_upcoming_list(app, village, client):
    client.login(village.maire.email)
    soon = services.today() + dt.timedelta(days=2)
    for n in range(7):
        create(
            client,
            app,
            title=f"Rendez-vous {n}",
            start_date=(soon + dt.timedelta(days=n)).isoformat(),
            end_date="",
        )
    create(
        client,
        app,
        title="Réunion privée",
        visibility="private",
        start_date=soon.isoformat(),
        end_date="",
    )
    dashboard = page(client, "/c/10145/")
    assert "Prochains rendez-vous" in dashboard
    assert ">Agenda</a>" in dashboard
    widget = dashboard[dashboard.index("Prochains rendez-vous") :]
    assert "Rendez-vous 3" in widget and "Rendez-vous 4" not in widget
    upcoming = page(client, f"{AGENDA}/a-venir")
    assert all(f"Rendez-vous {n}" in upcoming for n in range(7))
    assert "Réunion privée" in upcoming  # its author

    citizen = app.test_client()
    citizen.login(village.habitant.email)
    dashboard = page(citizen, "/c/10145/")
    assert "Rendez-vous 4" in dashboard  # the private one is not among their five
    assert "Réunion privée" not in dashboard


def test_calendars_are_renamed_with_a_palette_colour(app, village, client):
    client.login(village.maire.email)
    cid = calendar_id(app, "commission")
    done = client.submit(
        f"{AGENDA}/agendas/{cid}",
        {f"c{cid}-name": "Commission des travaux", f"c{cid}-colour": "brun"},
        page=f"{AGENDA}/agendas",
    )
    assert done.status_code == 302
    assert [(c.name, c.colour) for c in calendars(app) if c.id == cid] == [
        ("Commission des travaux", "brun")
    ]
    refused = client.submit(
        f"{AGENDA}/agendas/{cid}",
        {f"c{cid}-name": "Commission", f"c{cid}-colour": "#ffff00"},
        page=f"{AGENDA}/agendas",
    )
    assert refused.status_code == 400
    assert "Choisissez une couleur dans la liste." in refused.get_data(as_text=True)


def test_a_calendar_per_commission_added_and_an_empty_one_removed(app, village, client):
    client.login(village.maire.email)
    added = client.submit(
        f"{AGENDA}/agendas/nouveau",
        {
            "nouveau-name": "Commission des écoles",
            "nouveau-colour": "rouge",
            "nouveau-visibility": "members",
        },
        page=f"{AGENDA}/agendas",
    )
    assert added.status_code == 302
    [new] = [c for c in calendars(app) if c.name == "Commission des écoles"]
    assert (new.kind, new.colour, new.default_visibility) == ("commission", "rouge", "members")
    # It is offered on the event form, with its own default visibility.
    form = page(client, f"{AGENDA}/nouvel-evenement?agenda={new.id}")
    assert f'<option selected value="{new.id}">Commission des écoles</option>' in form
    assert '<option selected value="members">' in form
    # Two calendars may not share a name; a name is required; the colour is the palette's.
    for values, message in (
        ({"nouveau-name": "commission des ÉCOLES", "nouveau-colour": "vert"}, "déjà un agenda"),
        ({"nouveau-name": "", "nouveau-colour": "vert"}, "Donnez un nom à l'agenda."),
        ({"nouveau-name": "Fêtes", "nouveau-colour": "jaune"}, "Choisissez une couleur"),
    ):
        refused = client.submit(f"{AGENDA}/agendas/nouveau", values, page=f"{AGENDA}/agendas")
        assert refused.status_code == 400 and message in refused.get_data(as_text=True)
    assert len(calendars(app)) == 4

    # Empty, it can be removed; the council's cannot, nor one that holds an event.
    listing = page(client, f"{AGENDA}/agendas")
    assert f"/agendas/{new.id}/retirer" in listing
    assert f"/agendas/{calendar_id(app, 'conseil')}/retirer" not in listing
    create(client, app, kind="commission", title="Réunion de la commission")
    used = calendar_id(app, "commission")
    assert f"/agendas/{used}/retirer" not in page(client, f"{AGENDA}/agendas")
    kept = client.submit(f"{AGENDA}/agendas/{used}/retirer", {}, page=f"{AGENDA}/agendas")
    assert kept.status_code == 400 and "Seul un agenda de commission vide" in kept.get_data(
        as_text=True
    )
    gone = client.submit(f"{AGENDA}/agendas/{new.id}/retirer", {}, page=f"{AGENDA}/agendas")
    assert gone.status_code == 302
    assert "Commission des écoles" not in [c.name for c in calendars(app)]
    with app.app_context():
        actions = set(db.scalars(select(AuditEvent.action)))
    assert {"agenda.calendar_created", "agenda.calendar_removed"} <= actions
    # A councillor may not add one.
    client.post("/deconnexion", data={"csrf_token": client.csrf_token()})
    client.login(village.conseiller.email)
    assert client.post(f"{AGENDA}/agendas/nouveau", data={}).status_code == 403


def test_demo_content_is_idempotent(app, commune, make_member, enable_module):
    make_member(commune, "maire")
    enable_module(commune, "agenda")
    with app.test_request_context():
        here = db.get(type(commune), commune.id)
        first = services.add_demo_content(here)
        db.commit()
        again = services.add_demo_content(here)
        db.commit()
    assert (first, again) == (5, 0)
    titles = {e.title for e in events(app)}
    assert {"Conseil municipal", "Brocante du village"} <= titles
    private = next(e for e in events(app) if e.visibility == "private")
    assert private.title.startswith("Rendez-vous chez le notaire")
    with app.app_context():
        own = db.get(Calendar, private.calendar_id)
        assert own.kind == "personnel" and own.owner_id == private.author_id
