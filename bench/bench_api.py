"""Token validation and API request overhead: ``GET /api/v1/me`` with a bearer token against
the same route without authentication.

"The same route without auth" is a public twin of ``/api/v1/me`` registered for this
benchmark: the same view body (the person loaded from the database, serialised through the
same model, answered with an ETag), reached without any credential. The difference is what a
token costs: its keyed hash, the lookup that joins it to its person (with their memberships
and unread count, as every request loads them), the scope check and the audit of its last
use. The signed-in browser (session cookie) is shown for comparison. Target: ≤ 1.5×.

Usage: bench_api.py [--requests N] [--no-sqlite]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from typing import Any

import _common

TARGET = 1.5
EMAIL = "maire@faux-villecerf.fr"


def build(url: str) -> tuple[Any, str, int]:
    """A migrated app with one commune, its maire, a personal token, and the public twin."""
    from flask import Blueprint

    from core import api, auth, tokens
    from core.db import db
    from core.models import Commune, Membership, Notification, User
    from core.rights import public
    from core.views.api import Me

    app = _common.make_app(url, ADMIN_TOTP_REQUIRED=False, ARGON2_PROFILE="CHEAPEST")
    twin = Blueprint("bench_twin", __name__)

    @twin.get("/bench/me/<int:user_id>")
    @public
    def me_without_auth(user_id: int) -> Any:
        return api.respond(api.dump(Me, db.get(User, user_id)))

    app.register_blueprint(twin)
    with app.app_context():
        commune = Commune(insee="10145", name="Faux-Villecerf", postcodes=["10160"], population=215)
        user = User(email=EMAIL, name="Claire Martin")
        auth.set_password(user, "mot-de-passe-de-bench")
        db.add_all([commune, user])
        db.flush()
        db.add(Membership(user_id=user.id, commune_id=commune.id, role="maire"))
        db.add_all(
            Notification(user_id=user.id, type="core.member_joined", title=f"N{i}")
            for i in range(5)
        )
        raw, _token = tokens.create(user, "bench", ["profile"], 30)
        db.commit()
        return app, raw, user.id


def measure(url: str, label: str, requests: int) -> dict[str, float]:
    app, token, user_id = build(url)
    anonymous = app.test_client()
    with_token = app.test_client()
    browser = app.test_client()
    browser.login(EMAIL, "mot-de-passe-de-bench")
    calls = {
        "without auth (public twin)": lambda: anonymous.get(f"/bench/me/{user_id}"),
        "bearer personal token": lambda: with_token.get(
            "/api/v1/me", headers={"Authorization": f"Bearer {token}"}
        ),
        "session cookie": lambda: browser.get("/api/v1/me"),
    }
    bodies = {name: call().get_json() for name, call in calls.items()}
    if len({repr(b) for b in bodies.values()}) != 1:
        raise SystemExit(f"{label}: the three answers differ: {bodies}")
    samples: dict[str, list[float]] = {name: [] for name in calls}
    for round_ in range(requests + 30):  # round-robin, the first 30 rounds warm up
        for name, call in calls.items():
            start = time.perf_counter()
            response = call()
            elapsed = time.perf_counter() - start
            if response.status_code != 200:
                raise SystemExit(f"{label}: {name} answered {response.status_code}")
            if round_ >= 30:
                samples[name].append(elapsed)
    _common.dispose(app)
    medians = {name: statistics.median(values) for name, values in samples.items()}
    for name, values in samples.items():
        stats = _common.summary(values)
        print(
            f"{label:<11} {name:<28} median {stats['median'] * 1e3:6.3f} ms   "
            f"p95 {stats['p95'] * 1e3:6.3f} ms"
        )
    return medians


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--no-sqlite", action="store_true")
    args = parser.parse_args()
    _common.header(f"GET /api/v1/me with a bearer token vs without auth, {args.requests} each")
    results = {}
    with _common.temp_dir("bench_api") as tmp:
        if not args.no_sqlite:
            results["SQLite"] = measure(f"sqlite:///{tmp / 'api.db'}", "SQLite", args.requests)
        with _common.TempPostgres("api") as pg:
            if pg.url is None:
                _common.pg_skipped("the API benchmark", pg)
            else:
                results["PostgreSQL"] = measure(pg.url, "PostgreSQL", args.requests)
    for label, medians in results.items():
        ratio = medians["bearer personal token"] / medians["without auth (public twin)"]
        session = medians["session cookie"] / medians["without auth (public twin)"]
        print(
            f"target {label}: bearer / without auth, median {ratio:6.2f} "
            f"(target {TARGET}) -> {_common.verdict(ratio <= TARGET)}; "
            f"session cookie / without auth {session:.2f}"
        )
    print(f"load average at the end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
