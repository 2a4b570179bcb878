"""The scheduler: plugins' jobs, per-commune jobs, and the lock across processes."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from core import modules, scheduler
from core.db import db
from core.models import Commune, CommuneModule, JobRun
from core.testing import make_app
from tests.conftest import FAKE_PLUGINS
from tests.fake_plugins import ticker

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def app(database_backend, tmp_path):
    application = make_app(database_backend.fresh_url(tmp_path), [*FAKE_PLUGINS, ticker])
    ticker.SEEN.clear()
    yield application
    application.extensions["viatic.db"].engine.dispose()


@pytest.mark.slow
def test_two_scheduler_processes_never_run_the_same_job_at_once(app):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "tests.scheduler_process", app.config["DATABASE_URL"], "5"]
    processes = [subprocess.Popen(command, cwd=ROOT, env=env) for _ in range(2)]
    for process in processes:
        assert process.wait(timeout=60) == 0
    with app.app_context():
        runs = list(
            db.scalars(
                select(JobRun).where(JobRun.name == "ticker.slow_tick").order_by(JobRun.started_at)
            )
        )
    assert len(runs) >= 3, "the job should have run several times in 5 seconds"
    assert all(run.finished_at is not None and run.error is None for run in runs)
    for earlier, later in itertools.pairwise(runs):
        assert later.started_at >= earlier.finished_at, (
            f"{earlier.owner} and {later.owner} overlapped"
        )


def test_a_held_lease_makes_the_other_owner_skip(app):
    with app.app_context():
        assert scheduler.acquire("ticker.slow_tick", 60)
        original = scheduler.OWNER
        scheduler.OWNER = "autre-machine:1"
        try:
            assert scheduler.run_job_in_context("ticker.slow_tick") is False
        finally:
            scheduler.OWNER = original
        scheduler.release("ticker.slow_tick")
        assert scheduler.run_job_in_context("ticker.slow_tick") is True


def test_per_commune_job_runs_where_enabled_and_records_failures(
    app, commune, other_commune, enable_module
):
    from core.testing import add_commune

    add_commune(app, "10038", "Bercenay-le-Hayer")  # ticker not enabled there
    enable_module(commune, "ticker")
    enable_module(other_commune, "ticker")
    with app.app_context():
        scheduler.run_job_in_context("ticker.per_commune")
        errors = {
            insee: error
            for insee, error in db.execute(
                select(Commune.insee, CommuneModule.last_error)
                .join(CommuneModule)
                .where(CommuneModule.plugin == "ticker")
            )
        }
    assert ticker.SEEN == ["10145"]
    assert errors["10145"] is None
    assert (
        errors["10124"] == "ticker.per_commune : le service de Dierrey-Saint-Julien ne répond pas"
    )


def test_a_job_that_works_again_clears_its_error_and_no_other(
    app, client, commune, other_commune, make_member, enable_module, monkeypatch
):
    enable_module(commune, "ticker")
    enable_module(other_commune, "ticker")
    monkeypatch.setattr(ticker, "DOWN", {"10145", "10124"})
    with app.app_context():
        scheduler.run_job_in_context("ticker.per_commune")
        # The page later fails in Dierrey: that error is not the job's to clear.
        modules.record_error(other_commune.id, "ticker", "le widget a planté", "page")
    client.login(make_member(None, platform_admin=True).email)
    assert "2 en erreur" in client.get("/admin/plugins").get_data(as_text=True)

    monkeypatch.setattr(ticker, "DOWN", set())
    with app.app_context():
        scheduler.run_job_in_context("ticker.per_commune")
        errors = dict(
            db.execute(
                select(Commune.insee, CommuneModule.last_error)
                .join(CommuneModule)
                .where(CommuneModule.plugin == "ticker")
            ).all()
        )
    assert errors == {"10145": None, "10124": "le widget a planté"}
    assert "1 en erreur" in client.get("/admin/plugins").get_data(as_text=True)


def test_a_failing_job_is_recorded_and_shown_to_the_platform_admin(
    app, client, make_member, monkeypatch
):
    monkeypatch.setattr(ticker, "slow_tick", lambda: 1 / 0)
    broken = make_app(app.config["DATABASE_URL"], [*FAKE_PLUGINS, ticker])
    with broken.app_context():
        scheduler.run_job_in_context("ticker.slow_tick")
        run = db.scalar(select(JobRun))
    assert "ZeroDivisionError" in run.error
    client.login(make_member(None, platform_admin=True).email)
    assert "échec le" in client.get("/admin/plugins").get_data(as_text=True)


def test_jobs_of_uninstalled_plugins_are_forgotten(app):
    first = scheduler.build_scheduler(app, background=True)
    first.start(paused=True)
    first.shutdown()
    without_ticker = make_app(app.config["DATABASE_URL"], FAKE_PLUGINS)
    second = scheduler.build_scheduler(without_ticker, background=True)
    second.start(paused=True)
    ids = {job.id for job in second.get_jobs()}
    second.shutdown()
    assert "ticker.slow_tick" not in ids and "core.deliver_outbox" in ids
