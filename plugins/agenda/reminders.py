"""Reminders before an event: each person chooses none, 15 minutes, 1 hour or the day
before, for the events they attend (a confirmed appointment) or wrote; a scheduled job,
every few minutes for each commune, sends what is due through the core's notifications,
once per person and occurrence (recorded in ``agenda_reminder_sent``)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from core import toolkit
from core.toolkit import gettext as _
from plugins.agenda import services
from plugins.agenda.models import (
    REMINDER_CHOICES,
    Attendee,
    Event,
    ReminderPreference,
    ReminderSent,
)

JOB_ID = "send_reminders"
EVERY_MINUTES = 5


def preference(user: toolkit.User) -> int:
    row = toolkit.db.get(ReminderPreference, user.id)
    return row.minutes_before if row is not None else 0


def set_preference(user: toolkit.User, minutes: object) -> int:
    try:
        value = int(str(minutes))
    except ValueError:
        value = -1
    if value not in REMINDER_CHOICES:
        raise services.EventError({"minutes": _("Choisissez un rappel dans la liste.")})
    row = toolkit.db.get(ReminderPreference, user.id)
    if row is None:
        row = ReminderPreference(user_id=user.id)
        toolkit.db.add(row)
    row.minutes_before = value
    return value


def send_reminders(commune: toolkit.Commune, now: dt.datetime | None = None) -> int:
    """Remind the members of ``commune`` of what starts soon; returns how many were sent.

    A reminder is due once its time has come and until the event starts: a run that was
    late still sends it, a run after the start does not."""
    now = now or toolkit.utcnow()
    members = select(toolkit.Membership.user_id).where(toolkit.Membership.commune_id == commune.id)
    wanted = dict(
        toolkit.db.execute(
            select(ReminderPreference.user_id, ReminderPreference.minutes_before).where(
                ReminderPreference.minutes_before > 0, ReminderPreference.user_id.in_(members)
            )
        ).all()
    )
    if not wanted:
        return 0
    horizon = now + dt.timedelta(minutes=max(wanted.values()))
    everything = select(Event).where(Event.commune_id == commune.id)
    found = services.occurrences_between(commune, None, now, horizon, query=everything)
    ids = {o.event.id for o in found}
    attending: dict[int, set[int]] = {}
    for event_id, user_id in toolkit.db.execute(
        select(Attendee.event_id, Attendee.user_id).where(Attendee.event_id.in_(ids))
    ):
        attending.setdefault(event_id, set()).add(user_id)
    sent = 0
    for occurrence in found:
        start = occurrence.start.astimezone(dt.UTC)
        if start <= now:
            continue
        event = occurrence.event
        people = attending.get(event.id, set()) | {event.author_id}
        for user_id in sorted(people & wanted.keys()):
            if start - dt.timedelta(minutes=wanted[user_id]) > now:
                continue
            if _record(user_id, event, occurrence.key):
                sent += _notify(commune, user_id, occurrence)
    return sent


def _record(user_id: int, event: Event, key: str) -> bool:
    """Note the reminder as sent; False if it already was (by this run or another)."""
    return toolkit.add_once(ReminderSent(user_id=user_id, event_id=event.id, occurrence=key))


def _notify(commune: toolkit.Commune, user_id: int, occurrence: services.Occurrence) -> int:
    person = toolkit.db.get(toolkit.User, user_id)
    if person is None or not person.is_active:
        return 0
    event = occurrence.event
    toolkit.notify(
        [person],
        "agenda.reminder",
        _("Rappel : %(title)s", title=event.title),
        services.describe_slot(occurrence.start, occurrence.end)
        + (f" — {event.place}" if event.place else ""),
        url=services.event_url(event, occurrence, external=True, commune=commune),
        commune=commune,
    )
    return 1
