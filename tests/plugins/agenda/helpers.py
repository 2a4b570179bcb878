"""Helpers shared by the agenda's tests: URLs, a village of members, the event form."""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass
from typing import Any

import icalendar
import recurring_ical_events
from flask import Flask
from markupsafe import escape
from sqlalchemy import func, select

from core.db import db
from core.models import AuditEvent, EmailMessage
from plugins.agenda.models import Calendar, Event

AGENDA = "/c/10145/agenda"


@dataclass
class Village:
    """Faux-Villecerf with the agenda enabled and one person of each useful role."""

    commune: Any
    maire: Any
    adjoint: Any
    conseiller: Any
    agent: Any
    habitant: Any


def calendars(app: Flask, commune: Any = None) -> list[Calendar]:
    """The shared calendars (of ``commune``), not the members' own."""
    with app.app_context():
        query = select(Calendar).where(Calendar.owner_id.is_(None)).order_by(Calendar.id)
        if commune is not None:
            query = query.where(Calendar.commune_id == commune.id)
        return list(db.scalars(query))


def calendar_id(app: Flask, kind: str = "conseil") -> int:
    return next(c.id for c in calendars(app) if c.kind == kind)


def events(app: Flask) -> list[Event]:
    with app.app_context():
        return list(db.scalars(select(Event).order_by(Event.id)))


def count_events(app: Flask) -> int:
    with app.app_context():
        return db.scalar(select(func.count()).select_from(Event)) or 0


def audit_actions(app: Flask) -> list[str]:
    with app.app_context():
        return list(
            db.scalars(
                select(AuditEvent.action)
                .where(AuditEvent.action.startswith("agenda.event"))
                .order_by(AuditEvent.id)
            )
        )


def event_form(app: Flask, **values: Any) -> dict[str, Any]:
    """The form of a one-hour meeting on Tuesday 20 October 2026 at 18:00, with ``values``
    changed (``kind`` names the calendar, unless ``calendar`` gives its id)."""
    kind = values.pop("kind", "conseil")
    form = {
        "calendar": values.pop("calendar", None) or str(calendar_id(app, kind)),
        "title": "Réunion publique",
        "start_date": "2026-10-20",
        "start_time": "18:00",
        "end_date": "",
        "end_time": "19:00",
        "place": "Salle des fêtes",
        "description": "",
        "category": "reunion",
        "visibility": "public",
        "repeat": "",
        "interval": "1",
        "monthly_by": "date",
        "ends": "never",
        "count": "",
        "until": "",
    }
    form.update(values)
    return {k: v for k, v in form.items() if v is not None}


def create(client: Any, app: Flask, **values: Any) -> Any:
    return client.submit(f"{AGENDA}/nouvel-evenement", event_form(app, **values))


def upload(client: Any, calendar: int, body: str | bytes, name: str = "agenda.ics") -> Any:
    """Import a .ics file into a calendar, from the calendars page."""
    data = body.encode() if isinstance(body, str) else body
    return client.post(
        f"{AGENDA}/agendas/{calendar}/import",
        data={
            "csrf_token": client.csrf_token(f"{AGENDA}/agendas"),
            f"i{calendar}-file": (io.BytesIO(data), name, "text/calendar"),
        },
        content_type="multipart/form-data",
    )


def says(html: str, message: str) -> bool:
    """Whether the page shows ``message`` (escaped or not: a lazy string is markup)."""
    return str(escape(message)) in html or message in html


def page(client: Any, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, f"{url}: {response.status_code}"
    return response.get_data(as_text=True)


def parse(body: bytes) -> icalendar.Calendar:
    """An iCalendar body read back as a phone would, after checking its framing."""
    assert body.startswith(b"BEGIN:VCALENDAR\r\n")
    assert all(len(line) <= 75 for line in body.split(b"\r\n")), "lines fold at 75 octets"
    return icalendar.Calendar.from_ical(body)


def starts(cal: icalendar.Calendar, first: dt.date, last: dt.date) -> list[dt.datetime]:
    """The starts of every occurrence between two dates, expanded by recurring-ical-events."""
    return [o["DTSTART"].dt for o in recurring_ical_events.of(cal).between(first, last)]


def guest_mail(app: Flask) -> list[tuple[str, str, icalendar.Calendar]]:
    """The e-mails with a calendar part (those to guests), in order: recipient, subject
    and the calendar part read back."""
    with app.app_context():
        return [
            (m.recipient, m.subject, icalendar.Calendar.from_ical(m.calendar))
            for m in db.scalars(select(EmailMessage).order_by(EmailMessage.id))
            if m.calendar
        ]


def attendees(vevent: icalendar.Event) -> list[str]:
    found = vevent.get("ATTENDEE")
    return [str(a) for a in (found if isinstance(found, list) else [found])]
