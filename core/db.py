"""Database plumbing: the declarative base, the engine of each app and its request session.

Plugins reach the session through ``core.toolkit.db``; tables are created by Alembic
migrations (``viatic db upgrade``), never by ``create_all()`` outside tests.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import time
from typing import Any

from flask import Flask, current_app, g
from sqlalchemy import JSON, DateTime, MetaData, create_engine, event, exc
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator
from werkzeug.local import LocalProxy

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator):
    """A timezone-aware UTC timestamp on every backend (SQLite forgets the zone)."""

    impl = DateTime
    cache_ok = True

    def __init__(self, timezone: bool = True) -> None:
        super().__init__(timezone=True)

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(dt.UTC) if value is not None else None

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value


class Base(DeclarativeBase):
    """Base of every table, core and plugins alike."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {dict[str, Any]: JSON, list[str]: JSON, dt.datetime: UTCDateTime}


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


MAX_ID = 2**31 - 1  # the largest identifier of an INTEGER column (PostgreSQL)
MAX_PAGE = 10**6  # a listing's deepest page: a further one reads as this one (empty)
IDLE_BEFORE_PING = 10  # seconds
_LOCKING_READ = re.compile(r"\bFOR\s+(?:NO\s+KEY\s+)?(?:UPDATE|SHARE|KEY\s+SHARE)\b", re.I)


def make_engine(url: str) -> Engine:
    """An engine with the settings Viatic relies on for each backend."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        return engine
    engine = create_engine(url, pool_size=10, max_overflow=10)
    _checkout_for_reading(engine)
    _begin_on_first_write(engine)
    return engine


def _checkout_for_reading(engine: Engine) -> None:
    """A connection leaves the pool in autocommit mode (see ``_begin_on_first_write``), and
    pinged first if it sat idle: the server or a firewall may have closed it meanwhile, and
    the pool then replaces it instead of failing a request. A busy connection is not pinged
    (``pool_pre_ping`` would cost a round trip on every request)."""

    @event.listens_for(engine, "checkin")
    def _note_checkin(_dbapi_connection: Any, record: Any) -> None:
        record.info["checked_in"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _prepare(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        idle = time.monotonic() - record.info.get("checked_in", time.monotonic())
        try:
            if not dbapi_connection.autocommit:  # the pool's reset left it out of a transaction
                dbapi_connection.autocommit = True
            if idle >= IDLE_BEFORE_PING:
                dbapi_connection.execute("SELECT 1")
        except Exception as error:  # the pool retries with a fresh connection
            raise exc.DisconnectionError(str(error)) from error


def _begin_on_first_write(engine: Engine) -> None:
    """Plain reads run outside a transaction; the first write (or locking read) opens one,
    which lasts until the session commits or rolls back, as usual.

    Most requests only read: this spares them the BEGIN and ROLLBACK round trips, and the
    server a transaction left open while the page renders. Under PostgreSQL's READ COMMITTED
    each statement takes its own snapshot anyway, so only locks need the transaction: hence
    ``SELECT ... FOR UPDATE`` counts as a write. SQLite's driver already behaves so.
    """

    @event.listens_for(engine, "before_cursor_execute")
    def _begin_before_writing(connection: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        dbapi_connection = connection.connection.dbapi_connection
        if dbapi_connection.autocommit and not _is_plain_read(statement):
            dbapi_connection.autocommit = False  # psycopg sends BEGIN before this statement


@functools.lru_cache(maxsize=1024)
def _is_plain_read(statement: str) -> bool:
    """Whether ``statement`` only reads, without locking. Cached: an app sends the same few
    hundred statements (SQLAlchemy's compiled cache), and a string keeps its hash."""
    return statement.lstrip()[:6].upper() == "SELECT" and not _LOCKING_READ.search(statement)


class Database:
    """The engine and session factory of one app, kept in ``app.extensions``."""

    def __init__(self, url: str) -> None:
        self.engine = make_engine(url)
        self.sessionmaker = sessionmaker(self.engine, expire_on_commit=False)


def init_app(app: Flask) -> Database:
    database = Database(app.config["DATABASE_URL"])
    app.extensions["viatic.db"] = database

    @app.teardown_appcontext
    def _close_session(_exc: BaseException | None) -> None:
        session = g.pop("_viatic_session", None)
        if session is not None:
            session.close()

    return database


def get_database() -> Database:
    return current_app.extensions["viatic.db"]


def get_session() -> Session:
    """The session of the current app context, opened on first use."""
    session = g.get("_viatic_session")
    if session is None:
        session = g._viatic_session = get_database().sessionmaker()
    return session


db: Session = LocalProxy(get_session)  # type: ignore[assignment]


def add_once(row: Any) -> bool:
    """Add ``row`` unless a unique constraint says its twin is there already, added by
    another request (or run) at the same instant: then False, and nothing of ``row`` stays
    (a savepoint, so the caller's other work in the transaction is kept); the caller reads
    the twin if it needs it. The check-then-insert every such row starts with leaves that
    race open."""
    try:
        with db.begin_nested():
            db.add(row)
    except exc.IntegrityError:
        return False
    return True
