"""iCalendar (RFC 5545) out: one event's ``.ics``, and the subscription feeds (a calendar's,
a person's planning).

Timed events are written in local time with ``TZID=Europe/Paris`` and the zone's
VTIMEZONE (its daylight-saving rules, as phones and Thunderbird expect); all-day events as
``VALUE=DATE``. UID never changes, SEQUENCE counts the changes of what the event says (not
of who is expected), RRULE and EXDATE carry the recurrence, and an occurrence changed on its
own is a VEVENT of the series' UID with a RECURRENCE-ID. Built with the ``icalendar``
library, which folds lines, escapes text and ends lines with CRLF.

Guests from outside get iTIP messages (RFC 5546) by e-mail, of what they hold
(``services.GuestCopy``): a ``REQUEST`` to invite them or to update it, a ``CANCEL`` when it
is deleted or they are taken off it. A guest of single dates of a series holds those dates
alone, each with its RECURRENCE-ID and without the series' RRULE.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable

import icalendar

from core import toolkit
from plugins.agenda import services
from plugins.agenda.models import PUBLIC, Event, User

PRODID = "-//Viatic//Agenda//FR"
MEDIA_TYPE = "text/calendar; charset=utf-8"


def europe_paris() -> icalendar.Timezone:
    """Europe/Paris as a VTIMEZONE: CET (UTC+1) in winter, CEST (UTC+2) from the last
    Sunday of March at 02:00 to the last Sunday of October at 03:00 (EU rules since 1996)."""
    zone = icalendar.Timezone()
    zone.add("tzid", services.ZONE_NAME)
    zone.add("x-lic-location", services.ZONE_NAME)
    summer = icalendar.TimezoneDaylight()
    summer.add("tzname", "CEST")
    summer.add("tzoffsetfrom", dt.timedelta(hours=1))
    summer.add("tzoffsetto", dt.timedelta(hours=2))
    summer.add("dtstart", dt.datetime(1970, 3, 29, 2, 0, 0))
    summer.add("rrule", {"freq": "yearly", "bymonth": 3, "byday": "-1su"})
    winter = icalendar.TimezoneStandard()
    winter.add("tzname", "CET")
    winter.add("tzoffsetfrom", dt.timedelta(hours=2))
    winter.add("tzoffsetto", dt.timedelta(hours=1))
    winter.add("dtstart", dt.datetime(1970, 10, 25, 3, 0, 0))
    winter.add("rrule", {"freq": "yearly", "bymonth": 10, "byday": "-1su"})
    zone.add_component(summer)
    zone.add_component(winter)
    return zone


def _calendar(name: str | None = None, method: str | None = None) -> icalendar.Calendar:
    cal = icalendar.Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    if method:
        cal.add("method", method)
    if name:
        cal.add("x-wr-calname", name)
        cal.add("x-wr-timezone", services.ZONE_NAME)
    cal.add_component(europe_paris())
    return cal


def vevent(event: Event, url: str | None = None, skipped: Iterable[str] = ()) -> icalendar.Event:
    """``event`` as a VEVENT; ``skipped`` names dates of a series to list as EXDATEs with
    its own (the dates a guest is not expected at, in their copy)."""
    component = icalendar.Event()
    component.add("uid", event.uid)
    component.add("dtstamp", event.updated_at.astimezone(dt.UTC))
    component.add("created", event.created_at.astimezone(dt.UTC))
    component.add("last-modified", event.updated_at.astimezone(dt.UTC))
    component.add("sequence", event.sequence)
    start, end = services.local_start(event), services.local_end(event)
    if event.all_day:
        component.add("dtstart", start.date())
        component.add("dtend", end.date())
    else:
        component.add("dtstart", start)
        component.add("dtend", end)
    component.add("summary", event.title)
    if event.place:
        component.add("location", event.place)
    if event.description:
        component.add("description", event.description)
    component.add("categories", [event.category_label])
    component.add("class", "PUBLIC" if event.visibility == PUBLIC else "PRIVATE")
    component.add("transp", "TRANSPARENT" if event.all_day else "OPAQUE")
    if url:
        component.add("url", url)
    if event.recurrence_id:
        component.add("recurrence-id", _key_value(event, event.recurrence_id))
    if event.rrule:
        component.add("rrule", icalendar.vRecur.from_ical(event.rrule))
        removed = [_key_value(event, key) for key in sorted({*(event.exdates or ()), *skipped})]
        if removed:
            component.add("exdate", removed)
    return component


def _key_value(event: Event, key: str) -> dt.date | dt.datetime:
    """An occurrence key as EXDATE and RECURRENCE-ID want it: a DATE for a date of an
    all-day series, else the local time with its TZID. The key says which, so that a date
    of a timed series changed on its own into an all-day event keeps the type of its
    series' DTSTART, as RFC 5545 wants of RECURRENCE-ID (3.8.4.4)."""
    start = services.key_start(event, key)
    assert start is not None, key
    return start if "T" in key else start.date()


