"""The agenda at scale: a commune calendar holding 10,000 events, 500 of them recurring.

Built in bulk (SQLAlchemy Core ``insert()``) over three years, October 2025 to September 2028:
9,500 single events (timed and all-day) and 500 series (weekly, fortnightly, monthly by date
and by weekday, yearly; a third end after a count, a third on a date, a third never; some
with cancelled dates and changed occurrences). Measured, signed in as the maire:

- the month view ``GET /c/10145/agenda/?mois=2026-10`` — server time (median and p95;
  target p95 < 100 ms) and the SQL statements of one request;
- the same month through the JSON API (``/api/v1/c/10145/agenda/evenements``);
- the calendar's subscription feed (the past year and everything to come): the time to
  write it, its size and how many components a phone reads from it; then the time to serve
  it again (the worker's copy of this version) and to answer a phone that has it (304).

Each on SQLite and PostgreSQL (a temporary database, analysed as autovacuum would).

Run: ``.venv/bin/python bench/bench_agenda.py [--requests N] [--no-sqlite]``
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import time
import uuid
from typing import Any
from zoneinfo import ZoneInfo

import _common

INSEE = "10145"
EMAIL = "maire@faux-villecerf.fr"
PASSWORD = "mot-de-passe-de-bench"
SINGLE, RECURRING = 9_500, 500
TARGET_P95_MS = 100.0
PARIS = ZoneInfo("Europe/Paris")
FIRST_DAY = dt.date(2025, 10, 1)
DAYS = 3 * 365
RULES = (
    "FREQ=WEEKLY;BYDAY={day}",
    "FREQ=WEEKLY;INTERVAL=2;BYDAY={day}",
    "FREQ=MONTHLY;BYMONTHDAY={date}",
    "FREQ=MONTHLY;BYDAY=1{day}",
    "FREQ=YEARLY",
)
WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


def build(url: str) -> tuple[Any, str]:
    """The commune, its maire, the agenda enabled, 10,000 events; returns the app and the
    calendar's feed address."""
    from sqlalchemy import insert, select, text

    from core import auth, modules
    from core.db import db
    from core.models import Commune, Membership, User
    from plugins.agenda import recurrence, services
    from plugins.agenda.models import Calendar, Event

    app = _common.make_app(url, ADMIN_TOTP_REQUIRED=False, ARGON2_PROFILE="CHEAPEST")
    rng = random.Random(2026)
    with app.test_request_context():
        commune = Commune(insee=INSEE, name="Faux-Villecerf", postcodes=["10160"], population=215)
        maire = User(email=EMAIL, name="Claire Martin")
        auth.set_password(maire, PASSWORD)
        db.add_all([commune, maire])
        db.flush()
        db.add(Membership(user_id=maire.id, commune_id=commune.id, role="maire"))
        modules.enable(commune, "agenda")
        db.flush()
        calendar = db.scalar(select(Calendar).where(Calendar.kind == "conseil"))
        now = dt.datetime.now(dt.UTC)
        rows = []
        for n in range(SINGLE + RECURRING):
            day = FIRST_DAY + dt.timedelta(days=rng.randrange(DAYS))
            all_day = rng.random() < 0.15
            if all_day:
                start = dt.datetime.combine(day, dt.time(), tzinfo=PARIS)
                end = start + dt.timedelta(days=rng.choice((1, 1, 2)))
            else:
                start = dt.datetime.combine(day, dt.time(rng.randrange(8, 21), 0), tzinfo=PARIS)
                end = start + dt.timedelta(minutes=rng.choice((30, 60, 90, 120)))
            rule, exdates = None, []
            if n >= SINGLE:
                rule = rng.choice(RULES).format(
                    day=WEEKDAYS[start.weekday()], date=min(start.day, 28)
                )
                if "BYMONTHDAY" in rule:
                    start = start.replace(day=min(start.day, 28))
                    end = start + (end - start)
                ending = n % 3
                if ending == 0:
                    rule += f";COUNT={rng.randrange(5, 60)}"
                elif ending == 1:
                    last = start.date() + dt.timedelta(days=rng.randrange(60, 720))
                    rule += ";UNTIL=" + recurrence.until_value(last, PARIS, all_day)
                rule = recurrence.validate(rule, start, all_day)
                occurrences = list(
                    recurrence.occurrences(rule, start, start, start + dt.timedelta(days=120))
                )
                exdates = [
                    services.occurrence_key_at(o, all_day)
                    for o in rng.sample(occurrences, min(2, len(occurrences)))
                ][1:]  # one cancelled date, from the first months, in most series
            rows.append(
                {
                    "commune_id": commune.id,
                    "calendar_id": calendar.id,
                    "uid": f"{uuid.uuid4()}@bench",
                    "recurrence_id": "",
                    "sequence": 0,
                    "title": f"Événement {n}",
                    "place": "Salle des fêtes" if n % 2 else "",
                    "description": "",
                    "category": "reunion",
                    "visibility": rng.choice(("public", "public", "members", "private")),
                    "all_day": all_day,
                    "start_at": start.astimezone(dt.UTC),
                    "end_at": end.astimezone(dt.UTC),
                    "timezone": "Europe/Paris",
                    "rrule": rule,
                    "recurrence_end_at": services.series_end(rule, start, end),
                    "exdates": exdates,
                    "overridden": [],
                    "author_id": maire.id,
                    "created_at": now,
                    "updated_at": now,
                }
            )
        for chunk in range(0, len(rows), 2000):
            db.execute(insert(Event), rows[chunk : chunk + 2000])
        token = services.regenerate_feed_token(commune, maire, calendar)
        db.commit()
        if db.get_bind().dialect.name == "postgresql":
            db.execute(text("ANALYZE"))
            db.commit()
        feed = f"/c/{INSEE}/agenda/abonnement/{token}.ics"
    return app, feed


