"""The agenda's logic, shared by the HTML pages, the hooks, and later the JSON API.

Each action checks its permission here, validates its input, writes its audit record, and
leaves the commit to the caller, so that a change and its audit record are saved together
or not at all.

Who sees what:

- ``agenda.write`` (maire, adjoints, agents by default) may create, change and delete the
  events of the commune's shared calendars, and sees all of them;
- ``agenda.personal`` (the council and the staff) gives a member a calendar of their own in
  the commune, which they alone write;
- ``agenda.view_members`` (the council and the staff) sees the public and the members'
  events, of every calendar;
- a private event is seen by its author, those expected at it, and whoever writes its
  calendar; in a member's own calendar, that is the member alone;
- everyone else with ``agenda.view`` (citizens, partners) sees the public events only.

A calendar's subscription feed (``/abonnement/<token>.ics``) is a members' feed: it holds
the public and the members' events of that calendar, never the private ones. Its address
carries a secret token, stored hashed: it is shown once to the writer who makes it, and
making a new one ends the old address (404).
"""

from __future__ import annotations

import calendar as pycalendar
import dataclasses
import datetime as dt
import hashlib
import re
import secrets
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

import email_validator
from flask import url_for
from flask_babel import format_date, format_time
from sqlalchemy import Select, and_, false, func, or_, select
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import defer, selectinload
from werkzeug.exceptions import NotFound

from core import toolkit
from core.toolkit import gettext as _
from core.toolkit import lazy_gettext as _l
from plugins.agenda import recurrence
from plugins.agenda.models import (
    CATEGORIES,
    COMMISSION,
    COUNCIL,
    MEMBERS,
    PALETTE,
    PERSONAL,
    PRIVATE,
    PUBLIC,
    PUBLIC_EVENTS,
    VISIBILITIES,
    Appointment,
    Attendee,
    Calendar,
    Event,
    PlanningFeed,
)

PLUGIN = "agenda"
ZONE_NAME = "Europe/Paris"
ZONE = ZoneInfo(ZONE_NAME)
TITLE_MAX = 200
PLACE_MAX = 200
DESCRIPTION_MAX = 5000
PERSONAL_PERMISSION = "agenda.personal"
PERSONAL_COLOUR = "ardoise"
MAX_GUESTS = 50  # e-mail addresses from outside the commune, per event
# Who may be named as an attendee: the council and the staff.
ATTEND = "agenda.view_members"
WIDGET_LIMIT = 5
UPCOMING_DAYS = 92
UPCOMING_LIMIT = 100
# A feed holds the past year and everything to come.
FEED_PAST_DAYS = 366
DEFAULT_DURATION = dt.timedelta(hours=1)

TITLE_REQUIRED = _l("Donnez un titre à l'événement.")
START_DATE_REQUIRED = _l("Indiquez la date de début.")

# The calendars every commune gets when it enables the agenda: (kind, name, colour,
# visibility a new event starts with). Council meetings are public by law.
DEFAULT_CALENDARS = (
    (COUNCIL, "Conseil municipal", "bleu", PUBLIC),
    (COMMISSION, "Commissions", "vert", MEMBERS),
    (PUBLIC_EVENTS, "Événements de la mairie", "violet", PUBLIC),
)


class EventError(Exception):
    """Input that cannot be accepted: ``errors`` maps each field at fault (form field or
    JSON key) to a message for the person, in their language."""

    def __init__(self, errors: Mapping[str, object]) -> None:
        self.errors = {name: str(message) for name, message in errors.items()}
        super().__init__("; ".join(self.errors.values()))

    @property
    def message(self) -> str:
        return next(iter(self.errors.values()), "")


# --- Who may do what --------------------------------------------------------------------------


def can_write(commune: toolkit.Commune, user: toolkit.User | None) -> bool:
    """Whether ``user`` writes some calendar of ``commune``: its shared ones, or their own."""
    return writes_shared(commune, user) or has_personal(commune, user)


def writes_shared(commune: toolkit.Commune, user: toolkit.User | None) -> bool:
    return toolkit.has_permission(user, commune, "agenda.write")


def has_personal(commune: toolkit.Commune, user: toolkit.User | None) -> bool:
    """Whether ``user`` keeps a calendar of their own in ``commune``: a member whose role
    has ``agenda.personal`` (a platform admin visiting the commune has none)."""
    return (
        user is not None
        and any(m.commune_id == commune.id for m in user.memberships)
        and toolkit.has_permission(user, commune, PERSONAL_PERMISSION)
    )


def writes(commune: toolkit.Commune, user: toolkit.User | None, calendar: Calendar) -> bool:
    """Whether ``user`` may add, change and remove the events of ``calendar``."""
    if calendar.commune_id != commune.id:
        return False
    if calendar.owner_id is not None:
        return user is not None and calendar.owner_id == user.id and has_personal(commune, user)
    return writes_shared(commune, user)


def check_calendar(commune: toolkit.Commune, user: toolkit.User, calendar: Calendar) -> None:
    """Refuse (404 for a calendar of another commune, else 403) unless ``user`` writes it."""
    if calendar.commune_id != commune.id:
        raise NotFound()
    if not writes(commune, user, calendar):
        toolkit.refuse(_("Vous ne pouvez pas modifier les événements de cet agenda."), 403)


def check_write(commune: toolkit.Commune, user: toolkit.User, event: Event) -> None:
    """Refuse (403, or 404 for an event of another commune) unless ``user`` writes it."""
    if event.commune_id != commune.id:
        raise NotFound()
    check_calendar(commune, user, event.calendar)


def sees_members_events(commune: toolkit.Commune, user: toolkit.User | None) -> bool:
    return toolkit.has_permission(user, commune, "agenda.view_members")


def visible_events(commune: toolkit.Commune, user: toolkit.User | None) -> Select[tuple[Event]]:
    """The events of ``commune`` that ``user`` may see, as a query to refine.

    A private event shows to its author, to those expected at it and to whoever writes its
    calendar: the writers for a shared calendar, its owner alone for a personal one."""
    query = select(Event).where(Event.commune_id == commune.id)
    if user is None or not toolkit.has_permission(user, commune, "agenda.view"):
        return query.where(false())
    private_shown = [
        Event.author_id == user.id,
        Event.id.in_(select(Attendee.event_id).where(Attendee.user_id == user.id)),
        Event.calendar_id.in_(
            select(Calendar.id).where(
                Calendar.commune_id == commune.id, Calendar.owner_id == user.id
            )
        ),
    ]
    if writes_shared(commune, user):
        shared = select(Calendar.id).where(
            Calendar.commune_id == commune.id, Calendar.owner_id.is_(None)
        )
        private_shown.append(Event.calendar_id.in_(shared))
    shown = [Event.visibility == PUBLIC, and_(Event.visibility == PRIVATE, or_(*private_shown))]
    if sees_members_events(commune, user):
        shown.append(Event.visibility == MEMBERS)
    return query.where(or_(*shown))


# --- Calendars --------------------------------------------------------------------------------


def ensure_calendars(commune: toolkit.Commune) -> list[Calendar]:
    """Create the commune's default calendars that it does not have (idempotent)."""
    existing = set(
        toolkit.db.scalars(select(Calendar.kind).where(Calendar.commune_id == commune.id))
    )
    added = []
    for kind, name, colour, visibility in DEFAULT_CALENDARS:
        if kind in existing:
            continue
        calendar = Calendar(
            commune_id=commune.id,
            kind=kind,
            name=name,
            colour=colour,
            default_visibility=visibility,
        )
        toolkit.db.add(calendar)
        added.append(calendar)
    if added:
        toolkit.db.flush()
        toolkit.audit(
            "agenda.calendars_created",
            commune=commune,
            module=PLUGIN,
            object_type="calendar",
            details={"names": [c.name for c in added]},
        )
    return added


def calendars(commune: toolkit.Commune) -> list[Calendar]:
    """The commune's shared calendars (not its members' own)."""
    return list(
        toolkit.db.scalars(
            select(Calendar)
            .where(Calendar.commune_id == commune.id, Calendar.owner_id.is_(None))
            .order_by(Calendar.id)
        )
    )


def personal_calendar(commune: toolkit.Commune, user: toolkit.User | None) -> Calendar | None:
    """``user``'s own calendar in ``commune``, made the first time it is asked for (the
    caller commits), or None if they may not keep one."""
    if user is None or not has_personal(commune, user):
        return None
    query = select(Calendar).where(Calendar.commune_id == commune.id, Calendar.owner_id == user.id)
    found = toolkit.db.scalar(query)
    if found is not None:
        return found
    calendar = Calendar(
        commune_id=commune.id,
        owner_id=user.id,
        kind=PERSONAL,
        name=_("Agenda de %(name)s", name=user.name)[:100],
        colour=PERSONAL_COLOUR,
        default_visibility=PRIVATE,
    )
    if not toolkit.add_once(calendar):  # another request of theirs made it meanwhile
        return toolkit.db.scalar(query)
    return calendar


def shown_calendars(commune: toolkit.Commune, user: toolkit.User | None) -> list[Calendar]:
    """The calendars a person's pages offer: the commune's, then their own once it is made
    (``offered_calendars``), in one query."""
    mine = Calendar.owner_id == user.id if user is not None else false()
    return list(
        toolkit.db.scalars(
            select(Calendar)
            .where(Calendar.commune_id == commune.id, or_(Calendar.owner_id.is_(None), mine))
            .order_by(Calendar.owner_id.is_not(None), Calendar.id)
        )
    )


def offered_calendars(commune: toolkit.Commune, user: toolkit.User | None) -> list[Calendar]:
    """``shown_calendars``, the person's own calendar made and saved on their first visit
    (committed here, an exception to this module's rule: the page that makes it only reads)."""
    shown = shown_calendars(commune, user)
    if all(c.owner_id is None for c in shown):
        own = personal_calendar(commune, user)
        if own is not None:
            shown.append(own)
            toolkit.db.commit()
    return shown


