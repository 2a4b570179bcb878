"""Recurrence rules: from the form's simple controls to an RFC 5545 RRULE and back, their
validation, their expansion in wall-clock time, and a French sentence that describes them.

Framework-free apart from the translation functions, so that the services, the JSON API
and the iCalendar export share one reading of a rule.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from dateutil.rrule import rrule, rrulestr

from core.toolkit import gettext as _
from core.toolkit import lazy_gettext as _l
from core.toolkit import ngettext

FREQUENCIES = ("daily", "weekly", "monthly", "yearly")
FREQUENCY_LABELS = {
    "": _l("Ne se répète pas"),
    "daily": _l("Tous les jours"),
    "weekly": _l("Toutes les semaines"),
    "monthly": _l("Tous les mois"),
    "yearly": _l("Tous les ans"),
}
WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
WEEKDAY_LABELS = {
    "MO": _l("lundi"),
    "TU": _l("mardi"),
    "WE": _l("mercredi"),
    "TH": _l("jeudi"),
    "FR": _l("vendredi"),
    "SA": _l("samedi"),
    "SU": _l("dimanche"),
}
ENDS = ("never", "count", "until")
MAX_INTERVAL = 99
MAX_COUNT = 500
# The keys of RRULE this module writes and accepts back (RFC 5545 §3.3.10).
ALLOWED_PARTS = {"FREQ", "INTERVAL", "BYDAY", "BYMONTHDAY", "BYMONTH", "BYSETPOS", "COUNT"}
ALLOWED_PARTS |= {"UNTIL", "WKST"}
BYDAY_VALUE = re.compile(r"^([+-]?[1-5])?(MO|TU|WE|TH|FR|SA|SU)$")


class RecurrenceError(ValueError):
    """A rule that cannot be accepted; the message is for the person, in their language."""

    def __init__(self, message: object, field: str = "repeat") -> None:
        super().__init__(str(message))
        self.message = str(message)
        self.field = field


@dataclass
class Controls:
    """The form's recurrence controls."""

    repeat: str = ""  # "" or one of FREQUENCIES
    interval: int = 1
    weekdays: list[str] = field(default_factory=list)  # weekly
    monthly_by: str = "date"  # monthly: "date" (the 27th) or "weekday" (the 4th Tuesday)
    ends: str = "never"
    count: int | None = None
    until: dt.date | None = None


def weekday_position(day: dt.date) -> int:
    """1 for the first such weekday of its month, ..., -1 for the last one (a 5th)."""
    position = (day.day - 1) // 7 + 1
    return -1 if position == 5 else position


def build(controls: Controls, start: dt.datetime, all_day: bool) -> str | None:
    """The RRULE of ``controls`` for a series starting at ``start`` (aware, local time)."""
    if not controls.repeat:
        return None
    if controls.repeat not in FREQUENCIES:
        raise RecurrenceError(_("Choisissez une fréquence de répétition dans la liste."))
    if not 1 <= controls.interval <= MAX_INTERVAL:
        raise RecurrenceError(
            _("L'intervalle de répétition va de 1 à %(max)d.", max=MAX_INTERVAL), "interval"
        )
    parts = [f"FREQ={controls.repeat.upper()}"]
    if controls.interval != 1:
        parts.append(f"INTERVAL={controls.interval}")
    if controls.repeat == "weekly":
        unknown = [d for d in controls.weekdays if d not in WEEKDAYS]
        if unknown:
            raise RecurrenceError(
                _("Choisissez les jours de la semaine dans la liste."), "weekdays"
            )
        days = sorted(set(controls.weekdays), key=WEEKDAYS.index) or [WEEKDAYS[start.weekday()]]
        parts.append("BYDAY=" + ",".join(days))
    elif controls.repeat == "monthly":
        if controls.monthly_by == "weekday":
            parts.append(f"BYDAY={weekday_position(start.date())}{WEEKDAYS[start.weekday()]}")
        elif controls.monthly_by != "date":
            raise RecurrenceError(_("Choisissez comment le mois se répète."), "monthly_by")
    if controls.ends == "count":
        if controls.count is None or not 1 <= controls.count <= MAX_COUNT:
            raise RecurrenceError(
                _("Indiquez un nombre de fois entre 1 et %(max)d.", max=MAX_COUNT), "count"
            )
        parts.append(f"COUNT={controls.count}")
    elif controls.ends == "until":
        if controls.until is None:
            raise RecurrenceError(_("Indiquez la date de la dernière fois."), "until")
        if controls.until < start.date():
            raise RecurrenceError(
                _("La date de la dernière fois doit être le jour du début ou après."), "until"
            )
        parts.append("UNTIL=" + until_value(controls.until, start.tzinfo, all_day))
    elif controls.ends != "never":
        raise RecurrenceError(_("Choisissez quand la répétition s'arrête."), "ends")
    return ";".join(parts)


