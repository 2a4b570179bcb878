"""``viatic communes import`` of the whole Etalab "découpage administratif" set.

On SQLite and on PostgreSQL (a temporary database, migrated with ``core.migrate.upgrade()``),
each on two fresh databases:
- in-process ``import_folder(session, folder, progress)``: first import, then re-import
  (update in place), with the time of each step (reading and checking the files, then the
  upsert of each table);
- the real command, ``viatic communes import DIR``, in a subprocess: first import, then
  re-import (process start-up included).
Target: < 20 s for each import.

Run: ``.venv/bin/python bench/bench_communes_import.py [DATA_DIR]`` (default: the
``../shared/data/decoupage-administratif`` folder beside the repository).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import _common

TARGET_S = 20.0
EXPECTED = {"commune": 34_969, "epci": 1_255}


Step = tuple[str, int, float]  # table, rows, seconds


def in_process(url: str, folder: Path) -> tuple[list[tuple[str, float, list[Step]]], dict]:
    """First import then re-import with ``import_folder``: the steps' times of each, and
    the row counts found afterwards."""
    from core.communes_import import import_folder
    from core.db import db

    app = _common.make_app(url)
    runs = []
    try:
        for label in ("first import", "re-import"):
            with app.app_context():
                steps: list[Step] = []
                start = time.perf_counter()
                last = [start]

                def progress(
                    table: str, count: int, steps: list = steps, last: list = last
                ) -> None:
                    now = time.perf_counter()
                    steps.append((table, count, now - last[0]))
                    last[0] = now

                import_folder(db, folder, progress)
                runs.append((label, time.perf_counter() - start, steps))
        with app.app_context():
            found = counts(db)
    finally:
        _common.dispose(app)
    return runs, found


def counts(session: Any) -> dict[str, int]:
    """What the database holds after the imports."""
    from sqlalchemy import func, select

    from core.models import Commune, Epci

    return {
        "commune": session.scalar(select(func.count()).select_from(Commune)),
        "commune in an EPCI": session.scalar(
            select(func.count()).where(Commune.epci_siren.is_not(None))
        ),
        "epci": session.scalar(select(func.count()).select_from(Epci)),
    }


def with_cli(url: str, folder: Path, instance: Path) -> list[tuple[str, float, str]]:
    """First import then re-import with the ``viatic`` command, in subprocesses."""
    _common.dispose(_common.make_app(url))  # migrated, as `viatic db upgrade` would
    command = shutil.which("viatic", path=str(Path(sys.executable).parent)) or "viatic"
    env = {
        **os.environ,
        "VIATIC_ENV": "production",
        "VIATIC_SECRET_KEY": _common.SECRET,
        "VIATIC_DATABASE_URL": url,
        "VIATIC_INSTANCE_PATH": str(instance),
    }
    runs = []
    for label in ("first import", "re-import"):
        start = time.perf_counter()
        done = subprocess.run(
            [command, "communes", "import", str(folder)],
            capture_output=True,
            text=True,
            env=env,
            cwd=_common.REPO,
            check=False,
        )
        seconds = time.perf_counter() - start
        if done.returncode != 0:
            raise SystemExit(f"viatic communes import failed:\n{done.stdout}\n{done.stderr}")
        runs.append((label, seconds, done.stdout.strip().splitlines()[-1]))
    return runs


def report(
    backend: str, runs: list, found: dict[str, int], cli_runs: list
) -> list[tuple[str, float]]:
    figures = []
    for label, seconds, steps in runs:
        # The first step's time includes reading and checking the four files.
        detail = ", ".join(
            f"{'files read + ' if n == 0 else ''}{table} {count:,} {t:.2f} s"
            for n, (table, count, t) in enumerate(steps)
        )
        print(f"  import_folder(), {label:<12} {seconds:6.2f} s  ({detail})")
        figures.append((f"{backend}, import_folder() {label}", seconds))
    for label, seconds, output in cli_runs:
        print(
            f"  viatic communes import, {label:<12} {seconds:6.2f} s  (process included): {output}"
        )
        figures.append((f"{backend}, viatic communes import, {label}", seconds))
    first, again = runs[0][1], runs[1][1]
    print(f"  re-import / first import (import_folder): x{again / first:.2f}")
    print("  in the database afterwards: " + ", ".join(f"{n:,} {t}" for t, n in found.items()))
    for table, expected in EXPECTED.items():
        if found[table] != expected:
            print(f"  WARNING: {found[table]:,} {table} rows, {expected:,} expected")
    return figures


def main() -> None:
    folder = Path(sys.argv[1]) if len(sys.argv) > 1 else _common.DEFAULT_DATA
    if not (folder / "communes.json").is_file():
        raise SystemExit(f"No Etalab data in {folder} (give the folder as first argument)")
    from core.communes_import import read_folder

    _common.header(f"viatic communes import of {folder.name}")
    seconds, tables = _common.timed(lambda: read_folder(folder))
    print(
        f"reading and checking the 4 files alone: {seconds:.2f} s "
        f"({', '.join(f'{len(rows):,} {name}' for name, rows in tables.items())})"
    )
    figures: list[tuple[str, float]] = []
    with _common.temp_dir("import") as tmp:
        print("-- SQLite")
        runs, found = in_process(f"sqlite:///{tmp / 'a.db'}", folder)
        cli_runs = with_cli(f"sqlite:///{tmp / 'b.db'}", folder, tmp / "instance")
        figures += report("SQLite", runs, found, cli_runs)
        with _common.TempPostgres("import_a") as pg_a, _common.TempPostgres("import_b") as pg_b:
            if pg_a.url is None or pg_b.url is None:
                _common.pg_skipped("PostgreSQL import", pg_a if pg_a.url is None else pg_b)
            else:
                print("-- PostgreSQL")
                runs, found = in_process(pg_a.url, folder)
                cli_runs = with_cli(pg_b.url, folder, tmp / "instance")
                figures += report("PostgreSQL", runs, found, cli_runs)
    for label, seconds in figures:
        print(
            f"target {label:<52} {seconds:6.2f} s (< {TARGET_S:g} s) -> "
            f"{_common.verdict(seconds < TARGET_S)}"
        )


if __name__ == "__main__":
    main()