def get_calendar(commune: toolkit.Commune, user: toolkit.User | None, calendar_id: int) -> Calendar:
    """One of the calendars ``user``'s pages offer (another member's own is a 404)."""
    found = next((c for c in shown_calendars(commune, user) if c.id == calendar_id), None)
    if found is None:
        toolkit.refuse(_("Cet agenda n'existe pas dans cette commune."), 404)
    return found


def update_calendar(
    commune: toolkit.Commune, user: toolkit.User, calendar: Calendar, name: object, colour: object
) -> bool:
    """Rename a calendar or change its colour (one of the palette's); returns whether
    anything changed."""
    check_calendar(commune, user, calendar)
    name, colour = _calendar_fields(commune, name, colour, calendar)
    before = {"name": calendar.name, "colour": calendar.colour}
    after = {"name": name, "colour": colour}
    if before == after:
        return False
    calendar.name, calendar.colour = after["name"], after["colour"]
    record(
        "agenda.calendar_updated",
        commune,
        user,
        calendar.id,
        {"before": before, "after": after},
        object_type="calendar",
    )
    return True


def _calendar_fields(
    commune: toolkit.Commune,
    name: object,
    colour: object,
    calendar: Calendar | None = None,
    visibility: object = None,
) -> tuple[str, str]:
    """A calendar's name (given, at most 100 characters, not another calendar's of the
    commune), colour (of the palette) and, when given, default visibility; raises
    ``EventError`` with every field at fault."""
    name = _text(name)
    errors: dict[str, object] = {}
    if not name:
        errors["name"] = _("Donnez un nom à l'agenda.")
    elif len(name) > 100:
        errors["name"] = _("Le nom ne doit pas dépasser 100 caractères.")
    elif (calendar is None or calendar.owner_id is None) and any(
        c.name.casefold() == name.casefold() and c is not calendar for c in calendars(commune)
    ):
        errors["name"] = _("La commune a déjà un agenda « %(name)s ».", name=name)
    if colour not in PALETTE:
        errors["colour"] = _("Choisissez une couleur dans la liste.")
    if visibility is not None and visibility not in VISIBILITIES:
        errors["visibility"] = _("Choisissez qui peut voir ses événements.")
    if errors:
        raise EventError(errors)
    return name, str(colour)


def add_calendar(
    commune: toolkit.Commune, user: toolkit.User, name: object, colour: object, visibility: object
) -> Calendar:
    """A new calendar of the commune (a commission's, say), its events visible to
    ``visibility`` by default."""
    toolkit.check("agenda.write", commune=commune, user=user)
    name, colour = _calendar_fields(commune, name, colour, visibility=visibility)
    calendar = Calendar(
        commune_id=commune.id,
        kind=COMMISSION,
        name=name,
        colour=colour,
        default_visibility=str(visibility),
    )
    toolkit.db.add(calendar)
    toolkit.db.flush()
    record(
        "agenda.calendar_created",
        commune,
        user,
        calendar.id,
        {"name": name, "colour": colour, "visibility": calendar.default_visibility},
        object_type="calendar",
    )
    return calendar


def removable(calendar: Calendar) -> bool:
    """Whether a calendar may be removed: a commission's holding no event nor appointment
    (the council's, the mairie's and the members' own stay; nothing is ever deleted with a
    calendar)."""
    if calendar.kind != COMMISSION:
        return False
    held = (
        select(Event.id).where(Event.calendar_id == calendar.id),
        select(Appointment.id).where(Appointment.calendar_id == calendar.id),
    )
    return not any(toolkit.db.scalar(query.limit(1)) for query in held)


def remove_calendar(commune: toolkit.Commune, user: toolkit.User, calendar: Calendar) -> None:
    toolkit.check("agenda.write", commune=commune, user=user)
    if calendar.commune_id != commune.id:
        raise NotFound()
    if not removable(calendar):
        raise EventError(
            {
                "calendar": _(
                    "Seul un agenda de commission vide peut être retiré : déplacez ou "
                    "supprimez d'abord ses événements."
                )
            }
        )
    record(
        "agenda.calendar_removed",
        commune,
        user,
        calendar.id,
        {"name": calendar.name},
        object_type="calendar",
    )
    toolkit.db.delete(calendar)


def record(
    action: str,
    commune: toolkit.Commune,
    user: toolkit.User,
    object_id: int,
    details: dict[str, Any] | None = None,
    object_type: str = "event",
) -> None:
    """The audit record of an agenda change (events, calendars, appointments), saved with
    it by the caller's commit."""
    toolkit.audit(
        action,
        commune=commune,
        module=PLUGIN,
        object_type=object_type,
        object_id=object_id,
        details=details or {},
        actor=user,
    )


def _bump(event: Event) -> None:
    """A change subscribed phones must take: SEQUENCE up, LAST-MODIFIED now."""
    event.sequence += 1
    event.updated_at = toolkit.utcnow()


# --- Occurrences ------------------------------------------------------------------------------


@dataclass
class Occurrence:
    """One occurrence of an event: its start and end, aware, in the event's zone."""

    event: Event
    start: dt.datetime
    end: dt.datetime

    @property
    def all_day(self) -> bool:
        return self.event.all_day

    @property
    def key(self) -> str:
        """How iCalendar's EXDATE and this plugin's URLs name the occurrence (a changed
        occurrence keeps the name of the one it replaces)."""
        return self.event.recurrence_id or occurrence_key(self.event, self.start)

    @property
    def last_day(self) -> dt.date:
        """The last day it covers (an all-day event's end is exclusive)."""
        end = self.end - dt.timedelta(microseconds=1) if self.end > self.start else self.end
        return end.date()

    def days(self) -> list[dt.date]:
        day, days = self.start.date(), []
        while day <= self.last_day:
            days.append(day)
            day += dt.timedelta(days=1)
        return days


def zone_of(event: Event) -> ZoneInfo:
    return ZoneInfo(event.timezone or ZONE_NAME)


def local_start(event: Event) -> dt.datetime:
    return event.start_at.astimezone(zone_of(event))


def local_end(event: Event) -> dt.datetime:
    return event.end_at.astimezone(zone_of(event))


def occurrence_key(event: Event, start: dt.datetime) -> str:
    return occurrence_key_at(start.astimezone(zone_of(event)), event.all_day)


def occurrence_key_at(local: dt.datetime, all_day: bool) -> str:
    """The key of an occurrence starting at ``local`` (wall-clock time of its zone)."""
    return local.strftime("%Y%m%d") if all_day else local.strftime("%Y%m%dT%H%M%S")


def expand(event: Event, after: dt.datetime, before: dt.datetime) -> list[Occurrence]:
    """The occurrences of ``event`` that end after ``after`` and start before ``before``
    (aware datetimes), EXDATEs and the occurrences changed on their own left out."""
    start, end = local_start(event), local_end(event)
    duration = end - start
    if not event.rrule:
        if start < before and (end > after or (end == start and start >= after)):
            return [Occurrence(event, start, end)]
        return []
    removed = {*(event.exdates or ()), *(event.overridden or ())}
    found = []
    for begin in recurrence.occurrences(event.rrule, start, after - duration, before):
        # A wall-clock start plus the duration, in wall-clock time too (an all-day event
        # ends at midnight, even on the night the clocks change).
        finish = (begin.replace(tzinfo=None) + duration).replace(tzinfo=begin.tzinfo)
        if occurrence_key(event, begin) in removed:
            continue
        if finish > after or (finish == begin and begin >= after):
            found.append(Occurrence(event, begin, finish))
    return found


# What lists of dates never read: hundreds of events load per month, and on SQLite each
# date column is parsed in Python. A page of one event loads it whole.
LISTING = (
    defer(Event.description),
    defer(Event.sequence),
    defer(Event.created_at),
    defer(Event.updated_at),
)


def occurrences_between(
    commune: toolkit.Commune,
    user: toolkit.User | None,
    after: dt.datetime,
    before: dt.datetime,
    calendar_id: int | None = None,
    query: Select[tuple[Event]] | None = None,
) -> list[Occurrence]:
    """Every occurrence ``user`` may see in ``[after, before)``, in order."""
    base = query if query is not None else visible_events(commune, user)
    candidates = base.where(
        Event.start_at < before,
        or_(
            and_(Event.rrule.is_(None), Event.end_at >= after),
            and_(
                Event.rrule.is_not(None),
                or_(Event.recurrence_end_at.is_(None), Event.recurrence_end_at >= after),
            ),
        ),
    ).options(selectinload(Event.calendar), *LISTING)
    if calendar_id is not None:
        candidates = candidates.where(Event.calendar_id == calendar_id)
    found = []
    for event in toolkit.db.scalars(candidates):
        found.extend(expand(event, after, before))
    found.sort(key=lambda o: (o.start.astimezone(dt.UTC), not o.all_day, o.event.title))
    return found


def describe_slot(start: dt.datetime, end: dt.datetime) -> str:
    """« le jeudi 22 octobre 2026 de 18:00 à 19:00 », in Paris time."""
    return _(
        "le %(day)s de %(start)s à %(end)s",
        day=format_date(start.astimezone(ZONE).date(), "full"),
        start=format_time(start, "short"),
        end=format_time(end, "short"),
    )


def now_local() -> dt.datetime:
    return toolkit.utcnow().astimezone(ZONE)


def today() -> dt.date:
    return now_local().date()


def midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=ZONE)


@dataclass
class Day:
    date: dt.date
    in_month: bool
    is_today: bool
    occurrences: list[Occurrence] = field(default_factory=list)


@dataclass
class Month:
    year: int
    month: int
    first: dt.date
    weeks: list[list[Day]]
    previous: dt.date
    next: dt.date

    @property
    def days_with_events(self) -> list[Day]:
        return [d for week in self.weeks for d in week if d.in_month and d.occurrences]


def parse_month(value: str | None) -> dt.date:
    """``2026-10`` → 1 October 2026; the current month for anything else."""
    if value and re.fullmatch(r"\d{4}-\d{2}", value):
        year, month = int(value[:4]), int(value[5:])
        if 1900 <= year <= 2200 and 1 <= month <= 12:
            return dt.date(year, month, 1)
    current = today()
    return dt.date(current.year, current.month, 1)


