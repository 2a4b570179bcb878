"""The pilotage module at the scale of a big commune: 1,000 projects and 20,000 tasks in one
commune among many such communes, then the stratum comparison over 35,000 communes.

Server time (the test client, no network) of:
- the project list, filtered by status and paginated (page 3),
- « Mes tâches » of a councillor who holds 4,000 of the commune's tasks (2,667 open),
- the commune's dashboard (core cards and the six pilotage cards),
- the diagnostic page with its comparison (medians read from the precomputed table),
and the job that computes the medians (per stratum and per EPCI) for 35,000 communes with
one round of diagnostic each (23 domain scores). Targets: p95 < 100 ms for the three pages,
< 200 ms for the comparison page (the job runs at night).

The rows are written with INSERT ... SELECT (generate_series on PostgreSQL, a recursive CTE
on SQLite), not through the services: the services' speed is not what is measured.

Usage: bench_pilotage.py [--communes N] [--requests N] [--sqlite-communes N] [--no-sqlite]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import _common
from sqlalchemy import create_engine, func, select, text

PROJECTS = 1000
TASKS_PER_PROJECT = 20
CHUNK = 100  # communes written per statement
TARGET_PAGE = 0.100
TARGET_COMPARISON = 0.200
PASSWORD = "mot-de-passe-de-bench"
STATUSES = ["idee", "etude", "en_cours", "suspendu", "termine", "abandonne"]
HEALTHS = ["bonne_voie", "a_risque", "bloque"]
TASK_STATUSES = ["a_faire", "en_cours", "fait"]


def series(dialect: str, n: int) -> str:
    """A FROM clause giving the rows g = 1..n."""
    if dialect == "postgresql":
        return f"generate_series(1, {n}) AS s(g)"
    return (
        "(WITH RECURSIVE s(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM s "
        f"WHERE g < {n}) SELECT g FROM s) AS s"
    )


def choose(values: list[str], key: str, quoted: bool = True) -> str:
    """A SQL expression that cycles through ``values`` as ``key`` grows."""
    whens = " ".join(f"WHEN {i} THEN {repr(v) if quoted else v}" for i, v in enumerate(values))
    return f"CASE ({key}) % {len(values)} {whens} END"


@contextlib.contextmanager
def bulk_load(db: Any, models: list[Any]) -> Iterator[None]:
    """One transaction that writes into ``models``' tables without their secondary indexes,
    built again at the end (one sort each instead of a B-tree insert per row), and on
    PostgreSQL without the foreign-key triggers (the bench writes ids it has just read)."""
    indexes = [index for model in models for index in model.__table__.indexes]
    connection = db.connection()
    for index in indexes:
        index.drop(connection)
    if connection.dialect.name == "postgresql":
        # SET LOCAL: for this transaction only, the pooled connection is left as it was.
        connection.execute(text("SET LOCAL session_replication_role = replica"))
        connection.execute(text("SET LOCAL maintenance_work_mem = '1GB'"))
    yield
    for index in indexes:
        index.create(connection)
    db.commit()


def build(url: str, communes: int, data: Path) -> tuple[Any, dict[str, Any]]:
    from core import auth, communes_import, modules
    from core.db import db
    from core.models import Commune, Membership, User
    from plugins.pilotage import referentiel
    from plugins.pilotage.models import Domain, Project, Task

    app = _common.make_app(url, ADMIN_TOTP_REQUIRED=False, ARGON2_PROFILE="CHEAPEST")
    with app.app_context():
        dialect = db.get_bind().dialect.name
        started = time.perf_counter()
        communes_import.import_folder(db, data, lambda *_: None)
        referentiel.load(referentiel.read_folder())
        db.commit()
        total = db.scalar(select(func.count()).select_from(Commune))
        # The measured commune first, then the others that hold as many projects.
        ids = list(db.scalars(select(Commune.id).order_by(Commune.id).limit(communes)))
        measured = db.get(Commune, ids[0])
        modules.enable(measured, "pilotage")
        people = []
        for n, role in enumerate(["maire", "adjoint", "conseiller", "conseiller", "agent"]):
            user = User(email=f"{role}{n}@bench.example", name=f"{role.title()} {n}")
            auth.set_password(user, PASSWORD)
            db.add(user)
            db.flush()
            db.add(Membership(user_id=user.id, commune_id=measured.id, role=role))
            people.append(user)
        db.commit()
        lead = people[0].id
        now = "CURRENT_TIMESTAMP"
        due = (
            "CURRENT_DATE + ((s.g * 7 + p.id) % 400 - 100)"
            if dialect == "postgresql"
            else "date('now', ((s.g * 7 + p.id) % 400 - 100) || ' days')"
        )
        # The measured commune's team holds its tasks; elsewhere, people of their own.
        assignee = (
            f"CASE WHEN p.commune_id = {measured.id} THEN "
            f"{choose([str(p.id) for p in people], '(p.id + s.g)', quoted=False)} END"
        )
        empty_list = "'[]'::json" if dialect == "postgresql" else "'[]'"
        with bulk_load(db, [Project, Task]):
            # By slices of communes: a few big statements, and a line of progress each.
            for first in range(0, len(ids), CHUNK):
                low, high = ids[first], ids[min(first + CHUNK, len(ids)) - 1]
                db.execute(
                    text(
                        "INSERT INTO pilotage_project (commune_id, title, description, lead_id, "
                        "status, priority, start_date, end_date, budget_planned, "
                        "budget_committed, budget_spent, progress, health, health_reason, "
                        "citizen_summary, published, created_at, updated_at) "
                        f"SELECT c.id, 'Projet ' || s.g, '', {lead}, {choose(STATUSES, 's.g')}, "
                        "'normale', NULL, NULL, 1000 * s.g, 400 * s.g, 100 * s.g, s.g % 101, "
                        f"{choose(HEALTHS, 's.g')}, '', '', false, {now}, {now} "
                        f"FROM commune c, {series(dialect, PROJECTS)} "
                        f"WHERE c.id BETWEEN {low} AND {high}"
                    )
                )
                db.execute(
                    text(
                        "INSERT INTO pilotage_task (commune_id, project_id, title, description, "
                        "assignee_id, due_date, priority, status, checklist, created_at, "
                        f"updated_at) SELECT p.commune_id, p.id, 'Tâche ' || s.g, '', {assignee}, "
                        f"{due}, 'normale', {choose(TASK_STATUSES, 's.g')}, {empty_list}, {now}, "
                        f"{now} FROM pilotage_project p, {series(dialect, TASKS_PER_PROJECT)} "
                        f"WHERE p.commune_id BETWEEN {low} AND {high}"
                    )
                )
                print(
                    f"   {min(first + CHUNK, len(ids))} communes written "
                    f"({time.perf_counter() - started:.0f} s)",
                    flush=True,
                )
        # One round of diagnostic in every commune of France, sharing its scores.
        db.execute(
            text(
                "INSERT INTO pilotage_diagnostic (commune_id, started_at) "
                f"SELECT id, {now} FROM commune"
            )
        )
        db.execute(
            text(
                "INSERT INTO pilotage_domain_score (diagnostic_id, commune_id, domain_id, score) "
                "SELECT d.id, d.commune_id, m.id, (d.commune_id * 37 + m.id * 11) % 101 "
                "FROM pilotage_diagnostic d, pilotage_domain m"
            )
        )
        db.execute(
            text(
                "INSERT INTO pilotage_sharing (commune_id, opted_in, changed_at) "
                f"SELECT id, true, {now} FROM commune"
            )
        )
        db.commit()
        if dialect == "postgresql":
            # As autovacuum would leave them, before it starts during the measures. Its own
            # engine: the portal's opens a transaction before any statement but a SELECT.
            autocommit = create_engine(url, isolation_level="AUTOCOMMIT")
            with autocommit.connect() as connection:
                connection.execute(text("VACUUM ANALYZE"))
            autocommit.dispose()
        counts = {
            "communes": total,
            "communes with projects": len(ids),
            "projects": db.scalar(text("SELECT count(*) FROM pilotage_project")),
            "tasks": db.scalar(text("SELECT count(*) FROM pilotage_task")),
            "domain scores": db.scalar(text("SELECT count(*) FROM pilotage_domain_score")),
            "domains": db.scalar(select(func.count()).select_from(Domain)),
            "seconds to build": round(time.perf_counter() - started, 1),
        }
        return app, {
            "insee": measured.insee,
            "maire": people[0].email,
            "conseiller": people[2].email,
            "counts": counts,
        }


def timed(call: Any, requests: int, label: str) -> dict[str, float]:
    samples = []
    for round_ in range(requests + 5):  # the first five warm up
        start = time.perf_counter()
        response = call()
        elapsed = time.perf_counter() - start
        if response.status_code != 200:
            raise SystemExit(f"{label}: answered {response.status_code}")
        if round_ >= 5:
            samples.append(elapsed)
    return _common.summary(samples)


def measure(url: str, label: str, communes: int, requests: int, data: Path) -> dict[str, Any]:
    from core.db import db
    from plugins.pilotage import diagnostic

    app, built = build(url, communes, data)
    print(f"{label}: {built['counts']}")
    with app.app_context():
        start = time.perf_counter()
        stored = diagnostic.compute_benchmarks()
        db.commit()
        job = time.perf_counter() - start
    print(f"{label}: the comparison job stored {stored} medians in {job:.2f} s")
    base = f"/c/{built['insee']}"
    maire = app.test_client()
    maire.login(built["maire"], PASSWORD)
    conseiller = app.test_client()
    conseiller.login(built["conseiller"], PASSWORD)
    with app.app_context():
        from core.models import Commune
        from plugins.pilotage.models import Sharing

        commune = db.scalar(db.query(Commune).filter_by(insee=built["insee"]).statement)
        if db.get(Sharing, commune.id) is None:
            db.add(Sharing(commune_id=commune.id, opted_in=True))
            db.commit()
    pages = {
        "project list (en cours, page 3)": lambda: maire.get(
            f"{base}/pilotage/projets?statut=en_cours&page=3"
        ),
        "Mes tâches": lambda: conseiller.get(f"{base}/pilotage/mes-taches"),
        "dashboard": lambda: maire.get(f"{base}/"),
        "diagnostic with comparison": lambda: maire.get(f"{base}/pilotage/diagnostic"),
    }
    results = {}
    for name, call in pages.items():
        stats = timed(call, requests, f"{label} {name}")
        results[name] = stats
        print(
            f"{label:<11} {name:<32} median {stats['median'] * 1e3:7.2f} ms   "
            f"p95 {stats['p95'] * 1e3:7.2f} ms"
        )
    results["job"] = job
    _common.dispose(app)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--communes", type=int, default=1000, help="communes with projects")
    parser.add_argument("--sqlite-communes", type=int, default=20)
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument("--data", type=Path, default=_common.DEFAULT_DATA)
    args = parser.parse_args()
    _common.header(
        f"pilotage: {PROJECTS} projects and {PROJECTS * TASKS_PER_PROJECT} tasks per commune, "
        f"{args.requests} requests per page"
    )
    results = {}
    with _common.temp_dir("bench_pilotage") as tmp:
        if not args.no_sqlite:
            results["SQLite"] = measure(
                f"sqlite:///{tmp / 'pilotage.db'}",
                "SQLite",
                args.sqlite_communes,
                args.requests,
                args.data,
            )
        with _common.TempPostgres("pilotage") as pg:
            if pg.url is None:
                _common.pg_skipped("the pilotage benchmark", pg)
            else:
                results["PostgreSQL"] = measure(
                    pg.url, "PostgreSQL", args.communes, args.requests, args.data
                )
    for label, found in results.items():
        for name, stats in found.items():
            if name == "job":
                continue
            target = TARGET_COMPARISON if name.startswith("diagnostic") else TARGET_PAGE
            print(
                f"target {label} {name}: p95 {stats['p95'] * 1e3:.1f} ms "
                f"(target {target * 1e3:.0f}) -> {_common.verdict(stats['p95'] < target)}"
            )
    print(f"load average at the end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