def measure(url: str, label: str, requests: int) -> dict[str, float]:
    app, feed = build(url)
    browser = app.test_client()
    browser.login(EMAIL, PASSWORD)
    month = f"/c/{INSEE}/agenda/?mois=2026-10"
    api = f"/api/v1/c/{INSEE}/agenda/evenements?du=2026-10-01&au=2026-11-01"
    calls = {"month view": lambda: browser.get(month), "API, a month": lambda: browser.get(api)}
    browser.get(month)  # the first visit also makes the maire's own calendar
    counter = _common.QueryCounter(app.extensions["viatic.db"].engine)
    with counter.counting() as statements:
        first = browser.get(month)
    _common.freeze_like_a_worker()
    occurrences = len(browser.get(api).get_json()["occurrences"])
    samples: dict[str, list[float]] = {name: [] for name in calls}
    for round_ in range(requests + 10):  # the first 10 rounds warm up
        for name, call in calls.items():
            start = time.perf_counter()
            response = call()
            elapsed = time.perf_counter() - start
            if response.status_code != 200:
                raise SystemExit(f"{label}: {name} answered {response.status_code}")
            if round_ >= 10:
                samples[name].append(elapsed)
    results = {}
    for name, values in samples.items():
        stats = _common.summary(values)
        results[name] = stats["p95"] * 1e3
        print(
            f"{label:<11} {name:<14} median {stats['median'] * 1e3:7.2f} ms   "
            f"p95 {stats['p95'] * 1e3:7.2f} ms"
        )
    print(
        f"{label:<11} one month: {occurrences} dates shown, {len(first.data) // 1024} KiB of "
        f"HTML, {len(statements)} SQL statements ({counter.seconds * 1e3:.1f} ms in the driver)"
    )
    written, response = _common.timed(lambda: browser.get(feed))
    cached = sorted(_common.timed(lambda: browser.get(feed))[0] for _ in range(5))[2]
    tag = response.headers["ETag"]
    unchanged = sorted(
        _common.timed(lambda: browser.get(feed, headers={"If-None-Match": tag}))[0]
        for _ in range(5)
    )[2]
    import icalendar

    parsed = icalendar.Calendar.from_ical(response.data)
    print(
        f"{label:<11} feed: written in {written * 1e3:.0f} ms, {len(response.data) / 2**20:.2f} "
        f"MiB, {len(parsed.walk('VEVENT'))} VEVENT; again (this worker's copy) "
        f"{cached * 1e3:.1f} ms; a phone that has it (304) {unchanged * 1e3:.1f} ms"
    )
    counter.close()
    _common.dispose(app)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--no-sqlite", action="store_true")
    args = parser.parse_args()
    _common.header(
        f"agenda: {SINGLE + RECURRING:,} events ({RECURRING} recurring), {args.requests} "
        "requests per page"
    )
    results = {}
    with _common.temp_dir("bench_agenda") as tmp:
        if not args.no_sqlite:
            results["SQLite"] = measure(f"sqlite:///{tmp / 'agenda.db'}", "SQLite", args.requests)
        with _common.TempPostgres("agenda") as pg:
            if pg.url is None:
                _common.pg_skipped("the agenda benchmark", pg)
            else:
                results["PostgreSQL"] = measure(pg.url, "PostgreSQL", args.requests)
    for label, p95 in results.items():
        month = p95["month view"]
        print(
            f"target {label}: month view p95 {month:.1f} ms (target {TARGET_P95_MS:.0f}) -> "
            f"{_common.verdict(month < TARGET_P95_MS)}"
        )
    print(f"load average at the end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
