"""Attendees of an event, named on its form: members of the council and the staff (told by
a notification, they see the event even private and find it in their planning) and guests
from outside by e-mail address (sent an invitation); each told once, when first named."""

from __future__ import annotations

import datetime as dt
import re

import icalendar
from sqlalchemy import select

from core.db import db
from core.models import AuditEvent, EmailMessage, Notification
from plugins.agenda.models import Event
from tests.plugins.agenda.helpers import (
    AGENDA,
    attendees,
    count_events,
    create,
    event_form,
    events,
    guest_mail,
    page,
    says,
)


def notified(app, person) -> list[str]:
    with app.app_context():
        return list(db.scalars(select(Notification.title).where(Notification.user_id == person.id)))


def emails(app) -> list[tuple[str, str]]:
    """The invitations e-mailed (members' notifications may be e-mailed too)."""
    with app.app_context():
        return [
            (m.recipient, m.subject)
            for m in db.scalars(select(EmailMessage).order_by(EmailMessage.id))
            if m.subject.startswith("Invitation")
        ]


def test_members_and_guests_expected_at_a_private_meeting(app, village, client):
    nadia, julie = village.conseiller, village.agent
    client.login(village.maire.email)
    form = page(client, f"{AGENDA}/nouvel-evenement")
    assert re.search(rf'<input type="checkbox" name="attendees" id="attendees-{nadia.id}"', form)
    assert f'id="attendees-{village.habitant.id}"' not in form  # citizens are not offered
    response = create(
        client,
        app,
        title="Préparation du budget",
        visibility="private",
        attendees=[str(nadia.id)],
        guests="Alice.Durand@exemple.org\ncomptable@cabinet.example, alice.durand@exemple.org",
    )
    assert response.status_code == 302
    url = response.headers["Location"]
    assert notified(app, nadia) == ["Claire Martin vous attend : Préparation du budget"]
    assert notified(app, julie) == []
    assert emails(app) == [
        ("Alice.Durand@exemple.org", "Invitation : Préparation du budget"),
        ("comptable@cabinet.example", "Invitation : Préparation du budget"),
    ]
    with app.app_context():
        body = db.scalar(
            select(EmailMessage.body).where(EmailMessage.subject.startswith("Invitation"))
        )
    assert "Claire Martin (Faux-Villecerf) vous invite" in body
    assert "le mardi 20 octobre 2026 de 18:00 à 19:00" in body and "Salle des fêtes" in body
    # Each carries an invitation their calendar app can add (iMIP): organiser, the guest asked.
    with app.app_context():
        invitation = db.scalar(
            select(EmailMessage.calendar).where(
                EmailMessage.recipient == "comptable@cabinet.example"
            )
        )
        uid = db.scalar(select(Event.uid))
    cal = icalendar.Calendar.from_ical(invitation)
    assert str(cal["METHOD"]) == "REQUEST"
    [vevent] = cal.walk("VEVENT")
    assert str(vevent["UID"]) == uid and str(vevent["SUMMARY"]) == "Préparation du budget"
    assert vevent["DTSTART"].dt.isoformat() == "2026-10-20T18:00:00+02:00"
    assert str(vevent["ORGANIZER"]) == f"mailto:{village.maire.email}"
    assert vevent["ORGANIZER"].params["CN"] == "Claire Martin"
    assert str(vevent["ATTENDEE"]) == "mailto:comptable@cabinet.example"
    assert vevent["ATTENDEE"].params["RSVP"] == "TRUE"
    assert "URL" not in vevent  # the portal's page is for members

    # The maire sees everyone; Nadia sees the private meeting, her name, not the addresses.
    shown = page(client, url)
    assert nadia.name in shown and "comptable@cabinet.example" in shown
    client.post("/deconnexion", data={"csrf_token": client.csrf_token()})
    client.login(nadia.email)
    hers = page(client, url)
    assert "Préparation du budget" in hers and nadia.name in hers
    assert "comptable@cabinet.example" not in hers
    assert "Préparation du budget" in page(client, f"{AGENDA}/mon-planning?du=2026-10-19")
    client.post("/deconnexion", data={"csrf_token": client.csrf_token()})

    # Julie added, a third guest: only the newcomers are told.
    client.login(village.maire.email)
    edit = f"{url}/modifier"
    changed = client.submit(
        edit,
        event_form(
            app,
            title="Préparation du budget",
            visibility="private",
            attendees=[str(nadia.id), str(julie.id)],
            guests="alice.durand@exemple.org\ncomptable@cabinet.example\nelu@voisine.example",
        ),
    )
    assert changed.status_code == 302
    assert notified(app, nadia) == ["Claire Martin vous attend : Préparation du budget"]
    assert notified(app, julie) == ["Claire Martin vous attend : Préparation du budget"]
    assert [r for r, _s in emails(app)][2:] == ["elu@voisine.example"]
    with app.app_context():
        event = db.scalar(select(Event))
        assert sorted(a.user_id for a in event.attendees) == sorted([nadia.id, julie.id])
        change = db.scalar(
            select(AuditEvent.details).where(AuditEvent.action == "agenda.event_updated")
        )
    assert change["after"]["attendees"] == sorted([nadia.id, julie.id])

    # Nadia taken off: she no longer sees the private meeting.
    client.submit(
        edit,
        event_form(
            app, title="Préparation du budget", visibility="private", attendees=[str(julie.id)]
        ),
    )
    client.post("/deconnexion", data={"csrf_token": client.csrf_token()})
    client.login(nadia.email)
    assert client.get(url).status_code == 404