def month_view(
    commune: toolkit.Commune,
    user: toolkit.User | None,
    first: dt.date,
    calendar_id: int | None = None,
) -> Month:
    """The weeks (Monday first) around the month of ``first``, each day with what
    ``user`` may see on it."""
    grid = pycalendar.Calendar(firstweekday=0).monthdatescalendar(first.year, first.month)
    start, end = grid[0][0], grid[-1][-1] + dt.timedelta(days=1)
    current = today()
    days = {
        day: Day(day, day.month == first.month, day == current) for week in grid for day in week
    }
    for occurrence in occurrences_between(
        commune, user, midnight(start), midnight(end), calendar_id
    ):
        for day in occurrence.days():
            if day in days:
                days[day].occurrences.append(occurrence)
    previous = (first - dt.timedelta(days=1)).replace(day=1)
    following = (first + dt.timedelta(days=32)).replace(day=1)
    return Month(
        first.year,
        first.month,
        first,
        [[days[d] for d in week] for week in grid],
        previous,
        following,
    )


@dataclass
class Week:
    first: dt.date  # its Monday
    days: list[Day]

    @property
    def previous(self) -> dt.date:
        return self.first - dt.timedelta(days=7)

    @property
    def next(self) -> dt.date:
        return self.first + dt.timedelta(days=7)

    @property
    def iso(self) -> str:
        year, week, _day = self.first.isocalendar()
        return f"{year}-W{week:02d}"


def parse_week(value: str | None) -> dt.date:
    """``2026-W43`` (ISO week) or a date within the week → its Monday; this week otherwise."""
    day = None
    if value and re.fullmatch(r"\d{4}-W\d{2}", value):
        try:
            day = dt.date.fromisocalendar(int(value[:4]), int(value[6:]), 1)
        except ValueError:
            day = None
    elif value:
        day = parse_date(value)
    if day is None or not 1900 <= day.year <= 2200:
        day = today()
    return day - dt.timedelta(days=day.weekday())


def week_view(
    commune: toolkit.Commune,
    user: toolkit.User | None,
    monday: dt.date,
    calendar_id: int | None = None,
) -> Week:
    """The seven days from ``monday``, each with what ``user`` may see on it."""
    current = today()
    days = [Day(monday + dt.timedelta(days=n), True, False) for n in range(7)]
    for day in days:
        day.is_today = day.date == current
    by_date = {day.date: day for day in days}
    after, before = midnight(monday), midnight(monday + dt.timedelta(days=7))
    for occurrence in occurrences_between(commune, user, after, before, calendar_id):
        for date in occurrence.days():
            if date in by_date:
                by_date[date].occurrences.append(occurrence)
    return Week(monday, days)


def planning(
    user: toolkit.User, after: dt.datetime, before: dt.datetime
) -> list[tuple[toolkit.Commune, Occurrence]]:
    """ "Mon planning": what ``user`` may see in ``[after, before)`` in every commune of
    theirs that uses the agenda, in order, each with its commune."""
    found = []
    for commune in planning_communes(user):
        found.extend((commune, o) for o in occurrences_between(commune, user, after, before))
    found.sort(key=lambda pair: (pair[1].start.astimezone(dt.UTC), pair[0].name))
    return found


def planning_communes(user: toolkit.User) -> list[toolkit.Commune]:
    """The communes of ``user`` that use the agenda and whose agenda they may open."""
    return sorted(
        (
            m.commune
            for m in user.memberships
            if toolkit.module_enabled(m.commune, PLUGIN)
            and toolkit.has_permission(user, m.commune, "agenda.view")
        ),
        key=lambda c: c.name,
    )


def upcoming(
    commune: toolkit.Commune,
    user: toolkit.User | None,
    limit: int = UPCOMING_LIMIT,
    days: int = UPCOMING_DAYS,
) -> list[Occurrence]:
    """What ``user`` may see from now on, over ``days`` days, at most ``limit``."""
    now = now_local()
    return occurrences_between(commune, user, now, now + dt.timedelta(days=days))[:limit]


def by_day(occurrences: Iterable[Occurrence]) -> list[tuple[dt.date, list[Occurrence]]]:
    grouped: dict[dt.date, list[Occurrence]] = {}
    for occurrence in occurrences:
        grouped.setdefault(occurrence.start.date(), []).append(occurrence)
    return list(grouped.items())


def get_event(commune: toolkit.Commune, user: toolkit.User | None, event_id: int) -> Event:
    """The event, if it belongs to ``commune`` and ``user`` may see it; 404 otherwise (the
    same answer whether it does not exist or is not for this person)."""
    event = toolkit.db.scalar(visible_events(commune, user).where(Event.id == event_id))
    if event is None:
        toolkit.refuse(_("Cet événement n'existe pas, ou il ne vous est pas visible."), 404)
    return event


def find_occurrence(event: Event, key: str | None) -> Occurrence | None:
    """The occurrence of ``event`` named ``key`` (``20261027T180000``), if it is one."""
    start = key_start(event, key) if key else None
    if start is None:
        return None
    for occurrence in expand(event, start, start + dt.timedelta(seconds=1)):
        if occurrence.key == key:
            return occurrence
    return None


def next_occurrence(event: Event) -> Occurrence | None:
    now = now_local()
    found = expand(event, now, now + dt.timedelta(days=3660))
    return found[0] if found else None


def first_occurrence(event: Event) -> Occurrence:
    return Occurrence(event, local_start(event), local_end(event))


def event_url(
    event: Event,
    occurrence: Occurrence | None = None,
    external: bool = False,
    commune: toolkit.Commune | None = None,
) -> str:
    values: dict[str, Any] = {"event_id": event.id, "_external": external}
    if commune is not None:
        values["insee"] = commune.insee
    if occurrence is not None and event.rrule:
        values["date"] = occurrence.key
    return url_for("agenda.show", **values)


def search(
    commune: toolkit.Commune, user: toolkit.User | None, query: str, limit: int
) -> list[Event]:
    words = query.strip()
    if not words:
        return []
    matches = or_(
        Event.title.icontains(words, autoescape=True),
        Event.place.icontains(words, autoescape=True),
    )
    return list(
        toolkit.db.scalars(
            visible_events(commune, user)
            .where(matches)
            .order_by(Event.start_at.desc(), Event.id.desc())
            .limit(limit)
        )
    )


# --- Input ------------------------------------------------------------------------------------


@dataclass
class EventInput:
    """What the form (or the API) sent, validated."""

    calendar: Calendar
    title: str
    place: str
    description: str
    category: str
    visibility: str
    all_day: bool
    start: dt.datetime  # aware, Europe/Paris
    end: dt.datetime
    rrule: str | None
    # None: what the event has stays (a caller that does not offer the field).
    attendees: list[toolkit.User] | None = None
    guests: list[str] | None = None


def _text(value: object) -> str:
    """The text of a field: browsers send CRLF line ends, which would count twice."""
    if not isinstance(value, str):
        return ""
    return value.replace("\r\n", "\n").strip()


def parse_date(value: object) -> dt.date | None:
    """``2026-10-27`` (a date field) or ``27/10/2026`` (typed by hand); None if neither."""
    text = _text(value)
    for pattern in ("%Y-%m-%d", "%d/%m/%Y"):
        try:
            return dt.datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    return None


def parse_time(value: object) -> dt.time | None:
    text = _text(value).replace("h", ":").replace("H", ":")
    if text.endswith(":"):
        text += "00"
    for pattern in ("%H:%M", "%H:%M:%S"):
        try:
            return dt.datetime.strptime(text, pattern).time()
        except ValueError:
            continue
    return None


def _local(day: dt.date, time: dt.time) -> dt.datetime | None:
    """The local datetime, or None if it does not exist (the hour skipped in March)."""
    moment = dt.datetime.combine(day, time, tzinfo=ZONE)
    back = moment.astimezone(dt.UTC).astimezone(ZONE)
    return moment if back.replace(tzinfo=None) == moment.replace(tzinfo=None) else None


def _integer(value: object) -> int | None:
    text = _text(value) if not isinstance(value, int) else str(value)
    return int(text) if text.isdigit() else None


