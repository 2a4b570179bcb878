"""Personal calendars: a member's own calendar in a commune (``owner_id``)

Revision ID: 2d8ebfcb712f
Revises: 868d48479922
Create Date: 2026-11-23 02:36:59.048562
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "2d8ebfcb712f"
down_revision = "868d48479922"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("agenda_calendar", schema=None) as batch_op:
        batch_op.add_column(sa.Column("owner_id", sa.Integer(), nullable=True))
        batch_op.create_unique_constraint(
            batch_op.f("uq_agenda_calendar_commune_id_owner_id"), ["commune_id", "owner_id"]
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_agenda_calendar_owner_id_user_account"),
            "user_account",
            ["owner_id"],
            ["id"],
            ondelete="CASCADE",
        )


def downgrade() -> None:
    with op.batch_alter_table("agenda_calendar", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_agenda_calendar_owner_id_user_account"), type_="foreignkey"
        )
        batch_op.drop_constraint(
            batch_op.f("uq_agenda_calendar_commune_id_owner_id"), type_="unique"
        )
        batch_op.drop_column("owner_id")
