"""Alembic's environment: runs on the connection handed over by core.migrate."""

from __future__ import annotations

from alembic import context
from flask import current_app

import core.files  # the table of uploaded files
import core.models  # noqa: F401 - the core's tables
from core.db import Base
from core.scheduler import JOBS_TABLE

# Plugins' models are imported with the plugins themselves, by create_app().
assert current_app, "run migrations through 'viatic db upgrade'"


def include_object(obj, name, type_, reflected, compare_to):
    # APScheduler creates and owns its job table.
    return not (type_ == "table" and name == JOBS_TABLE)


connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    include_object=include_object,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