def test_attendees_that_cannot_be_refused_with_a_reason_and_nothing_saved(app, village, client):
    client.login(village.maire.email)
    for values, message in (
        ({"guests": "pas-une-adresse"}, "« pas-une-adresse » n'est pas une adresse e-mail."),
        (
            {"attendees": [str(village.habitant.id)]},
            "On ne peut inviter que des élus et des agents de la commune.",
        ),
        ({"guests": "\n".join(f"p{n}@exemple.org" for n in range(51))}, "Pas plus de 50 invités"),
    ):
        response = create(client, app, **values)
        assert response.status_code == 400
        assert says(response.get_data(as_text=True), message)
    assert count_events(app) == 0 and emails(app) == []


def test_the_api_names_attendees_and_keeps_them_when_a_change_leaves_them_out(app, village, client):
    from core import tokens
    from core.models import User

    with app.app_context():
        raw, _token = tokens.create(
            db.get(User, village.maire.id), "app", ["agenda:read", "agenda:write"], 30
        )
        db.commit()
    headers = {"Authorization": f"Bearer {raw}"}
    api = "/api/v1/c/10145/agenda/evenements"
    created = client.post(
        api,
        json={
            "calendar": event_form(app)["calendar"],
            "title": "Visite de chantier",
            "start": "2026-10-21T10:00",
            "end": "2026-10-21T11:00",
            "attendees": [village.adjoint.id],
            "guests": ["architecte@cabinet.example"],
        },
        headers=headers,
    )
    assert created.status_code == 201, created.json
    assert created.json["attendees"] == [village.adjoint.id]
    assert created.json["guests"] == ["architecte@cabinet.example"]
    moved = client.patch(
        f"{api}/{created.json['id']}", json={"place": "Rue du Lavoir"}, headers=headers
    )
    assert moved.status_code == 200
    assert moved.json["attendees"] == [village.adjoint.id]
    assert moved.json["guests"] == ["architecte@cabinet.example"]
    assert len(emails(app)) == 1  # the guest was told once


def mails(app, subject_start: str) -> list[tuple[str, icalendar.Calendar]]:
    """The guests' e-mails whose subject starts so: recipient and calendar part."""
    return [
        (to, part) for to, subject, part in guest_mail(app) if subject.startswith(subject_start)
    ]