def until_value(last_day: dt.date, zone: dt.tzinfo | None, all_day: bool) -> str:
    """UNTIL as RFC 5545 wants it: a DATE for an all-day series, else the end of the last
    local day in UTC (a DTSTART with a TZID requires a UTC UNTIL)."""
    if all_day:
        return last_day.strftime("%Y%m%d")
    end_of_day = dt.datetime.combine(last_day, dt.time(23, 59, 59), tzinfo=zone)
    return end_of_day.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")


def parts_of(rule: str) -> dict[str, str]:
    parts: dict[str, str] = {}
    for item in rule.strip().removeprefix("RRULE:").split(";"):
        key, sep, value = item.partition("=")
        if not sep or not key or not value:
            raise RecurrenceError(
                _("La règle de récurrence est mal formée : « %(part)s ».", part=item)
            )
        parts[key.strip().upper()] = value.strip().upper()
    return parts


def validate(rule: str, start: dt.datetime, all_day: bool) -> str:
    """Check an RRULE (from the form or from the API) for a series starting at ``start``
    (aware, local time); returns it normalised. Raises ``RecurrenceError``."""
    if len(rule) > 300:
        raise RecurrenceError(_("La règle de récurrence est trop longue."))
    parts = parts_of(rule)
    unknown = sorted(set(parts) - ALLOWED_PARTS)
    if unknown:
        raise RecurrenceError(
            _(
                "La règle de récurrence contient un élément non pris en charge : %(parts)s.",
                parts=", ".join(unknown),
            )
        )
    if parts.get("FREQ", "").lower() not in FREQUENCIES:
        raise RecurrenceError(
            _("La fréquence doit être quotidienne, hebdomadaire, mensuelle ou annuelle.")
        )
    if "COUNT" in parts and "UNTIL" in parts:
        raise RecurrenceError(
            _("Une répétition s'arrête après un nombre de fois ou à une date, pas les deux.")
        )
    if "COUNT" in parts and not (
        parts["COUNT"].isdigit() and 1 <= int(parts["COUNT"]) <= MAX_COUNT
    ):
        raise RecurrenceError(
            _("Indiquez un nombre de fois entre 1 et %(max)d.", max=MAX_COUNT), "count"
        )
    if "INTERVAL" in parts and not (
        parts["INTERVAL"].isdigit() and 1 <= int(parts["INTERVAL"]) <= MAX_INTERVAL
    ):
        raise RecurrenceError(
            _("L'intervalle de répétition va de 1 à %(max)d.", max=MAX_INTERVAL), "interval"
        )
    if "BYDAY" in parts and not all(BYDAY_VALUE.match(d) for d in parts["BYDAY"].split(",")):
        raise RecurrenceError(
            _("Les jours de la règle de récurrence ne sont pas valables."), "weekdays"
        )
    if "UNTIL" in parts:
        expected = r"^\d{8}$" if all_day else r"^\d{8}T\d{6}Z$"
        if not re.match(expected, parts["UNTIL"]):
            raise RecurrenceError(
                _(
                    "La date de fin de la répétition n'est pas valable (%(value)s).",
                    value=parts["UNTIL"],
                ),
                "until",
            )
    normalised = ";".join(f"{key}={value}" for key, value in parts.items())
    try:
        rule_set = expander(normalised, start)
        first = next(iter(rule_set), None)
    except (ValueError, TypeError, OverflowError) as exc:
        raise RecurrenceError(_("La règle de récurrence n'est pas valable.")) from exc
    if first is None:
        raise RecurrenceError(
            _("Cette répétition ne donne aucune date : vérifiez la règle et sa fin."),
            "until" if "UNTIL" in parts else "repeat",
        )
    return normalised


