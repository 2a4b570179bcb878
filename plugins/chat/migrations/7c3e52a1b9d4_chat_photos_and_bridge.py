"""chat photos and the Matrix bridge: a message's photo and bridged event, linked rooms,
the bridge's read position

Revision ID: 7c3e52a1b9d4
Revises: dc14b95f5644
Create Date: 2026-11-22 20:55:00

Needs the core's ``stored_file`` table (revision 0006) for the photos.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import core.db

revision = "7c3e52a1b9d4"
down_revision = "dc14b95f5644"
branch_labels = None
depends_on = "0006"


def upgrade() -> None:
    with op.batch_alter_table("chat_message", schema=None) as batch_op:
        batch_op.add_column(sa.Column("photo_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("bridge_event_id", sa.String(length=255), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_chat_message_photo_id_stored_file"),
            "stored_file",
            ["photo_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch_op.create_unique_constraint(
            batch_op.f("uq_chat_message_bridge_event_id"), ["bridge_event_id"]
        )
    op.create_table(
        "chat_bridge_link",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("commune_id", sa.Integer(), nullable=False),
        sa.Column("channel_id", sa.Integer(), nullable=False),
        sa.Column("room_id", sa.String(length=255), nullable=False),
        sa.Column("from_seq", sa.Integer(), nullable=False),
        sa.Column("connected_by_id", sa.Integer(), nullable=True),
        sa.Column("connected_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["channel_id"],
            ["chat_channel.id"],
            name=op.f("fk_chat_bridge_link_channel_id_chat_channel"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["commune_id"],
            ["commune.id"],
            name=op.f("fk_chat_bridge_link_commune_id_commune"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["connected_by_id"],
            ["user_account.id"],
            name=op.f("fk_chat_bridge_link_connected_by_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chat_bridge_link")),
        sa.UniqueConstraint("channel_id", name=op.f("uq_chat_bridge_link_channel_id")),
    )
    op.create_table(
        "chat_bridge_cursor",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("commune_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.String(length=255), nullable=False),
        sa.Column("updated_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["commune_id"],
            ["commune.id"],
            name=op.f("fk_chat_bridge_cursor_commune_id_commune"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chat_bridge_cursor")),
        sa.UniqueConstraint("commune_id", name=op.f("uq_chat_bridge_cursor_commune_id")),
    )


def downgrade() -> None:
    op.drop_table("chat_bridge_cursor")
    op.drop_table("chat_bridge_link")
    with op.batch_alter_table("chat_message", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_chat_message_bridge_event_id"), type_="unique")
        batch_op.drop_constraint(
            batch_op.f("fk_chat_message_photo_id_stored_file"), type_="foreignkey"
        )
        batch_op.drop_column("bridge_event_id")
        batch_op.drop_column("photo_id")