def test_guests_get_each_change_and_the_cancellation_for_their_calendar(app, village, client):
    client.login(village.maire.email)
    guests = "alice.durand@exemple.org\ncomptable@cabinet.example"
    url = create(client, app, title="Réunion de chantier", guests=guests).headers["Location"]
    with app.app_context():
        uid = db.scalar(select(Event.uid))
    moved = client.submit(
        f"{url}/modifier",
        event_form(
            app, title="Réunion de chantier", start_time="17:00", end_time="18:00", guests=guests
        ),
    )
    assert moved.status_code == 302
    changed = mails(app, "Modifié : Réunion de chantier")
    assert sorted(r for r, _c in changed) == [
        "alice.durand@exemple.org",
        "comptable@cabinet.example",
    ]
    [vevent] = changed[0][1].walk("VEVENT")
    assert str(changed[0][1]["METHOD"]) == "REQUEST" and str(vevent["UID"]) == uid
    assert int(vevent["SEQUENCE"]) == 1
    assert vevent["DTSTART"].dt.isoformat() == "2026-10-20T17:00:00+02:00"

    assert client.submit(f"{url}/supprimer", {"scope": "all"}, page=url).status_code == 302
    cancelled = mails(app, "Annulé : Réunion de chantier")
    assert sorted(r for r, _c in cancelled) == [
        "alice.durand@exemple.org",
        "comptable@cabinet.example",
    ]
    calendar = cancelled[0][1]
    [vevent] = calendar.walk("VEVENT")
    assert str(calendar["METHOD"]) == "CANCEL" and str(vevent["UID"]) == uid
    assert str(vevent["STATUS"]) == "CANCELLED" and int(vevent["SEQUENCE"]) == 2
    with app.app_context():
        body = db.scalar(select(EmailMessage.body).where(EmailMessage.subject.startswith("Annulé")))
    assert "Claire Martin (Faux-Villecerf) a annulé :" in body


def test_a_date_removed_from_a_series_reaches_its_guests(app, village, client):
    client.login(village.maire.email)
    url = create(
        client,
        app,
        title="Permanence des élus",
        repeat="weekly",
        weekdays=["TU"],
        ends="count",
        count="5",
        guests="alice.durand@exemple.org",
    ).headers["Location"]
    removed = client.submit(
        f"{url}/supprimer",
        {"date": "20261103T180000", "scope": "occurrence"},
        page=f"{url}/supprimer?date=20261103T180000",
    )
    assert removed.status_code == 302
    [(recipient, calendar)] = mails(app, "Modifié : Permanence des élus")
    [vevent] = calendar.walk("VEVENT")
    assert recipient == "alice.durand@exemple.org"
    assert [d.dt.isoformat() for d in vevent["EXDATE"].dts] == ["2026-11-03T18:00:00+01:00"]


def ics_sequence(client, event_id: int) -> int:
    """The SEQUENCE of the event's « Ajouter à mon agenda » download."""
    [vevent] = icalendar.Calendar.from_ical(
        client.get(f"{AGENDA}/evenement/{event_id}.ics").data
    ).walk("VEVENT")
    return int(vevent["SEQUENCE"])


GUESTS = "alice.durand@exemple.org\ncomptable@cabinet.example"