def validate(commune: toolkit.Commune, user: toolkit.User, raw: Mapping[str, Any]) -> EventInput:
    """Check what a writer sent; raises ``EventError`` with every field at fault.

    ``raw`` holds the form's fields: ``calendar`` (id), ``title``, ``place``,
    ``description``, ``category``, ``visibility``, ``all_day``, ``start_date``,
    ``start_time``, ``end_date``, ``end_time`` and either the recurrence controls
    (``repeat``, ``interval``, ``weekdays``, ``monthly_by``, ``ends``, ``count``,
    ``until``) or an RFC 5545 ``rrule``.
    """
    errors: dict[str, object] = {}
    offered = {c.id: c for c in shown_calendars(commune, user)}
    chosen = offered.get(_integer(raw.get("calendar")) or -1)
    if chosen is None:
        errors["calendar"] = _("Choisissez un agenda de la commune.")
    else:
        check_calendar(commune, user, chosen)
    title = _text(raw.get("title"))
    if not title:
        errors["title"] = TITLE_REQUIRED
    elif len(title) > TITLE_MAX:
        errors["title"] = _(
            "Le titre ne doit pas dépasser %(limit)d caractères (%(count)d actuellement).",
            limit=TITLE_MAX,
            count=len(title),
        )
    place = _text(raw.get("place"))
    if len(place) > PLACE_MAX:
        errors["place"] = _(
            "Le lieu ne doit pas dépasser %(limit)d caractères (%(count)d actuellement).",
            limit=PLACE_MAX,
            count=len(place),
        )
    description = _text(raw.get("description"))
    if len(description) > DESCRIPTION_MAX:
        errors["description"] = _(
            "La description ne doit pas dépasser %(limit)d caractères (%(count)d actuellement).",
            limit=DESCRIPTION_MAX,
            count=len(description),
        )
    category = _text(raw.get("category")) or "autre"
    if category not in CATEGORIES:
        errors["category"] = _("Choisissez une catégorie dans la liste.")
    visibility = _text(raw.get("visibility")) or (chosen.default_visibility if chosen else PUBLIC)
    if visibility not in VISIBILITIES:
        errors["visibility"] = _("Choisissez qui peut voir l'événement.")
    all_day = raw.get("all_day") in (True, "y", "on", "true", "1")

    start = end = None
    start_day = parse_date(raw.get("start_date"))
    if start_day is None:
        errors["start_date"] = (
            START_DATE_REQUIRED
            if not _text(raw.get("start_date"))
            else _("La date de début n'est pas valable : écrivez-la jj/mm/aaaa.")
        )
    end_day = parse_date(raw.get("end_date")) if _text(raw.get("end_date")) else start_day
    if end_day is None:
        errors["end_date"] = _("La date de fin n'est pas valable : écrivez-la jj/mm/aaaa.")
    if all_day:
        if start_day is not None and end_day is not None:
            start = midnight(start_day)
            end = midnight(end_day + dt.timedelta(days=1))
            if end_day < start_day:
                errors["end_date"] = _("La fin doit être après le début.")
    else:
        start_time = parse_time(raw.get("start_time"))
        if start_time is None:
            errors["start_time"] = (
                _("Indiquez l'heure de début, ou cochez « Toute la journée ».")
                if not _text(raw.get("start_time"))
                else _("L'heure de début n'est pas valable : écrivez-la hh:mm.")
            )
        end_time = parse_time(raw.get("end_time")) if _text(raw.get("end_time")) else None
        if _text(raw.get("end_time")) and end_time is None:
            errors["end_time"] = _("L'heure de fin n'est pas valable : écrivez-la hh:mm.")
        if start_day is not None and start_time is not None:
            start = _local(start_day, start_time)
            if start is None:
                errors["start_time"] = _(
                    "Cette heure n'existe pas ce jour-là (passage à l'heure d'été) : "
                    "choisissez-en une autre."
                )
        if start is not None and end_day is not None and "end_time" not in errors:
            if end_time is None:
                end = (start.replace(tzinfo=None) + DEFAULT_DURATION).replace(tzinfo=ZONE)
            else:
                end = _local(end_day, end_time)
                if end is None:
                    errors["end_time"] = _(
                        "Cette heure n'existe pas ce jour-là (passage à l'heure d'été) : "
                        "choisissez-en une autre."
                    )
            if end is not None and end <= start:
                errors["end_time" if end_day == start_day else "end_date"] = _(
                    "La fin doit être après le début."
                )

    rule = None
    if start is not None and end is not None and not errors.keys() & {"end_date", "end_time"}:
        try:
            rule = _recurrence(raw, start, all_day)
        except recurrence.RecurrenceError as error:
            errors[error.field] = error.message
    attendees = _attendees(commune, raw, errors) if "attendees" in raw else None
    guests = _guests(raw, errors) if "guests" in raw else None
    if errors:
        raise EventError(errors)
    assert chosen is not None and start is not None and end is not None
    return EventInput(
        attendees=attendees,
        guests=guests,
        calendar=chosen,
        title=title,
        place=place,
        description=description,
        category=category,
        visibility=visibility,
        all_day=all_day,
        start=start,
        end=end,
        rrule=rule,
    )


def may_attend(commune: toolkit.Commune) -> list[toolkit.User]:
    """The members one may name as attendees, by name."""
    people = toolkit.members_with_permission(commune, ATTEND)
    return sorted(people, key=lambda p: p.name.lower())


def _attendees(
    commune: toolkit.Commune, raw: Mapping[str, Any], errors: dict[str, object]
) -> list[toolkit.User]:
    chosen = raw.get("attendees") or []
    if isinstance(chosen, str | int):
        chosen = [chosen]
    ids = {_integer(value) for value in chosen}
    known = {p.id: p for p in may_attend(commune)}
    if not ids <= known.keys():
        errors["attendees"] = _("On ne peut inviter que des élus et des agents de la commune.")
    return [known[i] for i in sorted(ids & known.keys())]


def _guests(raw: Mapping[str, Any], errors: dict[str, object]) -> list[str]:
    """E-mail addresses, one per line (or separated by commas or semicolons), each checked
    and normalised; the same address once."""
    value = raw.get("guests") or []
    items = value if isinstance(value, list) else re.split(r"[\s,;]+", _text(value))
    guests: list[str] = []
    for item in (str(i).strip() for i in items):
        if not item:
            continue
        try:
            address = email_validator.validate_email(item, check_deliverability=False)
        except email_validator.EmailNotValidError:
            errors["guests"] = _("« %(value)s » n'est pas une adresse e-mail.", value=item[:80])
            continue
        if address.normalized.lower() not in (g.lower() for g in guests):
            guests.append(address.normalized)
    if len(guests) > MAX_GUESTS:
        errors["guests"] = _("Pas plus de %(max)d invités extérieurs.", max=MAX_GUESTS)
    return guests


def _recurrence(raw: Mapping[str, Any], start: dt.datetime, all_day: bool) -> str | None:
    if _text(raw.get("rrule")):
        return recurrence.validate(_text(raw.get("rrule")), start, all_day)
    weekdays = raw.get("weekdays") or []
    if isinstance(weekdays, str):
        weekdays = [weekdays]
    controls = recurrence.Controls(
        repeat=_text(raw.get("repeat")),
        interval=1,
        weekdays=[str(d) for d in weekdays],
        monthly_by=_text(raw.get("monthly_by")) or "date",
        ends=_text(raw.get("ends")) or "never",
    )
    if controls.repeat:
        interval = _integer(raw.get("interval")) if _text(str(raw.get("interval") or "")) else 1
        if interval is None:
            raise recurrence.RecurrenceError(
                _("L'intervalle de répétition va de 1 à %(max)d.", max=recurrence.MAX_INTERVAL),
                "interval",
            )
        controls.interval = interval
        if controls.ends == "count":
            controls.count = _integer(raw.get("count"))
        elif controls.ends == "until":
            controls.until = parse_date(raw.get("until"))
    built = recurrence.build(controls, start, all_day)
    return recurrence.validate(built, start, all_day) if built else None


# --- Changing ---------------------------------------------------------------------------------


def series_end(rule: str | None, start: dt.datetime, end: dt.datetime) -> dt.datetime | None:
    if not rule:
        return None
    last = recurrence.last_start(rule, start)
    return None if last is None else (last + (end - start)).astimezone(dt.UTC)


def _snapshot(event: Event) -> dict[str, Any]:
    return {
        "calendar_id": event.calendar_id,
        "title": event.title,
        "place": event.place,
        "description": event.description,
        "category": event.category,
        "visibility": event.visibility,
        "all_day": event.all_day,
        "start_at": event.start_at.isoformat() if event.start_at else None,
        "end_at": event.end_at.isoformat() if event.end_at else None,
        "rrule": event.rrule,
        "exdates": list(event.exdates or ()),
        "attendees": sorted(a.user_id for a in event.attendees),
        "guests": list(event.guests or ()),
    }


def _published(snapshot: dict[str, Any]) -> dict[str, Any]:
    """What an event's iCalendar (feeds, CalDAV, ``.ics``) says of it: all but who is
    expected, which it does not carry. A change of those people alone leaves SEQUENCE as
    it is: subscribed calendars have nothing new to take, and guests get their own e-mails."""
    return {k: v for k, v in snapshot.items() if k not in ("attendees", "guests")}


def _apply(event: Event, data: EventInput) -> None:
    event.calendar_id = data.calendar.id
    event.title = data.title
    event.place = data.place
    event.description = data.description
    event.category = data.category
    event.visibility = data.visibility
    event.all_day = data.all_day
    event.start_at = data.start.astimezone(dt.UTC)
    event.end_at = data.end.astimezone(dt.UTC)
    event.timezone = ZONE_NAME
    event.rrule = data.rrule
    event.recurrence_end_at = series_end(data.rrule, data.start, data.end)
    if data.attendees is not None:
        wanted = {p.id for p in data.attendees}
        present = {a.user_id for a in event.attendees}
        event.attendees = [a for a in event.attendees if a.user_id in wanted] + [
            Attendee(user=p, user_id=p.id) for p in data.attendees if p.id not in present
        ]
    if data.guests is not None:
        event.guests = list(data.guests)


@dataclass(frozen=True)
class GuestCopy:
    """What one guest from outside holds of an event, as their calendar app has it.

    A guest of the whole event (``series``: the series, or a single event) holds it with
    the dates changed on their own they are expected at (``dates``), less those they are
    not (``skipped``, which their copy lists as EXDATEs). A guest named on single dates of
    a series only holds those dates (``series`` None), each a VEVENT with its
    RECURRENCE-ID: they are invited to that occurrence, not to the series (RFC 5546,
    3.2.2)."""

    address: str
    series: Event | None
    dates: tuple[Event, ...] = ()
    skipped: tuple[Event, ...] = ()

    @property
    def keys(self) -> set[str]:
        return {date.recurrence_id for date in self.dates}


@dataclass(frozen=True)
class Expected:
    """Who an event expects, taken before a change so that ``invite`` tells each person
    what changed for them: the members, and what each guest holds (by lower-case address,
    copied as it was: the change may move or delete the rows)."""

    members: frozenset[int] = frozenset()
    guests: Mapping[str, GuestCopy] = field(default_factory=dict)


def expected(event: Event) -> Expected:
    """Who ``event`` expects now, to compare after a change (``invite``'s ``before``)."""
    return Expected(frozenset(a.user_id for a in event.attendees), guest_copies(event, True))


