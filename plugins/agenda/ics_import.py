"""iCalendar in: a ``.ics`` file read and checked before anything of it is written.

``read(data)`` returns the file's events as ``Incoming`` values, in the agenda's terms
(Europe/Paris wall-clock times, an RRULE this plugin accepts, cancelled dates as keys), or
raises ``IcsError`` whose message names the line or the component at fault: the importer
then writes nothing. The rules of writing (matching by UID, updating, the audit) are in
``services.import_events``.

Parsing is ``icalendar``'s; this module adds what a person needs when it fails: a check of
each content line and of the BEGIN/END nesting, with line numbers, before the library reads
the whole, and each component's own errors (which the library records and carries on).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field

import icalendar
from icalendar.parser import Contentline

from core.toolkit import gettext as _
from plugins.agenda import recurrence
from plugins.agenda.services import ZONE, occurrence_key_at

MAX_BYTES = 5 * 1024 * 1024
MAX_EVENTS = 5000


class IcsError(ValueError):
    """The file cannot be imported; the message says where and why, for the person."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass
class Incoming:
    """One VEVENT of the file, checked."""

    uid: str
    recurrence_id: str  # "" for a series or a single event
    title: str
    place: str
    description: str
    all_day: bool
    start: dt.datetime  # aware, Europe/Paris
    end: dt.datetime
    rrule: str | None
    private: bool
    line: int
    exdates: list[str] = field(default_factory=list)