def test_a_guest_added_alone_is_invited_and_the_others_hear_nothing(app, village, client):
    client.login(village.maire.email)
    url = create(client, app, title="Réunion de chantier", guests=GUESTS).headers["Location"]
    [event] = events(app)
    assert len(guest_mail(app)) == 2

    added = client.submit(
        f"{url}/modifier",
        event_form(app, title="Réunion de chantier", guests=f"{GUESTS}\nelu@voisine.example"),
    )
    assert added.status_code == 302
    [(recipient, subject, calendar)] = guest_mail(app)[2:]
    assert (recipient, subject) == ("elu@voisine.example", "Invitation : Réunion de chantier")
    [vevent] = calendar.walk("VEVENT")
    assert str(calendar["METHOD"]) == "REQUEST" and str(vevent["UID"]) == event.uid
    assert int(vevent["SEQUENCE"]) == 0  # the version the others hold
    assert attendees(vevent) == ["mailto:elu@voisine.example"]
    assert str(vevent["ORGANIZER"]) == f"mailto:{village.maire.email}"
    assert ics_sequence(client, event.id) == 0  # nothing new for subscribed calendars

    # A real change reaches the three of them, each addressed alone.
    moved = client.submit(
        f"{url}/modifier",
        event_form(
            app,
            title="Réunion de chantier",
            place="Mairie, salle du conseil",
            guests=f"{GUESTS}\nelu@voisine.example",
        ),
    )
    assert moved.status_code == 302
    changed = guest_mail(app)[3:]
    assert sorted((r, s) for r, s, _c in changed) == [
        ("alice.durand@exemple.org", "Modifié : Réunion de chantier"),
        ("comptable@cabinet.example", "Modifié : Réunion de chantier"),
        ("elu@voisine.example", "Modifié : Réunion de chantier"),
    ]
    for recipient, _subject, calendar in changed:
        [vevent] = calendar.walk("VEVENT")
        assert str(calendar["METHOD"]) == "REQUEST" and int(vevent["SEQUENCE"]) == 1
        assert str(vevent["LOCATION"]) == "Mairie, salle du conseil"
        assert attendees(vevent) == [f"mailto:{recipient}"]


def test_a_guest_taken_off_gets_a_cancel_and_the_others_hear_nothing(app, village, client):
    client.login(village.maire.email)
    url = create(client, app, title="Réunion de chantier", guests=GUESTS).headers["Location"]
    [event] = events(app)
    yesterday = dt.datetime(2026, 10, 1, 9, 0, tzinfo=dt.UTC)
    with app.app_context():  # last changed some time ago, so that DTSTAMP tells apart
        db.get(Event, event.id).updated_at = yesterday
        db.commit()
    sent_after = dt.datetime.now(dt.UTC).replace(microsecond=0)

    removed = client.submit(
        f"{url}/modifier",
        event_form(app, title="Réunion de chantier", guests="alice.durand@exemple.org"),
    )
    assert removed.status_code == 302
    [(recipient, subject, calendar)] = guest_mail(app)[2:]
    assert recipient == "comptable@cabinet.example"
    assert subject == "Invitation retirée : Réunion de chantier"
    [vevent] = calendar.walk("VEVENT")
    assert str(calendar["METHOD"]) == "CANCEL" and str(vevent["UID"]) == event.uid
    assert str(vevent["STATUS"]) == "CANCELLED"
    assert int(vevent["SEQUENCE"]) == 0  # the event itself did not change
    assert vevent["DTSTAMP"].dt >= sent_after  # the message's time orders it after the REQUEST
    assert vevent["LAST-MODIFIED"].dt == yesterday
    assert attendees(vevent) == ["mailto:comptable@cabinet.example"]
    with app.app_context():
        body = db.scalar(select(EmailMessage.body).order_by(EmailMessage.id.desc()).limit(1))
    assert "Claire Martin (Faux-Villecerf) a retiré votre invitation à :" in body
    assert "Réunion de chantier" in body and "le mardi 20 octobre 2026 de 18:00 à 19:00" in body
    shown = page(client, url)
    assert "alice.durand@exemple.org" in shown and "comptable@cabinet.example" not in shown

    # Invited again: a new invitation, at the SEQUENCE of the event.
    again = client.submit(
        f"{url}/modifier", event_form(app, title="Réunion de chantier", guests=GUESTS)
    )
    assert again.status_code == 302
    [(recipient, subject, calendar)] = guest_mail(app)[3:]
    assert (recipient, subject) == ("comptable@cabinet.example", "Invitation : Réunion de chantier")
    [vevent] = calendar.walk("VEVENT")
    assert str(calendar["METHOD"]) == "REQUEST" and int(vevent["SEQUENCE"]) == 0