def guest_copies(event: Event, frozen: bool = False) -> dict[str, GuestCopy]:
    """What each guest from outside holds of ``event`` (of its series, with its dates
    changed on their own, each of which lists its own guests), by lower-case address.
    ``frozen``: on copies of the rows, which the change to come leaves as they are."""
    series = event.parent or event
    if _gone(series):
        return {}
    changed = overrides_of(series)
    if frozen:
        series, changed = _frozen(series), [_frozen(date) for date in changed]
    on = {date.recurrence_id: {g.lower() for g in date.guests or ()} for date in changed}
    copies: dict[str, GuestCopy] = {}
    for address in series.guests or ():
        key = address.lower()
        copies[key] = GuestCopy(
            address,
            series,
            tuple(d for d in changed if key in on[d.recurrence_id]),
            tuple(d for d in changed if key not in on[d.recurrence_id]),
        )
    for date in changed:
        for address in date.guests or ():
            held = copies.get(address.lower())
            if held is None:
                copies[address.lower()] = GuestCopy(address, None, (date,))
            elif held.series is None:
                copies[address.lower()] = dataclasses.replace(held, dates=(*held.dates, date))
    return copies


def _gone(event: Event) -> bool:
    """Whether ``event`` was deleted in this transaction (flushed or not)."""
    return event in toolkit.db.deleted or sa_inspect(event).deleted


def _frozen(event: Event) -> Event:
    """A copy of ``event`` outside the session, as it is now."""
    values = {column.key: getattr(event, column.key) for column in sa_inspect(Event).column_attrs}
    return Event(**{k: list(v) if isinstance(v, list) else v for k, v in values.items()})


def guest_view(copy: GuestCopy) -> tuple[Any, ...]:
    """What a guest's calendar shows of the event they hold (``copy``): a change of it is
    « Modifié » to them, and any other change tells them nothing.

    It counts the title (SUMMARY), the start and end (DTSTART, DTEND), all-day or not, the
    place (LOCATION), the description and the recurrence (RRULE) of the series they hold,
    and each of its dates that is not as the series gives it: removed (EXDATE, or a date
    they are not expected at) or changed on its own (what it says). A date changed on its
    own only to name a guest of that date shows as before to the others. The organiser and
    the status count too, but no edit changes them: the organiser is the event's author
    (``organiser_of``), and cancellations are CANCEL messages.

    It leaves out what is the commune's own business or bookkeeping: the calendar, the
    category, the visibility, the members expected, the guest lists (a guest added or
    removed is told alone), SEQUENCE and the timestamps."""
    dates: dict[str, tuple[Any, ...] | None] = {d.recurrence_id: _shown(d) for d in copy.dates}
    if copy.series is None:
        return (None, tuple(sorted(dates.items(), key=lambda item: item[0])))
    series = copy.series
    for key in (*(series.exdates or ()), *(d.recurrence_id for d in copy.skipped)):
        dates[key] = None
    unlike = {k: v for k, v in dates.items() if v != _as_series_gives(series, k)}
    return (_shown(series), tuple(sorted(unlike.items(), key=lambda item: item[0])))


def _shown(event: Event) -> tuple[Any, ...]:
    return (
        event.title,
        event.all_day,
        local_start(event),
        local_end(event),
        event.place,
        event.description,
        event.rrule,
    )


def _as_series_gives(series: Event, key: str) -> tuple[Any, ...]:
    """What the date ``key`` of ``series`` shows when not changed on its own."""
    begin = key_start(series, key)
    if begin is None:
        return ()
    finish = (begin.replace(tzinfo=None) + (series.end_at - series.start_at)).replace(
        tzinfo=begin.tzinfo
    )
    return (series.title, series.all_day, begin, finish, series.place, series.description, None)


def invite(
    commune: toolkit.Commune,
    author: toolkit.User,
    event: Event,
    before: Expected | None = None,
    cancelled: bool = False,
) -> None:
    """Tell the people expected at ``event`` what changed for them since ``before``
    (nobody yet: a new event). Members newly expected get a notification; each guest from
    outside gets by e-mail what changed in the copy their calendar holds (``GuestCopy``):
    an invitation, the changed event, or what they no longer hold, cancelled
    (``cancelled``: those dates were deleted) or withdrawn (they are taken off it)."""
    before = before or Expected()
    series = event.parent or event
    if not _gone(event):
        members = [a.user for a in event.attendees if a.user_id not in before.members]
        toolkit.notify(
            [p for p in members if p.id != author.id],
            "agenda.invited",
            _("%(name)s vous attend : %(title)s", name=author.name, title=event.title),
            describe_event_when(event),
            url=event_url(event),
            commune=commune,
        )
    organiser = organiser_of(series, author)
    after = guest_copies(series)
    told = _Teller(commune, author, organiser)
    for key in [*after, *(k for k in before.guests if k not in after)]:
        told.guest(before.guests.get(key), after.get(key), cancelled)


@dataclass
class _Teller:
    """The e-mails to guests from outside after a change: the words, and the iTIP message
    (RFC 5546) their calendar app applies, of what they hold."""

    commune: toolkit.Commune
    author: toolkit.User
    organiser: toolkit.User

    def guest(self, before: GuestCopy | None, after: GuestCopy | None, cancelled: bool) -> None:
        """Tell one guest what changed for them between two copies (None: nothing held)."""
        if before is not None and (
            after is None or (before.series is not None and after.series is None)
        ):
            self.cancel(before, before.dates if before.series is None else (), cancelled)
            before = None
        if after is None:
            return
        if before is None or (after.series is not None and before.series is None):
            self.request(after, after.series or after.dates[0], invited=True)
        elif after.series is not None:
            seen, now = guest_view(before), guest_view(after)
            if seen != now:
                skipped = _newly_skipped(seen, now, after)
                if skipped:  # taken off dates that go on: those alone are withdrawn
                    self.cancel(after, skipped, cancelled=False)
                else:
                    self.request(after, after.series, invited=False)
        else:
            lost = [d for d in before.dates if d.recurrence_id not in after.keys]
            if lost:
                self.cancel(before, lost, cancelled)
            was = {d.recurrence_id: _shown(d) for d in before.dates}
            new = [d for d in after.dates if d.recurrence_id not in was]
            moved = [d for d in after.dates if was.get(d.recurrence_id, _shown(d)) != _shown(d)]
            if new or moved:
                self.request(after, (new or moved)[0], invited=bool(new))

    def request(self, copy: GuestCopy, shown: Event, invited: bool) -> None:
        """An iTIP ``REQUEST`` of all they hold, which their calendar app adds or updates;
        the words tell of ``shown``."""
        from plugins.agenda import ics  # which builds on this module

        if invited:
            subject = _("Invitation : %(title)s", title=shown.title)
            heading = _("%(name)s (%(commune)s) vous invite :", **self._names())
        else:
            subject = _("Modifié : %(title)s", title=shown.title)
            heading = _("%(name)s (%(commune)s) a modifié :", **self._names())
        self._send(copy.address, shown, subject, heading, ics.invitation_ics(copy, self.organiser))

    def cancel(self, copy: GuestCopy, dates: Iterable[Event], cancelled: bool) -> None:
        """An iTIP ``CANCEL`` of ``dates`` (none: of all ``copy`` holds), deleted
        (``cancelled``) or going on without the guest."""
        from plugins.agenda import ics  # which builds on this module

        what = list(dates) or ([copy.series] if copy.series is not None else list(copy.dates))
        if cancelled:
            subject = _("Annulé : %(title)s", title=what[0].title)
            heading = _("%(name)s (%(commune)s) a annulé :", **self._names())
        else:
            subject = _("Invitation retirée : %(title)s", title=what[0].title)
            heading = _("%(name)s (%(commune)s) a retiré votre invitation à :", **self._names())
        calendar = ics.cancel_ics(what, self.organiser, copy.address, cancelled)
        self._send(copy.address, what[0], subject, heading, calendar)

    def _names(self) -> dict[str, str]:
        return {"name": self.author.name, "commune": self.commune.name}

    def _send(self, guest: str, shown: Event, subject: str, heading: str, calendar: str) -> None:
        lines = [heading, "", shown.title, describe_event_when(shown)]
        if shown.place:
            lines.append(_("Lieu : %(place)s", place=shown.place))
        if shown.description:
            lines += ["", shown.description]
        toolkit.send_email(guest, subject, "\n".join(lines), self.commune, calendar=calendar)


def _newly_skipped(seen: tuple[Any, ...], now: tuple[Any, ...], after: GuestCopy) -> list[Event]:
    """The dates a guest of the series was taken off, when nothing else changed for them
    (else the changed series tells it, with those dates as EXDATEs)."""
    if seen[0] != now[0]:
        return []
    before, present = dict(seen[1]), dict(now[1])
    differ = {k for k in before.keys() | present.keys() if before.get(k, ()) != present.get(k, ())}
    skipped = {d.recurrence_id: d for d in after.skipped}
    if not differ <= skipped.keys() or any(present.get(k, ()) is not None for k in differ):
        return []
    return [skipped[k] for k in sorted(differ)]


def organiser_of(event: Event, acting: toolkit.User) -> toolkit.User:
    """The organiser the guests see (ORGANIZER, who gets their answers): the author of the
    event (of its series), whoever changes it; the person ``acting`` when it has none (an
    event from a synced calendar, or whose author's account was deleted)."""
    return (event.parent or event).author or acting


def describe_event_when(event: Event) -> str:
    """« le jeudi 22 octobre 2026 de 18:00 à 19:00 », or the first day of an all-day event."""
    if event.all_day:
        return _("le %(day)s", day=format_date(local_start(event).date(), "full"))
    return describe_slot(event.start_at, event.end_at)


def new_uid(commune: toolkit.Commune) -> str:
    return f"{uuid.uuid4()}@{commune.insee}.agenda.viatic"


def create_event(commune: toolkit.Commune, author: toolkit.User, data: EventInput) -> Event:
    check_calendar(commune, author, data.calendar)
    event = Event(commune_id=commune.id, uid=new_uid(commune), sequence=0, author_id=author.id)
    event.exdates = []
    _apply(event, data)
    toolkit.db.add(event)
    toolkit.db.flush()
    record("agenda.event_created", commune, author, event.id, _snapshot(event))
    invite(commune, author, event)
    return event