def read(data: bytes) -> list[Incoming]:
    if len(data) > MAX_BYTES:
        raise IcsError(_("Le fichier dépasse %(size)d Mo.", size=MAX_BYTES // 1024 // 1024))
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise IcsError(_("Ce fichier n'est pas un fichier iCalendar (.ics) en UTF-8.")) from None
    lines = _unfolded(text)
    if not lines or lines[0][1].strip().upper() != "BEGIN:VCALENDAR":
        raise IcsError(
            _(
                "Ce fichier n'est pas un fichier iCalendar (.ics) : il doit commencer par "
                "BEGIN:VCALENDAR."
            )
        )
    starts = _check_lines(lines)
    _check_timezones(lines)
    try:
        calendar = icalendar.Calendar.from_ical(text)
    except ValueError as error:  # what the line checks did not catch
        raise IcsError(_("Le fichier iCalendar est mal formé : %(reason)s", reason=error)) from None
    vevents = calendar.walk("VEVENT")
    if len(vevents) > MAX_EVENTS:
        raise IcsError(
            _("Le fichier contient plus de %(max)d événements : découpez-le.", max=MAX_EVENTS)
        )
    event_lines = starts.get("VEVENT", [])
    return [
        _incoming(component, event_lines[n] if n < len(event_lines) else 0)
        for n, component in enumerate(vevents)
    ]


def _unfolded(text: str) -> list[tuple[int, str]]:
    """Content lines with the number of the line each starts on (RFC 5545 §3.1 folding)."""
    out: list[tuple[int, str]] = []
    for number, raw in enumerate(text.replace("\r\n", "\n").replace("\r", "\n").split("\n"), 1):
        if raw[:1] in (" ", "\t") and out:
            out[-1] = (out[-1][0], out[-1][1] + raw[1:])
        elif raw.strip():
            out.append((number, raw))
    return out


def _check_lines(lines: list[tuple[int, str]]) -> dict[str, list[int]]:
    """Each line parses and every BEGIN has its END; returns the line numbers where each
    kind of component begins."""
    stack: list[tuple[str, int]] = []
    starts: dict[str, list[int]] = {}
    for number, line in lines:
        try:
            name, _params, value = Contentline(line).parts()
        except ValueError:
            raise IcsError(
                _(
                    "Ligne %(line)d : « %(text)s » n'est pas une ligne iCalendar valable.",
                    line=number,
                    text=line[:60],
                )
            ) from None
        if name.upper() == "BEGIN":
            stack.append((value.upper(), number))
            starts.setdefault(value.upper(), []).append(number)
        elif name.upper() == "END":
            if not stack or stack[-1][0] != value.upper():
                expected = stack[-1][0] if stack else "—"
                raise IcsError(
                    _(
                        "Ligne %(line)d : END:%(found)s ne ferme pas le composant ouvert "
                        "(%(expected)s).",
                        line=number,
                        found=value,
                        expected=expected,
                    )
                )
            stack.pop()
    if stack:
        kind, number = stack[-1]
        raise IcsError(
            _(
                "Le composant %(kind)s ouvert ligne %(line)d n'est jamais fermé.",
                kind=kind,
                line=number,
            )
        )
    return starts


def _check_timezones(lines: list[tuple[int, str]]) -> None:
    """Each VTIMEZONE read on its own, so that a broken one is named (the library would
    fail on the whole file without saying which)."""
    block: list[str] = []
    first = 0
    for number, line in lines:
        upper = line.strip().upper()
        if upper == "BEGIN:VTIMEZONE":
            block, first = [], number
        if first:
            block.append(line)
        if upper == "END:VTIMEZONE" and first:
            text = "\r\n".join(block) + "\r\n"
            tzid = next((b.split(":", 1)[1] for b in block if b.upper().startswith("TZID")), "")
            try:
                timezone = icalendar.Timezone.from_ical(text)
                if timezone.errors:
                    raise ValueError(timezone.errors[0][1])
                timezone.to_tz(lookup_tzid=False)  # its own rules, even for a known TZID
            except Exception as error:  # the library raises several kinds for a broken one
                raise IcsError(
                    _(
                        "Le fuseau horaire « %(tzid)s » (composant VTIMEZONE, ligne %(line)d) "
                        "est invalide : %(reason)s",
                        tzid=tzid,
                        line=first,
                        reason=error,
                    )
                ) from None
            first = 0


def _incoming(component: icalendar.Event, line: int) -> Incoming:
    title = str(component.get("SUMMARY", "")).strip() or _("Sans titre")
    where = _("L'événement « %(title)s » (ligne %(line)d)", title=title[:60], line=line)
    if component.errors:
        prop, reason = component.errors[0]
        raise IcsError(
            _(
                "%(where)s : %(property)s est invalide (%(reason)s).",
                where=where,
                property=prop,
                reason=reason,
            )
        )
    if "DTSTART" not in component:
        raise IcsError(_("%(where)s n'a pas de date de début (DTSTART).", where=where))
    try:
        first = component.decoded("DTSTART")
        all_day = not isinstance(first, dt.datetime)
        start = _local(first)
        if "DTEND" in component:
            end = _local(component.decoded("DTEND"))
        elif "DURATION" in component:
            end = start + component.decoded("DURATION")
        else:  # RFC 5545: a day for a date, the start itself for a time
            end = start + dt.timedelta(days=1) if all_day else start
        if all_day != (not isinstance(component.decoded("DTEND", first), dt.datetime)):
            raise IcsError(
                _(
                    "%(where)s : le début et la fin doivent être tous deux des dates ou tous "
                    "deux des heures.",
                    where=where,
                )
            )
        if end < start or (all_day and end == start):
            raise IcsError(_("%(where)s : la fin est avant le début.", where=where))
        rule = _rule(component, start, all_day)
        exdates = [
            occurrence_key_at(_local(value.dt), all_day)
            for group in _as_list(component.get("EXDATE"))
            for value in group.dts
        ]
        recurrence_id = ""
        if "RECURRENCE-ID" in component:
            # Of its series' type, which a date changed into an all-day one (or back) keeps.
            replaced = component.decoded("RECURRENCE-ID")
            recurrence_id = occurrence_key_at(
                _local(replaced), not isinstance(replaced, dt.datetime)
            )
    except recurrence.RecurrenceError as error:
        raise IcsError(_("%(where)s : %(reason)s", where=where, reason=error.message)) from None
    except (ValueError, TypeError, KeyError) as error:
        raise IcsError(
            _("%(where)s est invalide : %(reason)s", where=where, reason=error)
        ) from None
    uid = str(component.get("UID", "")).strip()
    if not uid:  # RFC 5545 requires one; a stable stand-in keeps re-imports from doubling
        uid = hashlib.sha256(f"{first}|{title}".encode()).hexdigest()[:32] + "@import"
    return Incoming(
        uid=uid[:255],
        recurrence_id=recurrence_id,
        title=title,
        place=str(component.get("LOCATION", "")).strip(),
        description=str(component.get("DESCRIPTION", "")).strip(),
        all_day=all_day,
        start=start,
        end=end,
        rrule=rule,
        private=str(component.get("CLASS", "PUBLIC")).upper() in ("PRIVATE", "CONFIDENTIAL"),
        line=line,
        exdates=sorted(set(exdates)),
    )


def _local(value: dt.date | dt.datetime) -> dt.datetime:
    """A DATE as local midnight; a floating time as Paris time; any other zone converted."""
    if not isinstance(value, dt.datetime):
        return dt.datetime.combine(value, dt.time(), tzinfo=ZONE)
    if value.tzinfo is None:
        return value.replace(tzinfo=ZONE)
    return value.astimezone(ZONE)


def _rule(component: icalendar.Event, start: dt.datetime, all_day: bool) -> str | None:
    if "RRULE" not in component:
        return None
    rules = _as_list(component.get("RRULE"))
    if len(rules) > 1:
        raise recurrence.RecurrenceError(
            _("un événement ne peut avoir qu'une règle de répétition.")
        )
    parts = rules[0]
    if parts.get("UNTIL"):
        parts["UNTIL"] = [_until(parts["UNTIL"][0], all_day)]
    return recurrence.validate(parts.to_ical().decode(), start, all_day)


def _until(moment: dt.date | dt.datetime, all_day: bool) -> dt.date | dt.datetime:
    """UNTIL as this plugin writes it: a DATE for an all-day series, else a UTC time."""
    if all_day:
        return moment.date() if isinstance(moment, dt.datetime) else moment
    if isinstance(moment, dt.datetime):
        return _local(moment).astimezone(dt.UTC)
    return dt.datetime.combine(moment, dt.time(23, 59, 59), tzinfo=ZONE).astimezone(dt.UTC)


def _as_list(value: object) -> list:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]
