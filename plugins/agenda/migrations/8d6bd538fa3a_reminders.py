"""Reminders: each person's choice, and the reminders already sent.

Revision ID: 8d6bd538fa3a
Revises: e1bfb25b0aae
Create Date: 2026-11-22 21:58:19.816067
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import core.db

revision = "8d6bd538fa3a"
down_revision = "e1bfb25b0aae"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "agenda_reminder_preference",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("minutes_before", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
            name=op.f("fk_agenda_reminder_preference_user_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_agenda_reminder_preference")),
    )
    op.create_table(
        "agenda_reminder_sent",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("occurrence", sa.String(length=20), nullable=False),
        sa.Column("sent_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["agenda_event.id"],
            name=op.f("fk_agenda_reminder_sent_event_id_agenda_event"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
            name=op.f("fk_agenda_reminder_sent_user_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agenda_reminder_sent")),
        sa.UniqueConstraint(
            "user_id",
            "event_id",
            "occurrence",
            name=op.f("uq_agenda_reminder_sent_user_id_event_id_occurrence"),
        ),
    )


def downgrade() -> None:
    op.drop_table("agenda_reminder_sent")
    op.drop_table("agenda_reminder_preference")
