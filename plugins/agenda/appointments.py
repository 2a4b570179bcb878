"""Appointments ("rendez-vous individuels ou collectifs"): a member proposes one or several
slots to other members; each invitee says which slots suit them, declines, or proposes
another time; the organiser sees the answers and confirms a slot, which becomes a private
event of the agenda whose attendees are those who said yes. Everyone concerned is notified
at each step. As in ``services``: permissions checked here, audit written here, the commit
left to the caller.

Who may see an appointment: its organiser and its invitees (a 404 for anyone else).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from flask import url_for
from sqlalchemy import or_, select
from werkzeug.exceptions import NotFound

from core import toolkit
from core.toolkit import gettext as _
from plugins.agenda import services
from plugins.agenda.models import (
    ACCEPTED,
    CANCELLED,
    CONFIRMED,
    DECLINED,
    OPEN,
    PRIVATE,
    PROPOSED,
    Appointment,
    Attendee,
    Calendar,
    Event,
    Invitee,
    Slot,
)

ORGANISE = "agenda.view_members"  # the council and the staff arrange meetings
MAX_SLOTS = 6
MAX_INVITEES = 50


def can_organise(commune: toolkit.Commune, user: toolkit.User | None) -> bool:
    return toolkit.has_permission(user, commune, ORGANISE)


def invitable(commune: toolkit.Commune, user: toolkit.User) -> list[toolkit.User]:
    """The members one may invite: the council and the staff, oneself aside."""
    people = toolkit.members_with_permission(commune, ORGANISE)
    return sorted((p for p in people if p.id != user.id), key=lambda p: p.name.lower())


def url(appointment: Appointment, external: bool = False) -> str:
    return url_for("agenda.appointment", appointment_id=appointment.id, _external=external)


# --- Input ------------------------------------------------------------------------------------


@dataclass
class AppointmentInput:
    calendar: Calendar
    title: str
    place: str
    description: str
    invitees: list[toolkit.User]
    slots: list[tuple[dt.datetime, dt.datetime]]


def parse_slot(
    day: object, start: object, end: object, field: str
) -> tuple[dt.datetime, dt.datetime]:
    """One slot from its date and times (Paris); raises ``EventError`` naming ``field``."""
    date = services.parse_date(day)
    begin, finish = services.parse_time(start), services.parse_time(end)
    if date is None or begin is None or finish is None:
        raise services.EventError(
            {field: _("Indiquez la date, l'heure de début et l'heure de fin du créneau.")}
        )
    first = dt.datetime.combine(date, begin, tzinfo=services.ZONE)
    last = dt.datetime.combine(date, finish, tzinfo=services.ZONE)
    if last <= first:
        raise services.EventError({field: _("La fin du créneau doit être après son début.")})
    if first < services.now_local():
        raise services.EventError({field: _("Ce créneau est déjà passé.")})
    return first, last


def validate(
    commune: toolkit.Commune,
    user: toolkit.User,
    raw: Mapping[str, Any],
    slots: Sequence[tuple[object, object, object]],
) -> AppointmentInput:
    """Check a new appointment: ``raw`` holds ``title``, ``place``, ``description``,
    ``calendar`` and ``invitees`` (user ids); ``slots`` the (date, start, end) of each row
    of the form, empty rows ignored."""
    errors: dict[str, object] = {}
    title = str(raw.get("title") or "").strip()
    if not title:
        errors["title"] = _("Donnez un objet au rendez-vous.")
    elif len(title) > services.TITLE_MAX:
        errors["title"] = _(
            "L'objet ne doit pas dépasser %(limit)d caractères.", limit=services.TITLE_MAX
        )
    place = str(raw.get("place") or "").strip()[: services.PLACE_MAX]
    description = str(raw.get("description") or "").strip()[: services.DESCRIPTION_MAX]
    own = {c.id: c for c in services.calendars(commune)}
    calendar = own.get(_integer(raw.get("calendar")))
    if calendar is None:
        errors["calendar"] = _("Choisissez un agenda de la commune.")
    allowed = {p.id: p for p in invitable(commune, user)}
    chosen = {_integer(i) for i in raw.get("invitees") or []}
    invitees = [allowed[i] for i in sorted(chosen - {None}) if i in allowed]
    if not chosen - {None}:
        errors["invitees"] = _("Invitez au moins une personne.")
    elif len(invitees) != len(chosen - {None}):
        errors["invitees"] = _("On ne peut inviter que des élus et des agents de la commune.")
    elif len(invitees) > MAX_INVITEES:
        errors["invitees"] = _("Pas plus de %(max)d invités.", max=MAX_INVITEES)
    found = []
    for n, (day, start, end) in enumerate(slots, 1):
        if not any(str(v or "").strip() for v in (day, start, end)):
            continue
        try:
            found.append(parse_slot(day, start, end, f"slot{n}"))
        except services.EventError as error:
            errors.update(error.errors)
    if not found and not any(k.startswith("slot") for k in errors):
        errors["slot1"] = _("Proposez au moins un créneau.")
    if len(set(found)) != len(found):
        errors["slot1"] = _("Deux créneaux sont identiques.")
    if errors:
        raise services.EventError(errors)
    assert calendar is not None
    return AppointmentInput(calendar, title, place, description, invitees, sorted(found))


def _integer(value: object) -> int | None:
    text = str(value or "").strip()
    return int(text) if text.isdigit() and len(text) < 10 else None


# --- Reading ----------------------------------------------------------------------------------


def mine(commune: toolkit.Commune, user: toolkit.User) -> list[Appointment]:
    """The appointments of ``commune`` that ``user`` organises or is invited to."""
    invited = select(Invitee.appointment_id).where(Invitee.user_id == user.id)
    return list(
        toolkit.db.scalars(
            select(Appointment)
            .where(
                Appointment.commune_id == commune.id,
                or_(Appointment.organiser_id == user.id, Appointment.id.in_(invited)),
            )
            .order_by(Appointment.created_at.desc(), Appointment.id.desc())
        )
    )


def get(commune: toolkit.Commune, user: toolkit.User, appointment_id: int) -> Appointment:
    appointment = toolkit.db.get(Appointment, appointment_id)
    if (
        appointment is None
        or appointment.commune_id != commune.id
        or (appointment.organiser_id != user.id and invitee_of(appointment, user) is None)
    ):
        toolkit.refuse(_("Ce rendez-vous n'existe pas, ou vous n'y êtes pas invité."), 404)
    return appointment


def invitee_of(appointment: Appointment, user: toolkit.User) -> Invitee | None:
    return next((i for i in appointment.invitees if i.user_id == user.id), None)


def who_suits(appointment: Appointment, slot: Slot) -> list[Invitee]:
    return [i for i in appointment.invitees if str(slot.id) in (i.available or ())]


# --- Changing ---------------------------------------------------------------------------------


def create(commune: toolkit.Commune, user: toolkit.User, data: AppointmentInput) -> Appointment:
    toolkit.check(ORGANISE, commune=commune, user=user)
    appointment = Appointment(
        commune_id=commune.id,
        organiser_id=user.id,
        calendar_id=data.calendar.id,
        title=data.title,
        place=data.place,
        description=data.description,
        status=OPEN,
    )
    appointment.slots = [Slot(start_at=a, end_at=b, proposed_by_id=user.id) for a, b in data.slots]
    appointment.invitees = [Invitee(user_id=p.id, available=[]) for p in data.invitees]
    toolkit.db.add(appointment)
    toolkit.db.flush()
    services.record(
        "agenda.appointment_created",
        commune,
        user,
        appointment.id,
        {"title": data.title, "slots": len(data.slots), "invitees": len(data.invitees)},
        object_type="appointment",
    )
    toolkit.notify(
        data.invitees,
        "agenda.appointment",
        _("%(name)s vous propose un rendez-vous : %(title)s", name=user.name, title=data.title),
        _("Dites quels créneaux vous conviennent."),
        url=url(appointment),
        commune=commune,
    )
    return appointment


def answer(
    commune: toolkit.Commune,
    user: toolkit.User,
    appointment: Appointment,
    available: Sequence[object],
    proposal: tuple[object, object, object] | None = None,
    comment: str = "",
) -> Invitee:
    """An invitee's answer: the slots that suit them (none: they decline), and maybe
    another time they propose, which becomes a slot offered to everyone."""
    invitee = invitee_of(appointment, user)
    if invitee is None or appointment.commune_id != commune.id:
        raise NotFound()
    if appointment.status != OPEN:
        raise services.EventError({"answer": _("Ce rendez-vous n'attend plus de réponse.")})
    known = {str(s.id) for s in appointment.slots}
    chosen = sorted({str(v) for v in available} & known)
    if {str(v) for v in available} - known:
        raise services.EventError(
            {"answer": _("Ce créneau n'est pas proposé pour ce rendez-vous.")}
        )
    if proposal is not None and any(str(v or "").strip() for v in proposal):
        if len(appointment.slots) >= MAX_SLOTS * 2:
            raise services.EventError({"proposal": _("Trop de créneaux sont déjà proposés.")})
        start, end = parse_slot(*proposal, field="proposal")
        slot = Slot(start_at=start, end_at=end, proposed_by_id=user.id)
        appointment.slots.append(slot)
        toolkit.db.flush()
        chosen.append(str(slot.id))
        invitee.answer = PROPOSED
    else:
        invitee.answer = ACCEPTED if chosen else DECLINED
    invitee.available = chosen
    invitee.comment = comment.strip()[:500]
    invitee.answered_at = toolkit.utcnow()
    services.record(
        "agenda.appointment_answered",
        commune,
        user,
        appointment.id,
        {"answer": invitee.answer, "slots": chosen},
        object_type="appointment",
    )
    if appointment.organiser is not None:
        toolkit.notify(
            [appointment.organiser],
            "agenda.appointment",
            _("%(name)s a répondu : %(title)s", name=user.name, title=appointment.title),
            url=url(appointment),
            commune=commune,
        )
    return invitee


def confirm(
    commune: toolkit.Commune, user: toolkit.User, appointment: Appointment, slot_id: object
) -> Event:
    """The organiser fixes the slot: a private event in the appointment's calendar, with
    the organiser and those the slot suits as attendees; every invitee is told."""
    _organiser_only(commune, user, appointment)
    slot = next((s for s in appointment.slots if str(s.id) == str(slot_id)), None)
    if slot is None:
        raise services.EventError({"slot": _("Choisissez un des créneaux proposés.")})
    event = Event(
        commune_id=commune.id,
        calendar_id=appointment.calendar_id,
        uid=services.new_uid(commune),
        sequence=0,
        title=appointment.title,
        place=appointment.place,
        description=appointment.description,
        category="reunion",
        visibility=PRIVATE,
        all_day=False,
        start_at=slot.start_at,
        end_at=slot.end_at,
        timezone=services.ZONE_NAME,
        author_id=user.id,
    )
    event.exdates, event.overridden = [], []
    toolkit.db.add(event)
    toolkit.db.flush()
    coming = who_suits(appointment, slot)
    for person_id in {user.id, *(i.user_id for i in coming)}:
        toolkit.db.add(Attendee(event_id=event.id, user_id=person_id, status=ACCEPTED))
    appointment.status, appointment.event_id = CONFIRMED, event.id
    when = services.describe_slot(slot.start_at, slot.end_at)
    services.record(
        "agenda.appointment_confirmed",
        commune,
        user,
        appointment.id,
        {"slot": slot.id, "event": event.id, "attendees": len(coming) + 1},
        object_type="appointment",
    )
    toolkit.notify(
        [i.user for i in appointment.invitees],
        "agenda.appointment",
        _("Rendez-vous fixé : %(title)s, %(when)s", title=appointment.title, when=when),
        url=url(appointment),
        commune=commune,
    )
    return event


def cancel(commune: toolkit.Commune, user: toolkit.User, appointment: Appointment) -> None:
    _organiser_only(commune, user, appointment)
    appointment.status = CANCELLED
    services.record(
        "agenda.appointment_cancelled", commune, user, appointment.id, object_type="appointment"
    )
    toolkit.notify(
        [i.user for i in appointment.invitees],
        "agenda.appointment",
        _("Rendez-vous annulé : %(title)s", title=appointment.title),
        url=url(appointment),
        commune=commune,
    )


def _organiser_only(commune: toolkit.Commune, user: toolkit.User, appointment: Appointment) -> None:
    if appointment.commune_id != commune.id:
        raise NotFound()
    if appointment.organiser_id != user.id:
        toolkit.refuse(_("Seul l'organisateur peut fixer ou annuler ce rendez-vous."), 403)
    if appointment.status != OPEN:
        raise services.EventError({"slot": _("Ce rendez-vous est déjà fixé ou annulé.")})