def update_event(
    commune: toolkit.Commune,
    user: toolkit.User,
    event: Event,
    data: EventInput,
    from_key: str | None = None,
) -> bool:
    """Change the whole event (every occurrence); returns whether anything changed. Each
    change of what its iCalendar says bumps SEQUENCE, so that subscribed phones take the
    new version; a change of who is expected alone does not (``_published``).

    ``from_key`` names the occurrence of a series the person edited ("toutes les
    occurrences" chosen from one date): the series moves by the shift they gave that
    occurrence, rather than starting on its date. Moving it to another calendar needs the
    right to write both."""
    check_write(commune, user, event)
    check_calendar(commune, user, data.calendar)
    if event.is_override and data.rrule:
        raise EventError(
            {"repeat": _("Cette date a été modifiée à part : pour répéter, modifiez la série.")}
        )
    if from_key and event.rrule:
        occurrence = find_occurrence(event, from_key)
        if occurrence is None:
            raise EventError(
                {"occurrence": _("Cette date n'est pas une occurrence de l'événement.")}
            )
        data = _shifted(event, occurrence, data)
    before = _snapshot(event)
    old_start, old_all_day, was_series = local_start(event), event.all_day, bool(event.rrule)
    _apply(event, data)
    if event.parent is not None:
        _follow_series(event, event.parent)
    after = _snapshot(event)
    if after == before:
        return False
    if was_series:
        _shift_keys(event, old_start, old_all_day)
        _carry_guests(overrides_of(event), before["guests"], event.guests)
    if _published(after) != _published(before):
        _bump(event)
    record(
        "agenda.event_updated",
        commune,
        user,
        event.id,
        {
            "before": {k: v for k, v in before.items() if after[k] != v},
            "after": {k: v for k, v in after.items() if before[k] != v},
            "sequence": event.sequence,
        },
    )
    return True


def _shifted(series: Event, occurrence: Occurrence, data: EventInput) -> EventInput:
    """``data`` as given for one occurrence, carried back to the series' first one."""
    shift = data.start.replace(tzinfo=None) - occurrence.start.replace(tzinfo=None)
    length = data.end.replace(tzinfo=None) - data.start.replace(tzinfo=None)
    start = local_start(series).replace(tzinfo=None) + shift
    return dataclasses.replace(
        data, start=start.replace(tzinfo=ZONE), end=(start + length).replace(tzinfo=ZONE)
    )


def delete_event(commune: toolkit.Commune, user: toolkit.User, event: Event) -> None:
    """Delete an event, or a whole series with its changed occurrences. An occurrence
    changed on its own is cancelled in its series (an EXDATE), not brought back."""
    check_write(commune, user, event)
    series = event.parent
    if series is not None:
        series.exdates = sorted({*(series.exdates or ()), event.recurrence_id})
        series.overridden = [k for k in series.overridden or () if k != event.recurrence_id]
        _bump(series)
    record(
        "agenda.occurrence_deleted" if series is not None else "agenda.event_deleted",
        commune,
        user,
        series.id if series is not None else event.id,
        {"uid": event.uid, "recurrence_id": event.recurrence_id, **_snapshot(event)},
    )
    for attachment in event.attachments:
        toolkit.files.delete(attachment.stored)  # the bytes go once this is committed
    toolkit.db.delete(event)


def delete_following(
    commune: toolkit.Commune, user: toolkit.User, series: Event, key: str
) -> Occurrence:
    """Remove an occurrence and every one after it: the series now ends before it."""
    check_write(commune, user, series)
    occurrence = _series_occurrence(commune, series, key)
    if occurrence.start == local_start(series):
        delete_event(commune, user, series)
        return occurrence
    before = series.rrule
    series.rrule, _kept = recurrence.split(
        series.rrule or "", local_start(series), occurrence.start, series.all_day
    )
    series.recurrence_end_at = series_end(series.rrule, local_start(series), local_end(series))
    for override in overrides_of(series):
        if override.recurrence_id >= occurrence.key:
            toolkit.db.delete(override)
    series.exdates = [k for k in series.exdates or () if k < occurrence.key]
    series.overridden = [k for k in series.overridden or () if k < occurrence.key]
    _bump(series)
    record(
        "agenda.following_deleted",
        commune,
        user,
        series.id,
        {"at": occurrence.key, "rrule_before": before, "rrule_after": series.rrule},
    )
    return occurrence


SCOPES = ("occurrence", "following", "all")


def change(
    commune: toolkit.Commune,
    user: toolkit.User,
    event: Event,
    data: EventInput,
    scope: str = "all",
    key: str | None = None,
) -> Event | None:
    """Apply a change the way the person chose (``scope``, for the date ``key`` of a
    series); returns the event to show afterwards, or None when nothing changed."""
    if scope not in SCOPES:
        raise EventError({"scope": _("Choisissez à quelles dates s'applique la modification.")})
    before = expected(event)
    if scope == "all":
        shown = event if update_event(commune, user, event, data, from_key=key) else None
    elif not key:
        raise EventError({"date": _("Indiquez la date de la série à modifier.")})
    elif scope == "occurrence":
        shown = update_occurrence(commune, user, event, key, data)
    else:
        shown = update_following(commune, user, event, key, data)
    if shown is not None and shown.uid != event.uid:
        # Cut in two: the first part ends earlier, the second is a new event (a new UID).
        invite(commune, user, event, before)
        invite(commune, user, shown, Expected(before.members))
    elif shown is not None:
        invite(commune, user, shown, before)
    return shown


def remove(
    commune: toolkit.Commune,
    user: toolkit.User,
    event: Event,
    scope: str = "all",
    key: str | None = None,
) -> Occurrence | None:
    """Delete the way the person chose; returns the first date removed, None for all."""
    if scope not in SCOPES:
        raise EventError({"scope": _("Choisissez quelles dates supprimer.")})
    if scope != "all" and not key:
        raise EventError({"date": _("Indiquez la date de la série à supprimer.")})
    before = expected(event)
    removed = None
    if scope == "all":
        delete_event(commune, user, event)
    elif scope == "occurrence":
        removed = delete_occurrence(commune, user, event, key or "")
    else:
        removed = delete_following(commune, user, event, key or "")
    invite(commune, user, event, before, cancelled=True)
    return removed


def key_start(event: Event, key: str) -> dt.datetime | None:
    """The local start an occurrence key names (midnight for a day's), in the zone of
    ``event``; None if it is no key. Read by its own form, not the event's: a date of a
    timed series changed on its own into an all-day event keeps its series' key."""
    try:
        if len(key) == len("20261027"):
            day = dt.datetime.strptime(key, "%Y%m%d").date()
            return dt.datetime.combine(day, dt.time(), tzinfo=zone_of(event))
        return dt.datetime.strptime(key, "%Y%m%dT%H%M%S").replace(tzinfo=zone_of(event))
    except ValueError:
        return None


def overrides_of(series: Event) -> list[Event]:
    """The occurrences of ``series`` changed on their own."""
    if not series.overridden:
        return []
    return list(
        toolkit.db.scalars(
            select(Event).where(Event.parent_id == series.id).order_by(Event.recurrence_id)
        )
    )


def _series_occurrence(commune: toolkit.Commune, series: Event, key: str) -> Occurrence:
    if series.commune_id != commune.id or series.is_override:
        raise NotFound()
    if not series.rrule:
        raise EventError({"occurrence": _("Cet événement ne se répète pas.")})
    occurrence = find_occurrence(series, key)
    if occurrence is None:
        raise EventError({"occurrence": _("Cette date n'est pas une occurrence de l'événement.")})
    return occurrence


def update_occurrence(
    commune: toolkit.Commune, user: toolkit.User, series: Event, key: str, data: EventInput
) -> Event:
    """Change one occurrence of a series on its own ("cette occurrence"): a row of its own
    with the series' UID and a RECURRENCE-ID; the other occurrences stay as they are. It
    stays in the series' calendar, with the series' visibility, and does not repeat."""
    check_write(commune, user, series)
    occurrence = _series_occurrence(commune, series, key)
    override = Event(
        commune_id=commune.id,
        uid=series.uid,
        recurrence_id=occurrence.key,
        parent_id=series.id,
        sequence=series.sequence,
        author_id=user.id,
    )
    override.exdates, override.overridden = [], []
    override.guests = list(series.guests or ())  # unless the date's form names others
    _apply(override, data)
    _follow_series(override, series)
    series.overridden = sorted({*(series.overridden or ()), occurrence.key})
    toolkit.db.add(override)
    toolkit.db.flush()
    record(
        "agenda.occurrence_updated",
        commune,
        user,
        series.id,
        {"recurrence_id": occurrence.key, "override": override.id, **_snapshot(override)},
    )
    return override


def _carry_guests(dates: Iterable[Event], before: list[str], after: list[str]) -> None:
    """Guests added to or taken off a series are so on its dates changed on their own
    too, each of which keeps a list of its own (a guest of that date alone, a guest of the
    series not expected that date), as an iCalendar exception lists its attendees."""
    was = {g.lower() for g in before}
    now = {g.lower() for g in after}
    for date in dates:
        kept = [g for g in date.guests or () if g.lower() in now or g.lower() not in was]
        present = {g.lower() for g in kept}
        date.guests = kept + [g for g in after if g.lower() not in was | present]


def _follow_series(override: Event, series: Event) -> None:
    """What an occurrence changed on its own takes from its series, whatever was sent."""
    override.calendar_id = series.calendar_id
    override.visibility = series.visibility
    override.rrule = None
    override.recurrence_end_at = None


