"""Helpers shared by the ``bench_*.py`` scripts: temporary databases, app set-up, statistics.

Not a benchmark itself (``make bench`` runs ``bench/bench_*.py`` only). Every script imports
it as ``import _common``, which works because Python puts the script's folder on the path.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
# The Etalab reference data sits beside the repository (see docs/ARCHITECTURE.md).
DEFAULT_DATA = REPO.parent / "shared" / "data" / "decoupage-administratif"
# The PostgreSQL server on loopback; override with VIATIC_BENCH_PG_URL (server URL, no
# database: each script creates its own temporary database and drops it at the end).
PG_SERVER_URL = os.environ.get(
    "VIATIC_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/"
)
SECRET = "secret-for-benchmarks-only"

if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))


# --- Output ------------------------------------------------------------------------------------


def header(title: str) -> None:
    print(f"== {title}")
    print(
        f"   {dt.datetime.now().isoformat(timespec='seconds')}, Python {platform.python_version()}"
        f", {os.cpu_count()} CPU, {platform.system()} {platform.release()}"
    )


def percentile(samples: list[float], fraction: float) -> float:
    """The ``fraction`` percentile (nearest rank) of ``samples``."""
    ordered = sorted(samples)
    rank = max(0, min(len(ordered) - 1, round(fraction * len(ordered) + 0.5) - 1))
    return ordered[rank]


def summary(samples: list[float]) -> dict[str, float]:
    return {
        "median": statistics.median(samples),
        "p95": percentile(samples, 0.95),
        "min": min(samples),
        "max": max(samples),
        "mean": statistics.fmean(samples),
    }


def verdict(met: bool | None) -> str:
    return "n/a" if met is None else ("MET" if met else "MISSED")


# --- Temporary places ----------------------------------------------------------------------------


@contextlib.contextmanager
def temp_dir(prefix: str) -> Iterator[Path]:
    """A temporary folder, also used as the Flask instance folder, removed at the end."""
    path = Path(tempfile.mkdtemp(prefix=f"viatic-bench-{prefix}-"))
    previous = os.environ.get("VIATIC_INSTANCE_PATH")
    os.environ["VIATIC_INSTANCE_PATH"] = str(path / "instance")
    try:
        yield path
    finally:
        if previous is None:
            os.environ.pop("VIATIC_INSTANCE_PATH", None)
        else:
            os.environ["VIATIC_INSTANCE_PATH"] = previous
        shutil.rmtree(path, ignore_errors=True)


class TempPostgres:
    """A PostgreSQL database made for one script and dropped at the end (``with`` block).

    ``url`` is None when the server cannot be reached; ``reason`` then says why.
    """

    def __init__(self, label: str) -> None:
        self.name = f"viatic_bench_{label}_{os.getpid()}_{uuid.uuid4().hex[:6]}"
        self.url: str | None = None
        self.reason = ""
        self._created = False

    def _admin_engine(self) -> Any:
        from sqlalchemy import create_engine
        from sqlalchemy.engine import make_url

        url = make_url(PG_SERVER_URL)
        if not url.database:
            url = url.set(database="postgres")
        return create_engine(url, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3})

    def __enter__(self) -> TempPostgres:
        from sqlalchemy import text
        from sqlalchemy.engine import make_url

        try:
            engine = self._admin_engine()
            try:
                with engine.connect() as connection:
                    connection.execute(text(f'CREATE DATABASE "{self.name}"'))
            finally:
                engine.dispose()
        except Exception as exc:  # no server, no driver, no right to create a database
            self.reason = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
            return self
        self._created = True
        self.url = (
            make_url(PG_SERVER_URL).set(database=self.name).render_as_string(hide_password=False)
        )
        return self

    def __exit__(self, *_exc: object) -> None:
        self.drop()

    def drop(self) -> None:
        if not self._created:
            return
        from sqlalchemy import text

        engine = self._admin_engine()
        try:
            with engine.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
        finally:
            engine.dispose()
        self._created = False


def pg_skipped(what: str, database: TempPostgres) -> None:
    print(f"-- {what}: PostgreSQL not reachable, skipped ({database.reason})")


# --- Apps ---------------------------------------------------------------------------------------


def settings(database_url: str, **extra: Any) -> dict[str, Any]:
    """The configuration of a benchmark app: like the test suite's, without the test mode
    (so that ``SESSION_COOKIE_SECURE`` and the rest are as in production)."""
    config = {
        "ENV": "production",
        "SECRET_KEY": SECRET,
        "DATABASE_URL": database_url,
        "SERVER_NAME": "viatic.test",
        "SMTP_HOST": "",
    }
    config.update(extra)
    return config


def make_app(
    database_url: str,
    plugins: Iterable[object] = (),
    entry_points: bool = True,
    migrate: bool = True,
    **config: Any,
) -> Any:
    """``create_app()`` on ``database_url``, migrated with ``core.migrate.upgrade()``."""
    from core.app import create_app
    from core.testing import ViaticClient

    app = create_app(settings(database_url, **config), plugins=plugins, entry_points=entry_points)
    app.test_client_class = ViaticClient
    if migrate:
        from core.migrate import upgrade

        with app.app_context():
            upgrade()
    return app


def freeze_like_a_worker() -> None:
    """What ``core.wsgi`` does once a worker has started: the objects alive now (modules,
    apps, the data set-up left behind) leave the garbage collector's passes, so that the
    requests measured pay for their own garbage only, as in production."""
    gc.collect()
    gc.freeze()


def dispose(app: Any) -> None:
    app.extensions["viatic.db"].engine.dispose()


class QueryCounter:
    """Counts, keeps and times the SQL statements an engine runs while ``counting()``."""

    def __init__(self, engine: Any) -> None:
        from sqlalchemy import event

        self.statements: list[str] = []
        self.durations: list[float] = []  # seconds in the driver, one per statement
        self.active = False
        self._engine = engine
        self._started = 0.0
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)

    def _before(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if self.active:
            self.statements.append(" ".join(statement.split()))
            self._started = time.perf_counter()

    def _after(self, *_args: Any) -> None:
        if self.active:
            self.durations.append(time.perf_counter() - self._started)

    @property
    def seconds(self) -> float:
        return sum(self.durations)

    @contextlib.contextmanager
    def counting(self) -> Iterator[list[str]]:
        self.statements = []
        self.durations = []
        self.active = True
        try:
            yield self.statements
        finally:
            self.active = False

    def close(self) -> None:
        from sqlalchemy import event

        event.remove(self._engine, "before_cursor_execute", self._before)
        event.remove(self._engine, "after_cursor_execute", self._after)


def timed(function: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = function()
    return time.perf_counter() - start, result
