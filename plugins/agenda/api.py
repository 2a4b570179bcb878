"""The agenda's JSON API for the mobile apps: calendars, the occurrences of a period,
creating, changing and deleting events, and the appointments one is asked to (answered
here), through the same services as the pages.

Mounted by the core under ``/api/v1/c/<INSEE>/agenda/``. Times are ISO 8601: a date
(``2026-10-20``) for an all-day event, else a time in Paris (``2026-10-20T18:00``) or with
its offset (``2026-10-20T16:00:00Z``). Bad input is a 400 problem naming the ``field`` at
fault (and ``errors`` with every field); the rest (401, 403, 404) is the core's.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Blueprint, request, url_for

from core import toolkit
from core.toolkit import gettext as _
from plugins.agenda import appointments, attachments, services
from plugins.agenda.models import Appointment, Calendar, Event

bp = Blueprint("agenda_api", __name__)
MAX_RANGE_DAYS = 366


# The services name the form's fields; the API's are these.
FIELDS = {"start_date": "start", "start_time": "start", "end_date": "end", "end_time": "end"}
FIELDS |= dict.fromkeys(("repeat", "interval", "weekdays", "monthly_by", "ends"), "rrule")
FIELDS |= {"count": "rrule", "until": "rrule"}


@bp.errorhandler(services.EventError)
def _invalid(error: services.EventError) -> Any:
    errors: dict[str, str] = {}
    for name, message in error.errors.items():
        errors.setdefault(FIELDS.get(name, name), message)
    return toolkit.problem(
        400, _("Demande incorrecte"), error.message, field=next(iter(errors), None), errors=errors
    )


class CalendarOut(toolkit.ApiSchema):
    id: int
    name: str
    colour: str
    kind: str
    personal: bool  # the caller's own calendar
    writable: bool  # the caller may add events to it


class CalendarList(toolkit.ApiSchema):
    calendars: list[CalendarOut]
    can_write: bool


class OccurrenceOut(toolkit.ApiSchema):
    event_id: int
    uid: str
    date: str  # the occurrence's key, for ?date= of the other operations
    title: str
    start: str
    end: str
    all_day: bool
    place: str
    category: str
    visibility: str
    calendar_id: int
    recurring: bool
    url: str


class OccurrenceList(toolkit.ApiSchema):
    occurrences: list[OccurrenceOut]


class AttachmentOut(toolkit.ApiSchema):
    id: int
    name: str
    media_type: str
    size: int  # bytes
    url: str  # the file, with the same token


class EventOut(toolkit.ApiSchema):
    id: int
    uid: str
    recurrence_id: str
    series_id: int | None
    sequence: int
    title: str
    start: str
    end: str
    all_day: bool
    place: str
    description: str
    category: str
    visibility: str
    calendar_id: int
    rrule: str | None
    exdates: list[str]
    attendees: list[int]  # the members expected (user ids)
    guests: list[str]  # e-mail addresses from outside; shown to the agenda's writers only
    attachments: list[AttachmentOut]  # a series' documents, for each of its dates
    url: str


class SlotOut(toolkit.ApiSchema):
    id: int
    start: str
    end: str
    suits: list[str]  # the names of those it suits


class InviteeOut(toolkit.ApiSchema):
    name: str
    answer: str  # pending, accepted, declined or proposed
    comment: str


class AppointmentOut(toolkit.ApiSchema):
    id: int
    title: str
    place: str
    description: str
    status: str  # open, confirmed or cancelled
    organiser: str | None
    is_organiser: bool
    my_answer: str | None  # the person's own, if invited
    my_slots: list[int]  # the slots that suit the person
    slots: list[SlotOut]
    invitees: list[InviteeOut]
    event_id: int | None  # once confirmed, the agenda's event
    url: str


class AppointmentList(toolkit.ApiSchema):
    appointments: list[AppointmentOut]


def _calendar(calendar: Calendar, writable: bool) -> dict[str, Any]:
    return {
        "id": calendar.id,
        "name": calendar.name,
        "colour": calendar.colour,
        "kind": calendar.kind,
        "personal": calendar.owner_id is not None,
        "writable": writable,
    }


def _moment(value: dt.datetime, all_day: bool) -> str:
    return value.date().isoformat() if all_day else value.isoformat()


def _occurrence(occurrence: services.Occurrence) -> dict[str, Any]:
    event = occurrence.event
    return {
        "event_id": event.id,
        "uid": event.uid,
        "date": occurrence.key,
        "title": event.title,
        "start": _moment(occurrence.start, event.all_day),
        "end": _moment(occurrence.end, event.all_day),
        "all_day": event.all_day,
        "place": event.place,
        "category": event.category,
        "visibility": event.visibility,
        "calendar_id": event.calendar_id,
        "recurring": bool(event.rrule or event.parent_id),
        "url": services.event_url(event, occurrence, external=True),
    }


def _event(event: Event) -> dict[str, Any]:
    return {
        "id": event.id,
        "uid": event.uid,
        "recurrence_id": event.recurrence_id,
        "series_id": event.parent_id,
        "sequence": event.sequence,
        "title": event.title,
        "start": _moment(services.local_start(event), event.all_day),
        "end": _moment(services.local_end(event), event.all_day),
        "all_day": event.all_day,
        "place": event.place,
        "description": event.description,
        "category": event.category,
        "visibility": event.visibility,
        "calendar_id": event.calendar_id,
        "rrule": event.rrule,
        "exdates": list(event.exdates or ()),
        "attendees": [a.user_id for a in event.attendees],
        "guests": list(event.guests or ()) if _writes(event) else [],
        "attachments": [
            {
                "id": a.id,
                "name": a.stored.original_name,
                "media_type": a.stored.media_type,
                "size": a.stored.size,
                "url": url_for(
                    ".attachment", event_id=event.id, attachment_id=a.id, _external=True
                ),
            }
            for a in attachments.holder(event).attachments
        ],
        "url": services.event_url(event, external=True),
    }


def _writes(event: Event) -> bool:
    return services.writes(toolkit.current_commune(), toolkit.current_user(), event.calendar)


@bp.get("/agendas")
@toolkit.requires("agenda.view")
@toolkit.api_operation(
    "Les agendas de la commune", response=CalendarList, tags=["agenda"], scopes=["agenda:read"]
)
def calendars() -> Any:
    commune, user = toolkit.current_commune(), toolkit.current_user()
    offered = services.offered_calendars(commune, user)
    return {
        "calendars": [_calendar(c, services.writes(commune, user, c)) for c in offered],
        "can_write": services.can_write(commune, user),
    }


@bp.get("/evenements")
@toolkit.requires("agenda.view")
@toolkit.api_operation(
    "Les dates d'une période (événements répétés développés)",
    response=OccurrenceList,
    tags=["agenda"],
    scopes=["agenda:read"],
    query={
        "du": {"type": "string", "format": "date"},
        "au": {"type": "string", "format": "date"},
        "agenda": {"type": "integer", "minimum": 1},
    },
)
def occurrences() -> Any:
    """``du`` (included) to ``au`` (excluded), dates; by default the coming month."""
    commune, user = toolkit.current_commune(), toolkit.current_user()
    first = _date_argument("du") or services.today()
    last = _date_argument("au") or first + dt.timedelta(days=31)
    if last <= first or (last - first).days > MAX_RANGE_DAYS:
        raise services.EventError(
            {"au": _("La période va d'un jour à %(days)d jours.", days=MAX_RANGE_DAYS)}
        )
    calendar = request.args.get("agenda", type=int)
    found = services.occurrences_between(
        commune, user, services.midnight(first), services.midnight(last), calendar_id=calendar
    )
    return {"occurrences": [_occurrence(o) for o in found]}


def _date_argument(name: str) -> dt.date | None:
    raw = request.args.get(name)
    if raw is None:
        return None
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise services.EventError(
            {name: _("« %(value)s » n'est pas une date AAAA-MM-JJ.", value=raw[:20])}
        ) from None


@bp.get("/evenements/<int:event_id>")
@toolkit.requires("agenda.view")
@toolkit.api_operation("Un événement", response=EventOut, tags=["agenda"], scopes=["agenda:read"])
def get_event(event_id: int) -> Any:
    return _event(services.get_event(toolkit.current_commune(), toolkit.current_user(), event_id))


@bp.get("/evenements/<int:event_id>/documents/<int:attachment_id>")
@toolkit.requires("agenda.view")
@toolkit.api_operation(
    "Un document joint à un événement (le fichier)", tags=["agenda"], scopes=["agenda:read"]
)
def attachment(event_id: int, attachment_id: int) -> Any:
    event = services.get_event(toolkit.current_commune(), toolkit.current_user(), event_id)
    return toolkit.files.response(attachments.get(event, attachment_id).stored)


@bp.post("/evenements")
@toolkit.requires("agenda.view")  # and the right to write the calendar (services)
@toolkit.api_operation(
    "Créer un événement", response=EventOut, status=201, tags=["agenda"], scopes=["agenda:write"]
)
def create_event() -> Any:
    commune, user = toolkit.current_commune(), toolkit.current_user()
    data = services.validate(commune, user, _raw(_body()))
    event = services.create_event(commune, user, data)
    toolkit.db.commit()
    return _event(event), 201, {"Location": url_for(".get_event", event_id=event.id)}


@bp.patch("/evenements/<int:event_id>")
@toolkit.requires("agenda.view")  # and the right to write the calendar (services)
@toolkit.api_operation(
    "Modifier un événement (une date, celle-ci et les suivantes, ou toutes : « scope » et "
    "« date »)",
    response=EventOut,
    tags=["agenda"],
    scopes=["agenda:write"],
)
def update_event(event_id: int) -> Any:
    commune, user = toolkit.current_commune(), toolkit.current_user()
    event = services.get_event(commune, user, event_id)
    body = _body()
    # What is not sent stays as it is: for one date of a series, that date's times.
    current = {**_event(event), "calendar": event.calendar_id}
    occurrence = services.find_occurrence(event, _key(body)) if event.rrule else None
    if occurrence is not None:
        current["start"] = _moment(occurrence.start, event.all_day)
        current["end"] = _moment(occurrence.end, event.all_day)
    data = services.validate(commune, user, _raw({**current, **body}))
    scope = body.get("scope", "all")
    shown = services.change(commune, user, event, data, str(scope), _key(body))
    toolkit.db.commit()
    return _event(shown or event)


@bp.delete("/evenements/<int:event_id>")
@toolkit.requires("agenda.view")  # and the right to write the calendar (services)
@toolkit.api_operation(
    "Supprimer un événement, une date (?scope=occurrence&date=…) ou celle-ci et les suivantes",
    tags=["agenda"],
    scopes=["agenda:write"],
    status=204,
    query={
        "scope": {"type": "string", "enum": list(services.SCOPES)},
        "date": {"type": "string", "pattern": "^[0-9]{8}(T[0-9]{6})?$"},
    },
)
def delete_event(event_id: int) -> Any:
    commune, user = toolkit.current_commune(), toolkit.current_user()
    event = services.get_event(commune, user, event_id)
    services.remove(commune, user, event, request.args.get("scope", "all"), _key(request.args))
    toolkit.db.commit()
    return "", 204


@bp.get("/rendez-vous")
@toolkit.requires(appointments.ORGANISE)
@toolkit.api_operation(
    "Mes rendez-vous : ceux que j'organise et ceux où je suis invité",
    response=AppointmentList,
    tags=["agenda"],
    scopes=["agenda:read"],
)
def list_appointments() -> Any:
    commune, user = toolkit.current_commune(), toolkit.current_user()
    return {"appointments": [_appointment(a, user) for a in appointments.mine(commune, user)]}


@bp.get("/rendez-vous/<int:appointment_id>")
@toolkit.requires(appointments.ORGANISE)
@toolkit.api_operation(
    "Un rendez-vous", response=AppointmentOut, tags=["agenda"], scopes=["agenda:read"]
)
def get_appointment(appointment_id: int) -> Any:
    commune, user = toolkit.current_commune(), toolkit.current_user()
    return _appointment(appointments.get(commune, user, appointment_id), user)


@bp.post("/rendez-vous/<int:appointment_id>/reponse")
@toolkit.requires(appointments.ORGANISE)
@toolkit.api_operation(
    "Répondre à une invitation : « available », les numéros des créneaux qui conviennent "
    "(aucun : je décline) ; « proposal », un autre horaire {« start », « end »} ; « comment »",
    response=AppointmentOut,
    tags=["agenda"],
    scopes=["agenda:write"],
)
def answer_appointment(appointment_id: int) -> Any:
    commune, user = toolkit.current_commune(), toolkit.current_user()
    found = appointments.get(commune, user, appointment_id)
    body = _body()
    available = body.get("available", [])
    if not isinstance(available, list):
        raise services.EventError({"available": _("Donnez la liste des créneaux qui conviennent.")})
    proposal = body.get("proposal")
    if proposal is not None and not isinstance(proposal, dict):
        raise services.EventError({"proposal": _("Proposez un horaire avec « start » et « end ».")})
    slot = None
    if proposal:
        start_date, start_time = _split(proposal.get("start"), "proposal")
        end_date, end_time = _split(proposal.get("end"), "proposal")
        if end_date and end_date != start_date:
            raise services.EventError({"proposal": _("Un créneau commence et finit le même jour.")})
        slot = (start_date, start_time, end_time)
    appointments.answer(commune, user, found, available, slot, str(body.get("comment") or ""))
    toolkit.db.commit()
    return _appointment(found, user)


def _appointment(appointment: Appointment, user: toolkit.User) -> dict[str, Any]:
    mine = appointments.invitee_of(appointment, user)
    return {
        "id": appointment.id,
        "title": appointment.title,
        "place": appointment.place,
        "description": appointment.description,
        "status": appointment.status,
        "organiser": appointment.organiser.name if appointment.organiser else None,
        "is_organiser": appointment.organiser_id == user.id,
        "my_answer": mine.answer if mine else None,
        "my_slots": [int(s) for s in mine.available] if mine else [],
        "slots": [
            {
                "id": slot.id,
                "start": slot.start_at.astimezone(services.ZONE).isoformat(),
                "end": slot.end_at.astimezone(services.ZONE).isoformat(),
                "suits": [i.user.name for i in appointments.who_suits(appointment, slot)],
            }
            # In order of time, a slot just proposed included.
            for slot in sorted(appointment.slots, key=lambda s: s.start_at)
        ],
        "invitees": [
            {"name": i.user.name, "answer": i.answer, "comment": i.comment}
            for i in appointment.invitees
        ],
        "event_id": appointment.event_id,
        "url": appointments.url(appointment, external=True),
    }


def _body() -> dict[str, Any]:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        toolkit.refuse(_("Envoyez un objet JSON : « calendar », « title », « start », « end »..."))
    return data


def _key(values: Any) -> str | None:
    key = values.get("date")
    return str(key) if key else None


def _raw(body: dict[str, Any]) -> dict[str, Any]:
    """The JSON body in the services' terms (the event form's fields)."""
    start_date, start_time = _split(body.get("start"), "start")
    end_date, end_time = _split(body.get("end"), "end")
    all_day = bool(body.get("all_day", start_date and not start_time))
    if all_day and end_date:
        # The API speaks iCalendar's exclusive end; the form, the last day.
        last = dt.date.fromisoformat(end_date) - dt.timedelta(days=1)
        end_date = max(last, dt.date.fromisoformat(start_date)).isoformat() if start_date else ""
    return {
        "calendar": body.get("calendar", body.get("calendar_id")),
        "title": body.get("title"),
        "place": body.get("place") or "",
        "description": body.get("description") or "",
        "category": body.get("category") or "autre",
        "visibility": body.get("visibility") or "",
        "all_day": all_day,
        "start_date": start_date,
        "start_time": "" if all_day else start_time,
        "end_date": end_date,
        "end_time": "" if all_day else end_time,
        "rrule": body.get("rrule") or "",
        # Absent: unchanged (the services keep what the event has).
        **{name: body[name] for name in ("attendees", "guests") if name in body},
    }


def _split(value: object, field: str) -> tuple[str, str]:
    """An ISO date or date-time as the form's (date, time) in Paris."""
    if value in (None, ""):
        return "", ""
    text = str(value)
    try:
        if len(text) == 10:
            return dt.date.fromisoformat(text).isoformat(), ""
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise services.EventError(
            {field: _("« %(value)s » n'est pas une date ISO 8601.", value=text[:30])}
        ) from None
    if moment.tzinfo is not None:
        moment = moment.astimezone(services.ZONE)
    return moment.date().isoformat(), moment.strftime("%H:%M")
