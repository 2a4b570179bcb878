"""caldav tables: connections of local calendars and the remote resources in step

Revision ID: a7c3d9e1f2b4
Revises:
Create Date: 2026-11-22 21:40:00

The first revision of the plugin's own branch; it refers to the agenda's calendars, so it
needs the agenda's first revision.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import core.db

revision = "a7c3d9e1f2b4"
down_revision = None
branch_labels = ("caldav",)
depends_on = "ff3b31d0c63a"


def upgrade() -> None:
    op.create_table(
        "caldav_connection",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("commune_id", sa.Integer(), nullable=False),
        sa.Column("calendar_id", sa.Integer(), nullable=False),
        sa.Column("url", sa.String(length=500), nullable=False),
        sa.Column("username", sa.String(length=200), nullable=False),
        sa.Column("password", sa.Text(), nullable=False),
        sa.Column("sync_token", sa.Text(), nullable=True),
        sa.Column("last_sync_at", core.db.UTCDateTime(), nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("created_at", core.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["calendar_id"],
            ["agenda_calendar.id"],
            name=op.f("fk_caldav_connection_calendar_id_agenda_calendar"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["commune_id"],
            ["commune.id"],
            name=op.f("fk_caldav_connection_commune_id_commune"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_caldav_connection")),
        sa.UniqueConstraint("calendar_id", name=op.f("uq_caldav_connection_calendar_id")),
    )
    op.create_table(
        "caldav_resource",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("connection_id", sa.Integer(), nullable=False),
        sa.Column("uid", sa.String(length=255), nullable=False),
        sa.Column("href", sa.String(length=1000), nullable=False),
        sa.Column("etag", sa.String(length=255), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("local_stamp", core.db.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["connection_id"],
            ["caldav_connection.id"],
            name=op.f("fk_caldav_resource_connection_id_caldav_connection"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_caldav_resource")),
        sa.UniqueConstraint(
            "connection_id", "uid", name=op.f("uq_caldav_resource_connection_id_uid")
        ),
    )
    op.create_index("ix_caldav_resource_href", "caldav_resource", ["connection_id", "href"])


def downgrade() -> None:
    op.drop_index("ix_caldav_resource_href", table_name="caldav_resource")
    op.drop_table("caldav_resource")
    op.drop_table("caldav_connection")
