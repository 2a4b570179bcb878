"""Events' attachments, stored by the core's file support

Revision ID: 8f3806a4c662
Revises: 1da52830cee2
Create Date: 2026-11-23 00:38:44.702870
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import core.db

revision = "8f3806a4c662"
down_revision = "1da52830cee2"
branch_labels = None
depends_on = "0006"  # the core's stored_file table


def upgrade() -> None:
    op.create_table(
        "agenda_attachment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("stored_file_id", sa.Integer(), nullable=False),
        sa.Column("added_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["agenda_event.id"],
            name=op.f("fk_agenda_attachment_event_id_agenda_event"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["stored_file_id"],
            ["stored_file.id"],
            name=op.f("fk_agenda_attachment_stored_file_id_stored_file"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agenda_attachment")),
    )
    with op.batch_alter_table("agenda_attachment", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_agenda_attachment_event_id"), ["event_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("agenda_attachment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_agenda_attachment_event_id"))

    op.drop_table("agenda_attachment")
