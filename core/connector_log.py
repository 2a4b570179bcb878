"""The connector log: every call a connector makes, for the platform admin's error page.

``toolkit.connector_logger(commune)`` gives the ``on_call`` callback of
``connectors.http.HttpClient``. Each record is written in its own short transaction, so a
failure is kept even when the request that met it rolls back.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from flask import current_app
from sqlalchemy import insert

from core.models import Commune, ConnectorCall

log = logging.getLogger(__name__)


def connector_logger(commune: Commune | None = None) -> Callable[[Any], None]:
    """An ``on_call`` callback that stores each ``connectors.http.CallRecord``; it may be
    called from any thread, with or without an app context."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    commune_id = commune.id if commune is not None else None

    def on_call(record: Any) -> None:
        row = dict(
            commune_id=commune_id,
            connector=record.connector[:64],
            method=record.method[:10],
            url=record.url[:2000],
            status=record.status,
            duration_ms=record.duration_ms,
            attempt=record.attempt,
            error=record.error[:2000] if record.error else None,
        )
        engine = app.extensions["viatic.db"].engine
        try:
            with engine.begin() as connection:
                if engine.dialect.name == "sqlite":
                    # The request may hold SQLite's write lock: wait briefly, never for long.
                    connection.exec_driver_sql("PRAGMA busy_timeout = 1000")
                connection.execute(insert(ConnectorCall).values(**row))
        except Exception:
            log.warning("Connector call of %s not logged", record.connector, exc_info=True)

    return on_call