def test_what_guests_do_not_see_changes_without_telling_them(app, village, client):
    nadia = village.conseiller
    client.login(village.maire.email)
    url = create(client, app, title="Réunion de chantier", guests=GUESTS).headers["Location"]
    [event] = events(app)

    # A member expected: told by a notification; the guests, nothing.
    client.submit(
        f"{url}/modifier",
        event_form(app, title="Réunion de chantier", guests=GUESTS, attendees=[str(nadia.id)]),
    )
    assert notified(app, nadia) == ["Claire Martin vous attend : Réunion de chantier"]
    assert ics_sequence(client, event.id) == 0

    # The commune's own filing (category, who in the commune sees it): the event's
    # iCalendar says it (SEQUENCE up), the guests' calendars do not show it.
    filed = client.submit(
        f"{url}/modifier",
        event_form(
            app,
            title="Réunion de chantier",
            guests=GUESTS,
            attendees=[str(nadia.id)],
            category="autre",
            visibility="members",
        ),
    )
    assert filed.status_code == 302
    assert ics_sequence(client, event.id) == 1
    assert len(guest_mail(app)) == 2  # the two invitations, nothing since


def test_guests_added_to_a_series_get_it_with_its_changed_dates(app, village, client):
    client.login(village.maire.email)
    series_form = {
        "title": "Permanence des élus",
        "repeat": "weekly",
        "weekdays": ["TU"],
        "ends": "count",
        "count": "5",
    }
    url = create(client, app, **series_form, guests="alice.durand@exemple.org").headers["Location"]
    moved = client.submit(
        f"{url}/modifier?date=20261027T180000",
        event_form(
            app,
            **series_form,
            start_date="2026-10-27",
            start_time="20:00",
            end_time="21:00",
            guests="alice.durand@exemple.org",
            scope="occurrence",
        ),
    )
    assert moved.status_code == 302
    [(_r, subject, _c)] = guest_mail(app)[1:]
    assert subject == "Modifié : Permanence des élus"  # a date of hers moved

    added = client.submit(
        f"{url}/modifier",
        event_form(app, **series_form, guests="alice.durand@exemple.org\nelu@voisine.example"),
    )
    assert added.status_code == 302
    [(recipient, subject, calendar)] = guest_mail(app)[2:]
    assert (recipient, subject) == ("elu@voisine.example", "Invitation : Permanence des élus")
    series, changed = calendar.walk("VEVENT")
    assert "RRULE" in series and changed["RECURRENCE-ID"].dt.isoformat() == (
        "2026-10-27T18:00:00+01:00"
    )
    assert changed["DTSTART"].dt.isoformat() == "2026-10-27T20:00:00+01:00"
    for component in (series, changed):
        assert attendees(component) == ["mailto:elu@voisine.example"]
        assert int(component["SEQUENCE"]) == 0

    # The count changed: a change of the dates, for both of them.
    client.submit(
        f"{url}/modifier",
        event_form(
            app,
            **{**series_form, "count": "4"},
            guests="alice.durand@exemple.org\nelu@voisine.example",
        ),
    )
    assert sorted((r, s) for r, s, _c in guest_mail(app)[3:]) == [
        ("alice.durand@exemple.org", "Modifié : Permanence des élus"),
        ("elu@voisine.example", "Modifié : Permanence des élus"),
    ]
    [vevent, _changed] = guest_mail(app)[3][2].walk("VEVENT")
    assert "COUNT=4" in vevent["RRULE"].to_ical().decode() and int(vevent["SEQUENCE"]) == 1
