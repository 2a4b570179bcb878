"""The CalDAV sync at scale: a remote calendar of 1,000 events pulled from a real Radicale.

A Radicale server (the test suite's, ``tests/plugins/caldav/radicale.py``) on 127.0.0.1
gets 1,000 events, 100 of them weekly series each with one changed occurrence; a commune
connects its council calendar to it. Measured on SQLite and PostgreSQL:

- the first sync (everything comes in): time, HTTP requests (from the connector log);
- a resync with nothing changed: time and requests (the aim: a handful, not 1,000);
- a resync after 10 events changed on the server: time and requests;
- pushing 50 local changes through the outbox: time and requests.

Run: ``.venv/bin/python bench/bench_caldav.py [--events N] [--no-postgres]``
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import time
from typing import Any

import _common
import requests

from tests.plugins.caldav.radicale import PASSWORD, USER, Radicale

INSEE = "10145"
EMAIL = "maire@faux-villecerf.fr"
RECURRING_EVERY = 10  # one event in ten is a weekly series with a changed occurrence


def remote_event(n: int) -> str:
    """The iCalendar of the n-th remote event (a series with an override, or one date)."""
    day = dt.date(2026, 9, 1) + dt.timedelta(days=n % 300)
    start = f"{day:%Y%m%d}T{9 + n % 9:02d}0000"
    end = f"{day:%Y%m%d}T{10 + n % 9:02d}0000"
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//Bench//FR",
        "BEGIN:VEVENT",
        f"UID:bench-{n}@serveur",
        "DTSTAMP:20260901T080000Z",
        "LAST-MODIFIED:20260901T080000Z",
        f"DTSTART;TZID=Europe/Paris:{start}",
        f"DTEND;TZID=Europe/Paris:{end}",
        f"SUMMARY:Événement {n}",
    ]
    if n % RECURRING_EVERY == 0:
        lines += ["RRULE:FREQ=WEEKLY;COUNT=10", "END:VEVENT", "BEGIN:VEVENT"]
        moved = day + dt.timedelta(days=7)
        lines += [
            f"UID:bench-{n}@serveur",
            "DTSTAMP:20260901T080000Z",
            f"RECURRENCE-ID;TZID=Europe/Paris:{moved:%Y%m%d}T{9 + n % 9:02d}0000",
            f"DTSTART;TZID=Europe/Paris:{moved:%Y%m%d}T200000",
            f"DTEND;TZID=Europe/Paris:{moved:%Y%m%d}T210000",
            f"SUMMARY:Événement {n} (déplacé)",
        ]
    lines += ["END:VEVENT", "END:VCALENDAR", ""]
    return "\r\n".join(lines)


def fill(server: Any, count: int) -> str:
    """A new remote calendar with ``count`` events; returns its URL."""
    calendar = server.new_calendar("Bench")
    url = str(calendar.url)
    session = requests.Session()
    session.auth = (USER, PASSWORD)
    for n in range(count):
        answer = session.put(
            f"{url}bench-{n}.ics",
            data=remote_event(n).encode(),
            headers={"Content-Type": "text/calendar"},
            timeout=30,
        )
        answer.raise_for_status()
    return url


def calls(app: Any) -> int:
    from sqlalchemy import func, select

    from core.db import db
    from core.models import ConnectorCall

    with app.app_context():
        return db.scalar(
            select(func.count())
            .select_from(ConnectorCall)
            .where(ConnectorCall.connector == "caldav")
        )


def measure(database_url: str, label: str, server: Any, url: str) -> dict[str, tuple]:
    from sqlalchemy import select

    from core import auth, modules, outbox
    from core.db import db
    from core.models import Commune, Membership, User
    from plugins.agenda.models import Calendar, Event
    from plugins.caldav import services
    from plugins.caldav.models import Connection

    app = _common.make_app(database_url, ADMIN_TOTP_REQUIRED=False, ARGON2_PROFILE="CHEAPEST")
    figures: dict[str, tuple] = {}
    with app.test_request_context():
        commune = Commune(insee=INSEE, name="Faux-Villecerf", postcodes=["10160"], population=215)
        maire = User(email=EMAIL, name="Claire Martin")
        auth.set_password(maire, "mot-de-passe-de-bench")
        db.add_all([commune, maire])
        db.flush()
        db.add(Membership(user_id=maire.id, commune_id=commune.id, role="maire"))
        modules.enable(commune, "agenda")
        modules.enable(commune, "caldav")
        calendar = db.scalar(select(Calendar).where(Calendar.kind == "conseil"))
        db.commit()  # the connector log writes in transactions of its own, naming the commune
        connection = services.connect(commune, maire, calendar, url, USER, PASSWORD)
        db.commit()
        connection_id = connection.id

        def sync(what: str) -> None:
            before = calls(app)
            start = time.perf_counter()
            result = services.sync_now(commune, db.get(Connection, connection_id))
            seconds = time.perf_counter() - start
            assert result is not None, db.get(Connection, connection_id).last_error
            figures[what] = (seconds, calls(app) - before, result.changed)

        sync("first sync")
        sync("resync, nothing changed")

        session = requests.Session()
        session.auth = (USER, PASSWORD)
        for n in range(1, 11):
            text = remote_event(n).replace(f"SUMMARY:Événement {n}", f"SUMMARY:Changé {n}")
            text = text.replace("LAST-MODIFIED:20260901T080000Z", "LAST-MODIFIED:20260902T080000Z")
            session.put(f"{url}bench-{n}.ics", data=text.encode(), timeout=30).raise_for_status()
        sync("resync, 10 changed there")

        for event in db.scalars(
            select(Event).where(Event.recurrence_id == "").order_by(Event.id).limit(50)
        ):
            event.title = f"{event.title} (mairie)"
            event.updated_at = dt.datetime.now(dt.UTC)
        db.commit()  # the agenda tells the provider, which queues 50 outbox messages
        before = calls(app)
        start = time.perf_counter()
        delivered = outbox.deliver_due(limit=1000)
        figures["push 50 local changes"] = (
            time.perf_counter() - start,
            calls(app) - before,
            delivered,
        )
    _common.dispose(app)
    for what, (seconds, requests_made, count) in figures.items():
        print(
            f"{label:10} {what:28} {seconds * 1000:9.0f} ms  {requests_made:5d} HTTP requests"
            f"  ({count} events)"
        )
    return figures


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    _common.header(f"caldav: first sync of {args.events:,} events from Radicale, then resyncs")
    with _common.temp_dir("bench_caldav") as tmp:
        server = Radicale(tmp / "radicale")
        server.start()
        try:
            start = time.perf_counter()
            url = fill(server, args.events)
            print(
                f"filling Radicale with {args.events} events: {time.perf_counter() - start:.1f} s"
            )
            measure(f"sqlite:///{tmp / 'caldav.db'}", "SQLite", server, url)
            if not args.no_postgres:
                with _common.TempPostgres("caldav") as pg:
                    if pg.url is None:
                        _common.pg_skipped("the caldav benchmark", pg)
                    else:
                        measure(pg.url, "PostgreSQL", server, fill(server, args.events))
        finally:
            server.stop()
    print(f"load average at the end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
