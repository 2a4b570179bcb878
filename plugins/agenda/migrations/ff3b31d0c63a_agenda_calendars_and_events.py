"""agenda tables: each commune's calendars and their events

Revision ID: ff3b31d0c63a
Revises:
Create Date: 2026-11-22 19:25:49

The first revision of the plugin's own branch: it starts from nothing (``down_revision =
None``) and needs the core's first revision for the ``commune`` and ``user_account`` tables
it refers to.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import core.db

revision = "ff3b31d0c63a"
down_revision = None
branch_labels = ("agenda",)
depends_on = "0001"


def upgrade() -> None:
    op.create_table(
        "agenda_calendar",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("commune_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("colour", sa.String(length=20), nullable=False),
        sa.Column("default_visibility", sa.String(length=10), nullable=False),
        sa.Column("feed_token_hash", sa.String(length=64), nullable=True),
        sa.Column("feed_token_created_at", core.db.UTCDateTime(), nullable=True),
        sa.Column("created_at", core.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["commune_id"],
            ["commune.id"],
            name=op.f("fk_agenda_calendar_commune_id_commune"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agenda_calendar")),
        sa.UniqueConstraint("commune_id", "kind", name=op.f("uq_agenda_calendar_commune_id_kind")),
        sa.UniqueConstraint("feed_token_hash", name=op.f("uq_agenda_calendar_feed_token_hash")),
    )
    op.create_table(
        "agenda_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("commune_id", sa.Integer(), nullable=False),
        sa.Column("calendar_id", sa.Integer(), nullable=False),
        sa.Column("uid", sa.String(length=255), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("place", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("category", sa.String(length=20), nullable=False),
        sa.Column("visibility", sa.String(length=10), nullable=False),
        sa.Column("all_day", sa.Boolean(), nullable=False),
        sa.Column("start_at", core.db.UTCDateTime(), nullable=False),
        sa.Column("end_at", core.db.UTCDateTime(), nullable=False),
        sa.Column("timezone", sa.String(length=40), nullable=False),
        sa.Column("rrule", sa.String(length=300), nullable=True),
        sa.Column("recurrence_end_at", core.db.UTCDateTime(), nullable=True),
        sa.Column("exdates", sa.JSON(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("created_at", core.db.UTCDateTime(), nullable=False),
        sa.Column("updated_at", core.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_id"],
            ["user_account.id"],
            name=op.f("fk_agenda_event_author_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["calendar_id"],
            ["agenda_calendar.id"],
            name=op.f("fk_agenda_event_calendar_id_agenda_calendar"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["commune_id"],
            ["commune.id"],
            name=op.f("fk_agenda_event_commune_id_commune"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agenda_event")),
        sa.UniqueConstraint("uid", name=op.f("uq_agenda_event_uid")),
    )
    op.create_index("ix_agenda_event_calendar", "agenda_event", ["calendar_id"], unique=False)
    op.create_index(
        "ix_agenda_event_commune_start", "agenda_event", ["commune_id", "start_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_agenda_event_commune_start", table_name="agenda_event")
    op.drop_index("ix_agenda_event_calendar", table_name="agenda_event")
    op.drop_table("agenda_event")
    op.drop_table("agenda_calendar")
