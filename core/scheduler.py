"""The scheduler: plugins' jobs run by APScheduler, with a database job store and lock.

``viatic scheduler`` runs it in its own process; ``viatic run`` may run it in a thread.
Each run first takes a lease on the job in ``scheduler_lock``; a second scheduler that finds
the lease held skips that run, so no job ever runs twice at once, even across machines.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import traceback
import uuid
from dataclasses import dataclass
from typing import Any

from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from flask import Flask
from sqlalchemy import MetaData, Table, delete, insert, inspect, select, update
from sqlalchemy.exc import DatabaseError, IntegrityError

from core import modules
from core.db import db, get_database, utcnow
from core.models import Commune, CommuneModule, JobRun, SchedulerLock
from core.types import Job

log = logging.getLogger(__name__)

# The app of this process, set by build_scheduler(): APScheduler stores jobs by reference
# ("core.scheduler:run_job" and the job's name), so the function finds its app here.
_app: Flask | None = None
OWNER = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
JOBS_TABLE = "apscheduler_jobs"
KEEP_RUNS = 50


@dataclass(frozen=True)
class ScheduledJob:
    name: str  # "<plugin>.<job id>"
    plugin: str
    job: Job


def scheduled_jobs(app: Flask) -> dict[str, ScheduledJob]:
    registry = app.extensions["viatic.plugins"]
    return {
        f"{p.name}.{j.id}": ScheduledJob(f"{p.name}.{j.id}", p.name, j)
        for p in registry.plugins.values()
        for j in p.jobs
    }


def acquire(name: str, seconds: int) -> bool:
    """Take the lease on ``name`` for ``seconds`` unless another owner holds it."""
    now = utcnow()
    until = now + dt.timedelta(seconds=seconds)
    try:
        db.execute(insert(SchedulerLock).values(name=name, owner=OWNER, locked_until=until))
        db.commit()
        return True
    except IntegrityError:
        db.rollback()
    taken = db.execute(
        update(SchedulerLock)
        .where(SchedulerLock.name == name, SchedulerLock.locked_until < now)
        .values(owner=OWNER, locked_until=until)
    )
    db.commit()
    return taken.rowcount == 1


def release(name: str) -> None:
    db.execute(
        update(SchedulerLock)
        .where(SchedulerLock.name == name, SchedulerLock.owner == OWNER)
        .values(locked_until=utcnow())
    )
    db.commit()


def run_job(name: str) -> bool:
    """Run the job ``name`` under its lease. Returns False when another process holds it."""
    assert _app is not None, "build_scheduler() sets the app first"
    with _app.app_context():
        return run_job_in_context(name)


def run_job_in_context(name: str) -> bool:
    from flask import current_app

    scheduled = scheduled_jobs(current_app._get_current_object()).get(name)  # type: ignore[attr-defined]
    if scheduled is None:
        log.warning("Scheduled job %s is no longer installed", name)
        return False
    if not acquire(name, scheduled.job.max_runtime_seconds):
        log.info("Job %s is running elsewhere; skipped", name)
        return False
    run = JobRun(name=name, owner=OWNER)
    db.add(run)
    db.commit()
    try:
        if scheduled.job.scope == "commune":
            _run_per_commune(scheduled)
        else:
            scheduled.job.func()
            db.commit()
    except Exception:
        db.rollback()
        run.error = traceback.format_exc(limit=5)[-2000:]
        log.exception("Job %s failed", name)
    finally:
        run.finished_at = utcnow()
        db.add(run)
        db.commit()
        _prune_runs(name)
        release(name)
    return True


def _run_per_commune(scheduled: ScheduledJob) -> None:
    communes = db.scalars(
        select(Commune)
        .join(CommuneModule, CommuneModule.commune_id == Commune.id)
        .where(CommuneModule.plugin == scheduled.plugin, CommuneModule.enabled.is_(True))
    ).all()
    source = f"job {scheduled.name}"
    failing = modules.failing_communes(scheduled.plugin, source)
    for commune in communes:
        try:
            scheduled.job.func(commune)
            if commune.id in failing:  # it works again: the modules page stops saying it fails
                modules.clear_error(commune.id, scheduled.plugin, source)
            db.commit()
        except Exception as exc:
            db.rollback()
            log.exception("Job %s failed for commune %s", scheduled.name, commune.insee)
            # What the commune admin reads on the modules page: the error's own words (a
            # plugin's exception says what went wrong), its type only when it has none.
            said = str(exc) or type(exc).__name__
            modules.record_error(commune.id, scheduled.plugin, f"{scheduled.name} : {said}", source)


def _prune_runs(name: str) -> None:
    old = select(JobRun.id).where(JobRun.name == name).order_by(JobRun.id.desc()).offset(KEEP_RUNS)
    db.execute(delete(JobRun).where(JobRun.id.in_(old.scalar_subquery())))
    db.commit()


def _create_jobs_table(store: SQLAlchemyJobStore, engine: Any) -> None:
    """APScheduler creates its table on start; two schedulers starting together would race
    to it, so create it first and let the loser of the race find it there."""
    try:
        store.jobs_t.create(engine, checkfirst=True)
    except DatabaseError:
        if not inspect(engine).has_table(JOBS_TABLE):
            raise


def _forget_uninstalled(engine: Any, installed: set[str]) -> None:
    """Drop stored jobs of plugins that are no longer installed."""
    if not inspect(engine).has_table(JOBS_TABLE):
        return
    table = Table(JOBS_TABLE, MetaData(), autoload_with=engine)
    with engine.begin() as connection:
        connection.execute(table.delete().where(table.c.id.not_in(installed)))


def build_scheduler(
    app: Flask, background: bool = False
) -> BackgroundScheduler | BlockingScheduler:
    """A scheduler holding every installed plugin's jobs, stored in the app's database."""
    global _app
    _app = app
    with app.app_context():
        engine = get_database().engine
    store = SQLAlchemyJobStore(engine=engine, tablename=JOBS_TABLE)
    _create_jobs_table(store, engine)
    scheduler_class = BackgroundScheduler if background else BlockingScheduler
    scheduler = scheduler_class(
        jobstores={"default": store},
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 300},
        timezone="Europe/Paris",
    )
    jobs = scheduled_jobs(app)
    _forget_uninstalled(engine, set(jobs))
    for name, scheduled in jobs.items():
        scheduler.add_job(
            run_job,
            scheduled.job.trigger,
            args=[name],
            id=name,
            name=name,
            replace_existing=True,
            **scheduled.job.trigger_args,
        )
    return scheduler