def update_following(
    commune: toolkit.Commune, user: toolkit.User, series: Event, key: str, data: EventInput
) -> Event:
    """Change an occurrence and those after it ("celle-ci et les suivantes"): the series
    now ends before it, and a new series (a new UID) starts there with what was sent.
    Cancelled and changed occurrences after the cut follow the new series when they are
    still among its dates. Returns the new series (the same one when cut at its start)."""
    check_write(commune, user, series)
    occurrence = _series_occurrence(commune, series, key)
    if occurrence.start == local_start(series):
        update_event(commune, user, series, data)
        return series
    before_rule, kept = recurrence.split(
        series.rrule or "", local_start(series), occurrence.start, series.all_day
    )
    rule = data.rrule
    old_parts = recurrence.parts_of(series.rrule or "")
    count = old_parts.get("COUNT")
    if rule and count and recurrence.parts_of(rule).get("COUNT") == count:
        # The count was left as it was: it counts the whole series, so the new part has
        # what the old one has not used yet.
        rule = recurrence.with_count(rule, int(count) - kept)
    following = Event(commune_id=commune.id, uid=new_uid(commune), sequence=0, author_id=user.id)
    following.exdates, following.overridden = [], []
    following.guests = list(series.guests or ())
    _apply(following, data)
    following.rrule = rule
    following.recurrence_end_at = series_end(rule, data.start, data.end)
    toolkit.db.add(following)
    toolkit.db.flush()

    later = [k for k in (series.exdates or ()) if k >= occurrence.key]
    following.exdates = sorted(k for k in later if find_occurrence(following, k))
    series.exdates = [k for k in (series.exdates or ()) if k < occurrence.key]
    moved = []
    for override in overrides_of(series):
        if override.recurrence_id < occurrence.key:
            continue
        if find_occurrence(following, override.recurrence_id) is None:
            toolkit.db.delete(override)
            continue
        override.parent_id, override.uid = following.id, following.uid
        _carry_guests([override], series.guests, following.guests)
        moved.append(override.recurrence_id)
    following.overridden = sorted(moved)
    series.overridden = [k for k in (series.overridden or ()) if k < occurrence.key]

    before = _snapshot(series)
    series.rrule = before_rule
    series.recurrence_end_at = series_end(before_rule, local_start(series), local_end(series))
    _bump(series)
    record(
        "agenda.series_split",
        commune,
        user,
        series.id,
        {
            "at": occurrence.key,
            "rrule_before": before["rrule"],
            "rrule_after": series.rrule,
            "following": following.id,
            **{f"following_{k}": v for k, v in _snapshot(following).items()},
        },
    )
    return following


def _shift_keys(series: Event, old_start: dt.datetime, old_all_day: bool) -> None:
    """After the whole series changed: the cancelled and changed occurrences keep naming
    the same occurrences (moved by the same wall-clock shift as the series), and those that
    are no longer among its dates go."""
    overrides = overrides_of(series)
    if not series.rrule or series.all_day != old_all_day:
        for override in overrides:
            toolkit.db.delete(override)
        series.exdates, series.overridden = [], []
        return
    shift = local_start(series).replace(tzinfo=None) - old_start.replace(tzinfo=None)

    def moved(key: str) -> str | None:
        was = dt.datetime.strptime(key, "%Y%m%d" if old_all_day else "%Y%m%dT%H%M%S")
        now = (was + shift).replace(tzinfo=zone_of(series))
        new_key = occurrence_key(series, now)
        return new_key if _is_date_of(series, now) else None

    series.exdates = sorted(k for k in (moved(k) for k in series.exdates or ()) if k)
    kept = []
    for override in overrides:
        new_key = moved(override.recurrence_id)
        if new_key is None:
            toolkit.db.delete(override)
        else:
            override.recurrence_id = new_key
            _follow_series(override, series)
            kept.append(new_key)
    series.overridden = sorted(kept)


def _is_date_of(series: Event, start: dt.datetime) -> bool:
    """Whether the rule of ``series`` (cancellations aside) has an occurrence at ``start``."""
    after = start - dt.timedelta(seconds=1)
    return any(
        begin == start
        for begin in recurrence.occurrences(
            series.rrule or "", local_start(series), after, start + dt.timedelta(seconds=1)
        )
    )


def delete_occurrence(
    commune: toolkit.Commune, user: toolkit.User, event: Event, key: str
) -> Occurrence:
    """Remove one occurrence of a series (an EXDATE); the others stay."""
    check_write(commune, user, event)
    if not event.rrule:
        raise EventError({"occurrence": _("Cet événement ne se répète pas.")})
    occurrence = find_occurrence(event, key)
    if occurrence is None:
        raise EventError({"occurrence": _("Cette date n'est pas une occurrence de l'événement.")})
    event.exdates = sorted({*(event.exdates or ()), occurrence.key})
    _bump(event)
    record(
        "agenda.occurrence_deleted",
        commune,
        user,
        event.id,
        {"exdate": occurrence.key, "sequence": event.sequence},
    )
    return occurrence


# --- Import -----------------------------------------------------------------------------------


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    elsewhere: list[str] = field(default_factory=list)  # titles already in another calendar


def import_events(
    commune: toolkit.Commune,
    user: toolkit.User,
    calendar: Calendar,
    incoming: list[Any],
    filename: str = "",
) -> ImportResult:
    """Write the events read from a ``.ics`` file (``ics_import.read``) into ``calendar``.

    An event is known by its UID and RECURRENCE-ID in the commune: importing the same
    file again changes nothing, a newer version of an event updates it (SEQUENCE bumped),
    and an event already in another calendar of the commune stays there, untouched. A
    changed occurrence is attached to its series, from the file or already here."""
    check_calendar(commune, user, calendar)
    result = _write_incoming(commune, calendar, incoming, user.id)
    record(
        "agenda.ics_imported",
        commune,
        user,
        calendar.id,
        {
            "file": filename,
            "created": result.created,
            "updated": result.updated,
            "unchanged": result.unchanged,
            "elsewhere": len(result.elsewhere),
        },
        object_type="calendar",
    )
    return result


def _write_incoming(
    commune: toolkit.Commune,
    calendar: Calendar,
    incoming: list[Any],
    author_id: int | None,
    keep_local: bool = False,
) -> ImportResult:
    """Create or update the events read from iCalendar, matched by UID and RECURRENCE-ID.
    ``keep_local`` keeps what iCalendar does not carry (category, members-only visibility)
    of the events already here."""
    result = ImportResult()
    uids = sorted({item.uid for item in incoming})
    known: dict[tuple[str, str], Event] = {}
    for chunk in range(0, len(uids), 500):
        for event in toolkit.db.scalars(
            select(Event).where(
                Event.commune_id == commune.id, Event.uid.in_(uids[chunk : chunk + 500])
            )
        ):
            known[(event.uid, event.recurrence_id)] = event
    # Series and single events first, so that changed occurrences find their series.
    for item in sorted(incoming, key=lambda i: (bool(i.recurrence_id), i.line)):
        data = EventInput(
            calendar=calendar,
            title=_clip(item.title, TITLE_MAX),
            place=_clip(item.place, PLACE_MAX),
            description=_clip(item.description, DESCRIPTION_MAX),
            category="autre",
            visibility=PRIVATE if item.private else calendar.default_visibility,
            all_day=item.all_day,
            start=item.start,
            end=item.end,
            rrule=item.rrule,
        )
        event = known.get((item.uid, item.recurrence_id))
        if event is not None and keep_local:
            still = (event.visibility == PUBLIC) != item.private
            data = dataclasses.replace(
                data,
                category=event.category,
                visibility=event.visibility if still else data.visibility,
            )
        if event is not None and event.calendar_id != calendar.id:
            result.elsewhere.append(event.title)
            continue
        series = known.get((item.uid, "")) if item.recurrence_id else None
        if event is None:
            event = Event(
                commune_id=commune.id,
                uid=item.uid,
                recurrence_id=item.recurrence_id,
                sequence=0,
                author_id=author_id,
            )
            event.overridden = []
            # A date of a series changed elsewhere: the series' guests are expected at it.
            event.guests = list(series.guests or ()) if series is not None else []
            _apply(event, data)
            event.exdates = item.exdates
            toolkit.db.add(event)
            known[(item.uid, item.recurrence_id)] = event
            result.created += 1
        else:
            before = _snapshot(event)
            _apply(event, data)
            event.exdates = item.exdates
            if _snapshot(event) == before:
                result.unchanged += 1
            else:
                _bump(event)
                result.updated += 1
        if series is not None and series.rrule:
            toolkit.db.flush()
            event.parent_id = series.id
            event.rrule, event.recurrence_end_at = None, None
            series.overridden = sorted({*(series.overridden or ()), item.recurrence_id})
    toolkit.db.flush()
    return result


def apply_remote(
    commune: toolkit.Commune, calendar: Calendar, uid: str, incoming: list[Any], origin: str
) -> ImportResult:
    """Make the events of one UID in ``calendar`` what a synced calendar holds: ``incoming``
    are the components of its resource (``ics_import.read``), a series with its changed
    occurrences; an empty list deletes them here. Occurrences no longer changed on their
    own go back to their series. No permission check: the sync provider calls it, set up
    by the commune admin; the audit record names ``origin``."""
    rows = toolkit.db.scalars(
        select(Event).where(
            Event.commune_id == commune.id, Event.uid == uid, Event.calendar_id == calendar.id
        )
    ).all()
    kept = {item.recurrence_id for item in incoming}
    removed = [row for row in rows if row.recurrence_id not in kept]
    for row in sorted(removed, key=lambda r: r.recurrence_id == ""):
        toolkit.db.delete(row)
    toolkit.db.flush()
    result = _write_incoming(commune, calendar, incoming, None, keep_local=True)
    series = next((r for r in rows if r.recurrence_id == "" and r not in removed), None)
    if series is not None:
        series.overridden = sorted(kept - {""})
    toolkit.audit(
        "agenda.event_synced",
        commune=commune,
        module=PLUGIN,
        object_type="calendar",
        object_id=calendar.id,
        details={
            "uid": uid,
            "origin": origin,
            "created": result.created,
            "updated": result.updated,
            "deleted": len(removed),
        },
        actor_label=origin,
    )
    return result


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --- Subscription feeds -----------------------------------------------------------------------