def expander(rule: str, start: dt.datetime) -> rrule:
    """The dateutil rule of ``rule``, run in wall-clock time: its datetimes are naive local
    times of ``start``'s zone (the caller attaches the zone), so that 18:00 stays 18:00
    across daylight-saving changes."""
    parts = parts_of(rule)
    naive_start = start.replace(tzinfo=None)
    until = parts.get("UNTIL")
    if until and until.endswith("Z"):
        instant = dt.datetime.strptime(until, "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.UTC)
        parts["UNTIL"] = instant.astimezone(start.tzinfo).strftime("%Y%m%dT%H%M%S")
    return _parsed(";".join(f"{key}={value}" for key, value in parts.items()), naive_start)


@functools.lru_cache(maxsize=4096)
def _parsed(text: str, naive_start: dt.datetime) -> rrule:
    """A parsed rule, kept: the month view expands the same series at every request, and
    dateutil's own cache (thread-safe) then keeps the dates it has already computed."""
    result = rrulestr(text, dtstart=naive_start, cache=True)
    assert isinstance(result, rrule)
    return result


def occurrences(
    rule: str, start: dt.datetime, after: dt.datetime, before: dt.datetime, limit: int = 2000
) -> Iterator[dt.datetime]:
    """Starts of the series (aware, in ``start``'s zone) from ``after`` (included) to
    ``before`` (excluded), both aware."""
    zone = start.tzinfo
    assert isinstance(zone, ZoneInfo)
    naive_after = after.astimezone(zone).replace(tzinfo=None)
    naive_before = before.astimezone(zone).replace(tzinfo=None)
    for n, naive in enumerate(expander(rule, start).xafter(naive_after, inc=True)):
        if naive >= naive_before or n >= limit:
            return
        yield naive.replace(tzinfo=zone)


def last_start(rule: str, start: dt.datetime) -> dt.datetime | None:
    """The start of the last occurrence of a finite series; None if it never ends."""
    parts = parts_of(rule)
    if "COUNT" not in parts and "UNTIL" not in parts:
        return None
    naive = None
    for naive in expander(rule, start):  # noqa: B007 - the last one is wanted
        pass
    return naive.replace(tzinfo=start.tzinfo) if naive is not None else start


def split(rule: str, start: dt.datetime, at: dt.datetime, all_day: bool) -> tuple[str, int]:
    """Cut a series before its occurrence starting at ``at``: the rule of the part before
    (it now ends the day or the second before ``at``) and how many occurrences that part
    keeps (for a COUNT rule, the part after has that many fewer)."""
    parts = parts_of(rule)
    kept = sum(1 for _ in occurrences(rule, start, start, at, limit=MAX_COUNT * 100))
    parts.pop("COUNT", None)
    last = at - dt.timedelta(seconds=1)
    parts["UNTIL"] = (
        last.date().strftime("%Y%m%d")
        if all_day
        else last.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    )
    return ";".join(f"{key}={value}" for key, value in parts.items()), kept


def with_count(rule: str, count: int) -> str:
    parts = parts_of(rule)
    parts["COUNT"] = str(max(count, 1))
    return ";".join(f"{key}={value}" for key, value in parts.items())


def controls_of(rule: str | None, start: dt.datetime) -> Controls:
    """The form's controls for an existing rule (the simple rules this module writes)."""
    if not rule:
        return Controls()
    parts = parts_of(rule)
    controls = Controls(repeat=parts.get("FREQ", "").lower())
    if parts.get("INTERVAL", "").isdigit():
        controls.interval = int(parts["INTERVAL"])
    byday = [d for d in parts.get("BYDAY", "").split(",") if d]
    if controls.repeat == "weekly":
        controls.weekdays = [d for d in byday if d in WEEKDAYS]
    if controls.repeat == "monthly" and byday:
        controls.monthly_by = "weekday"
    if "COUNT" in parts:
        controls.ends, controls.count = "count", int(parts["COUNT"])
    elif "UNTIL" in parts:
        controls.ends = "until"
        until = parts["UNTIL"]
        if until.endswith("Z"):
            instant = dt.datetime.strptime(until, "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.UTC)
            controls.until = instant.astimezone(start.tzinfo).date()
        else:
            controls.until = dt.datetime.strptime(until[:8], "%Y%m%d").date()
    return controls


ORDINALS = {
    1: _l("premier"),
    2: _l("deuxième"),
    3: _l("troisième"),
    4: _l("quatrième"),
    -1: _l("dernier"),
}


def describe(rule: str | None, start: dt.datetime) -> str:
    """A sentence for people: « Toutes les semaines le mardi, jusqu'au 15 décembre 2026 »."""
    if not rule:
        return ""
    from flask_babel import format_date

    controls = controls_of(rule, start)
    parts = parts_of(rule)
    n = controls.interval
    if controls.repeat == "daily":
        text = ngettext("Tous les jours", "Tous les %(num)d jours", n)
    elif controls.repeat == "weekly":
        text = ngettext("Toutes les semaines", "Toutes les %(num)d semaines", n)
        days = controls.weekdays or [WEEKDAYS[start.weekday()]]
        text += " " + _("le %(days)s", days=", ".join(str(WEEKDAY_LABELS[d]) for d in days))
    elif controls.repeat == "monthly":
        text = ngettext("Tous les mois", "Tous les %(num)d mois", n)
        byday = parts.get("BYDAY", "")
        found = BYDAY_VALUE.match(byday) if byday and "," not in byday else None
        if found and found.group(1) and int(found.group(1)) in ORDINALS:
            text += " " + _(
                "le %(ordinal)s %(day)s",
                ordinal=ORDINALS[int(found.group(1))],
                day=WEEKDAY_LABELS[found.group(2)],
            )
        else:
            text += " " + _("le %(day)d", day=start.day)
    else:
        text = ngettext("Tous les ans", "Tous les %(num)d ans", n)
    if controls.ends == "count" and controls.count is not None:
        text += ", " + ngettext("%(num)d fois", "%(num)d fois", controls.count)
    elif controls.ends == "until" and controls.until is not None:
        text += ", " + _("jusqu'au %(date)s", date=format_date(controls.until, "long"))
    return text
