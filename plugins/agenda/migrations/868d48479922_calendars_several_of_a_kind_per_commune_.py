"""Calendars: several of a kind per commune (one per commission)

Revision ID: 868d48479922
Revises: 8f3806a4c662
Create Date: 2026-11-23 00:53:21.050861
"""

from __future__ import annotations

from alembic import op

revision = "868d48479922"
down_revision = "8f3806a4c662"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("agenda_calendar", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_agenda_calendar_commune_id_kind"), type_="unique")
        batch_op.create_index("ix_agenda_calendar_commune", ["commune_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("agenda_calendar", schema=None) as batch_op:
        batch_op.drop_index("ix_agenda_calendar_commune")
        batch_op.create_unique_constraint(
            batch_op.f("uq_agenda_calendar_commune_id_kind"), ["commune_id", "kind"]
        )