def regenerate_feed_token(commune: toolkit.Commune, user: toolkit.User, calendar: Calendar) -> str:
    """Make a new secret address for the calendar's feed; the old one stops working.
    Returns the token, which is shown once and never stored in clear."""
    check_calendar(commune, user, calendar)
    had_one = calendar.feed_token_hash is not None
    token = secrets.token_urlsafe(32)
    calendar.feed_token_hash = toolkit.credential_digest(token)
    calendar.feed_token_created_at = toolkit.utcnow()
    record(
        "agenda.feed_token_regenerated" if had_one else "agenda.feed_token_created",
        commune,
        user,
        calendar.id,
        object_type="calendar",
    )
    return token


def calendar_of_feed(commune: toolkit.Commune, token: str) -> Calendar | None:
    if not token or len(token) > 100:
        return None
    return toolkit.db.scalar(
        select(Calendar).where(
            Calendar.commune_id == commune.id,
            Calendar.feed_token_hash == toolkit.credential_digest(token),
        )
    )


def feed_version(calendar: Calendar, commune: toolkit.Commune) -> str:
    """What a calendar's feed depends on, as a short tag: its events (each change bumps
    ``updated_at``; a deletion lowers the count), its name and the day (the feed holds the
    past year from today)."""
    count, latest = toolkit.db.execute(
        select(func.count(Event.id), func.max(Event.updated_at)).where(
            Event.calendar_id == calendar.id
        )
    ).one()
    parts = f"{calendar.id}|{count}|{latest}|{calendar.name}|{commune.name}|{today()}"
    return hashlib.sha256(parts.encode()).hexdigest()[:32]


def feed_events(calendar: Calendar) -> list[Event]:
    """What a calendar's feed holds: its public and members' events of the past year and
    to come (never the private ones)."""
    return list(
        toolkit.db.scalars(
            select(Event)
            .where(
                Event.calendar_id == calendar.id,
                Event.visibility.in_((PUBLIC, MEMBERS)),
                _in_feed_window(),
            )
            .order_by(Event.start_at, Event.id)
        )
    )


def _in_feed_window() -> Any:
    """The events a feed holds: those of the past year and to come, a series as long as it
    still has dates in that window."""
    cutoff = toolkit.utcnow() - dt.timedelta(days=FEED_PAST_DAYS)
    return or_(
        and_(Event.rrule.is_(None), Event.end_at >= cutoff),
        and_(
            Event.rrule.is_not(None),
            or_(Event.recurrence_end_at.is_(None), Event.recurrence_end_at >= cutoff),
        ),
    )


# --- A person's planning as a feed ------------------------------------------------------------


def regenerate_planning_token(user: toolkit.User) -> str:
    """Make a new secret address for ``user``'s planning feed; the old one stops working.
    Returns the token, shown once and stored hashed only."""
    feed = toolkit.db.get(PlanningFeed, user.id)
    token = secrets.token_urlsafe(32)
    action = "agenda.planning_feed_regenerated" if feed else "agenda.planning_feed_created"
    if feed is None:
        feed = PlanningFeed(user_id=user.id)
        toolkit.db.add(feed)
    feed.token_hash = toolkit.credential_digest(token)
    feed.created_at = toolkit.utcnow()
    toolkit.audit(action, module=PLUGIN, object_type="user", object_id=user.id, actor=user)
    return token


def planning_feed_created(user: toolkit.User) -> dt.datetime | None:
    feed = toolkit.db.get(PlanningFeed, user.id)
    return feed.created_at if feed else None


def planning_feed_owner(token: str) -> toolkit.User | None:
    """The active person whose planning feed ``token`` opens, if any."""
    if not token or len(token) > 100:
        return None
    user = toolkit.db.scalar(
        select(toolkit.User)
        .join(PlanningFeed, PlanningFeed.user_id == toolkit.User.id)
        .where(PlanningFeed.token_hash == toolkit.credential_digest(token))
    )
    return user if user is not None and user.is_active else None


def planning_feed_version(user: toolkit.User) -> str:
    """What a person's planning feed depends on, as a short tag: in each of their communes,
    the events they may see (count and last change), and the day."""
    parts = [str(user.id), str(today())]
    for commune in planning_communes(user):
        count, latest = toolkit.db.execute(
            visible_events(commune, user)
            .where(_in_feed_window())
            .with_only_columns(func.count(Event.id), func.max(Event.updated_at))
        ).one()
        parts.append(f"{commune.id}|{commune.name}|{count}|{latest}")
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:32]


def planning_feed_events(user: toolkit.User) -> list[tuple[toolkit.Commune, Event]]:
    """What a person's planning feed holds: what they may see in each commune of theirs,
    the past year and to come, their private events and appointments included. An event
    imported into two of their communes comes once (a calendar app keys events by UID)."""
    found, seen = [], set()
    for commune in planning_communes(user):
        query = visible_events(commune, user).where(_in_feed_window())
        for event in toolkit.db.scalars(query.order_by(Event.start_at, Event.id)):
            if (event.uid, event.recurrence_id) not in seen:
                seen.add((event.uid, event.recurrence_id))
                found.append((commune, event))
    return found


# --- Demonstration content --------------------------------------------------------------------


@dataclass(frozen=True)
class DemoEvent:
    key: str
    calendar: str
    title: str
    place: str
    description: str
    category: str
    visibility: str
    start: dt.datetime
    end: dt.datetime
    all_day: bool = False
    rrule: str | None = None


def _demo_events(now: dt.datetime) -> list[DemoEvent]:
    year, month = now.year, now.month
    first = dt.date(year, month, 1)
    # The first Tuesday of this month, at 20:30, for the council's monthly meeting.
    tuesday = first + dt.timedelta(days=(1 - first.weekday()) % 7)
    council = dt.datetime.combine(tuesday, dt.time(20, 30), tzinfo=ZONE)
    # Next Thursday at 18:00, for the works commission (every other week).
    thursday = now.date() + dt.timedelta(days=(3 - now.weekday()) % 7 or 7)
    works = dt.datetime.combine(thursday, dt.time(18, 0), tzinfo=ZONE)
    saturday = now.date() + dt.timedelta(days=(5 - now.weekday()) % 7 + 7)
    armistice = dt.date(year if (month, now.day) <= (11, 11) else year + 1, 11, 11)
    return [
        DemoEvent(
            "conseil",
            COUNCIL,
            "Conseil municipal",
            "Salle du conseil, mairie",
            "Séance publique. L'ordre du jour est affiché en mairie une semaine avant.",
            "seance",
            PUBLIC,
            council,
            council + dt.timedelta(hours=2),
            rrule="FREQ=MONTHLY;BYDAY=1TU",
        ),
        DemoEvent(
            "travaux",
            COMMISSION,
            "Commission des travaux",
            "Mairie, bureau du maire",
            "Suivi du chantier de la salle des fêtes et des chemins communaux.",
            "reunion",
            MEMBERS,
            works,
            works + dt.timedelta(hours=1, minutes=30),
            rrule="FREQ=WEEKLY;INTERVAL=2;BYDAY=" + recurrence.WEEKDAYS[works.weekday()],
        ),
        DemoEvent(
            "armistice",
            PUBLIC_EVENTS,
            "Cérémonie du 11 novembre",
            "Monument aux morts",
            "Dépôt de gerbe, lecture des noms, puis verre de l'amitié à la salle des fêtes.",
            "ceremonie",
            PUBLIC,
            dt.datetime.combine(armistice, dt.time(11, 0), tzinfo=ZONE),
            dt.datetime.combine(armistice, dt.time(12, 0), tzinfo=ZONE),
        ),
        DemoEvent(
            "brocante",
            PUBLIC_EVENTS,
            "Brocante du village",
            "Place de l'église",
            "Inscriptions des exposants en mairie. Buvette tenue par le comité des fêtes.",
            "manifestation",
            PUBLIC,
            midnight(saturday),
            midnight(saturday + dt.timedelta(days=1)),
            all_day=True,
        ),
        DemoEvent(
            "notaire",
            PERSONAL,
            "Rendez-vous chez le notaire (succession Lambert)",
            "Étude de maître Garnier, Estissac",
            "Signature de l'acte pour le legs du terrain à la commune.",
            "reunion",
            PRIVATE,
            works + dt.timedelta(days=1, hours=-8),
            works + dt.timedelta(days=1, hours=-7),
        ),
    ]


def add_demo_content(commune: toolkit.Commune) -> int:
    """Add the demo events that ``commune`` does not have yet (recognised by their UID);
    returns how many were added. The maire's own calendar gets a private one."""
    ensure_calendars(commune)
    by_kind = {c.kind: c for c in calendars(commune)}
    existing = set(toolkit.db.scalars(select(Event.uid).where(Event.commune_id == commune.id)))
    author = toolkit.db.scalar(
        select(toolkit.User)
        .join(toolkit.Membership, toolkit.Membership.user_id == toolkit.User.id)
        .where(toolkit.Membership.commune_id == commune.id, toolkit.Membership.role == "maire")
        .order_by(toolkit.User.id)
    )
    own = personal_calendar(commune, author)
    if own is not None:
        by_kind[PERSONAL] = own
    added = 0
    for demo in _demo_events(now_local()):
        uid = f"demo-{demo.key}@{commune.insee}.agenda.viatic"
        if uid in existing or demo.calendar not in by_kind:
            continue
        event = Event(
            commune_id=commune.id,
            calendar_id=by_kind[demo.calendar].id,
            uid=uid,
            sequence=0,
            title=demo.title,
            place=demo.place,
            description=demo.description,
            category=demo.category,
            visibility=demo.visibility,
            all_day=demo.all_day,
            start_at=demo.start.astimezone(dt.UTC),
            end_at=demo.end.astimezone(dt.UTC),
            timezone=ZONE_NAME,
            rrule=demo.rrule,
            recurrence_end_at=series_end(demo.rrule, demo.start, demo.end),
            exdates=[],
            author_id=author.id if author is not None else None,
        )
        toolkit.db.add(event)
        toolkit.db.flush()
        toolkit.audit(
            "agenda.demo_event_added",
            commune=commune,
            module=PLUGIN,
            object_type="event",
            object_id=event.id,
            actor_label="viatic demo",
        )
        added += 1
    return added