def event_ics(event: Event, url: str | None = None) -> bytes:
    """One event, for « Ajouter à mon agenda »: a series comes with the occurrences changed
    on their own (one of those comes with its series, which a calendar needs to place it)."""
    series = event.parent or event
    cal = _calendar(method="PUBLISH")
    cal.add_component(vevent(series, url))
    for changed in services.overrides_of(series):
        cal.add_component(vevent(changed, url))
    return cal.to_ical()


def invitation_ics(copy: services.GuestCopy, organiser: User) -> str:
    """The invitation e-mailed to a guest from outside the commune (iTIP ``REQUEST``, RFC
    5546) with what they hold, which mail and calendar apps offer to add, or update when
    they hold an older SEQUENCE: the series (its dates they are not expected at as
    EXDATEs) with its dates changed on their own they are expected at, or those dates
    alone (RFC 5546, 3.2.2). Each has its organiser and the guest as an attendee whose
    answer is asked. No URL: the portal's page is for members."""
    cal = _calendar(method="REQUEST")
    if copy.series is not None:
        skipped = [date.recurrence_id for date in copy.skipped]
        cal.add_component(_addressed(vevent(copy.series, skipped=skipped), organiser, copy.address))
    for date in copy.dates:
        cal.add_component(_addressed(vevent(date), organiser, copy.address))
    return cal.to_ical().decode()


def cancel_ics(held: Iterable[Event], organiser: User, guest: str, cancelled: bool) -> str:
    """iTIP ``CANCEL`` of what a guest held: a whole event (a series: its UID alone) or
    dates of a series (each with its RECURRENCE-ID), STATUS:CANCELLED.

    ``cancelled``: they were deleted, and SEQUENCE goes above the last one sent. Else the
    guest is taken off what goes on without them: nothing changed in it, so the SEQUENCE
    is the one they hold, and the later DTSTAMP makes the message newer; invited again,
    they take the REQUEST of that same SEQUENCE, where a higher one here would make it
    look outdated."""
    cal = _calendar(method="CANCEL")
    for event in held:
        found = _addressed(vevent(event), organiser, guest)
        found["sequence"] = event.sequence + 1 if cancelled else event.sequence
        found.add("status", "CANCELLED")
        cal.add_component(found)
    return cal.to_ical().decode()


def _addressed(component: icalendar.Event, organiser: User, guest: str) -> icalendar.Event:
    """``component`` as an iTIP message to ``guest``: its organiser, the guest asked for an
    answer, and DTSTAMP the time of the message (RFC 5545, 3.8.7.2), which orders two
    messages of the same SEQUENCE."""
    component.pop("dtstamp")
    component.add("dtstamp", toolkit.utcnow())
    organiser_address = icalendar.vCalAddress(f"mailto:{organiser.email}")
    organiser_address.params["cn"] = icalendar.vText(organiser.name)
    component.add("organizer", organiser_address)
    attendee = icalendar.vCalAddress(f"mailto:{guest}")
    attendee.params.update({"role": "REQ-PARTICIPANT", "partstat": "NEEDS-ACTION", "rsvp": "TRUE"})
    component.add("attendee", attendee)
    return component


def feed_ics(name: str, events: Iterable[Event], url_of: Callable[[Event], str]) -> bytes:
    """A subscription feed (a calendar's, or a person's planning) named ``name``."""
    cal = _calendar(name=name)
    for event in events:
        cal.add_component(vevent(event, url_of(event)))
    return cal.to_ical()
