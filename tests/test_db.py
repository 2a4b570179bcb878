"""The database plumbing: reads outside transactions, writes inside, idle connections pinged."""

from __future__ import annotations

import pytest
from psycopg.pq import TransactionStatus
from sqlalchemy import create_engine, select, text
from sqlalchemy.exc import IntegrityError

from core import db as db_module
from core.db import db
from core.models import Commune, Membership, User

postgresql_only = pytest.mark.parametrize("database_backend", ["postgresql"], indirect=True)


def _transaction_status() -> TransactionStatus:
    return db.connection().connection.dbapi_connection.info.transaction_status


@postgresql_only
def test_plain_reads_open_no_transaction_and_the_first_write_does(app, commune):
    with app.app_context():
        db.scalar(select(Commune).where(Commune.id == commune.id))
        assert _transaction_status() == TransactionStatus.IDLE
        db.add(User(email="ecrit@example.fr", name="Écrit"))
        db.flush()
        assert _transaction_status() == TransactionStatus.INTRANS
        db.scalar(select(User.id))  # reads after a write stay in its transaction
        assert _transaction_status() == TransactionStatus.INTRANS
        db.rollback()
    with app.app_context():
        assert db.scalar(select(User).where(User.email == "ecrit@example.fr")) is None


@postgresql_only
def test_a_locking_read_opens_a_transaction(app, commune):
    with app.app_context():
        db.scalar(select(Commune).where(Commune.id == commune.id).with_for_update())
        assert _transaction_status() == TransactionStatus.INTRANS
        db.rollback()


def test_writes_after_reads_are_still_all_or_nothing(app, commune, make_member):
    maire = make_member(commune, "maire")
    with app.app_context():
        assert db.scalar(select(Membership).where(Membership.user_id == maire.id)) is not None
        db.add(User(email="premier@example.fr", name="Premier"))
        db.flush()
        already_a_member = Membership(user_id=maire.id, commune_id=commune.id, role="agent")
        db.add(already_a_member)
        with pytest.raises(IntegrityError):
            db.flush()
        db.rollback()
    with app.app_context():
        assert db.scalar(select(User).where(User.email == "premier@example.fr")) is None
        roles = db.scalars(select(Membership.role).where(Membership.user_id == maire.id)).all()
        assert roles == ["maire"]


def test_add_once_leaves_a_twin_out_and_keeps_the_rest_of_the_transaction(
    app, commune, other_commune, make_member
):
    maire = make_member(commune, "maire")
    with app.app_context():
        db.add(User(email="premier@example.fr", name="Premier"))
        twin = Membership(user_id=maire.id, commune_id=commune.id, role="agent")
        assert db_module.add_once(twin) is False
        fresh = Membership(user_id=maire.id, commune_id=other_commune.id, role="citoyen")
        assert db_module.add_once(fresh) is True
        db.commit()
    with app.app_context():
        assert db.scalar(select(User.name).where(User.email == "premier@example.fr")) == "Premier"
        roles = db.scalars(
            select(Membership.role).where(Membership.user_id == maire.id).order_by(Membership.id)
        ).all()
        assert roles == ["maire", "citoyen"]


@postgresql_only
def test_a_connection_dropped_while_idle_is_replaced_before_use(app, commune, monkeypatch):
    with app.app_context():
        db.scalar(select(Commune.id))
        backend_pid = db.scalar(text("SELECT pg_backend_pid()"))
    killer = create_engine(app.config["DATABASE_URL"])
    with killer.connect() as connection:
        connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": backend_pid})
    killer.dispose()
    # The pool's connection is now dead; once it has sat idle long enough it is pinged.
    monkeypatch.setattr(db_module, "IDLE_BEFORE_PING", 0)
    client = app.test_client()
    assert client.get("/").status_code == 200
    with app.app_context():
        assert db.scalar(text("SELECT pg_backend_pid()")) != backend_pid
