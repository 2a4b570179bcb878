"""Single occurrences changed on their own: RECURRENCE-ID rows beside their series.

Revision ID: d2d2896e78ab
Revises: ff3b31d0c63a
Create Date: 2026-11-22 20:34:30.616106
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "d2d2896e78ab"
down_revision = "ff3b31d0c63a"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("agenda_event", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("recurrence_id", sa.String(length=20), server_default="", nullable=False)
        )
        batch_op.add_column(sa.Column("parent_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("overridden", sa.JSON(), server_default="[]", nullable=False))
        batch_op.drop_constraint(batch_op.f("uq_agenda_event_uid"), type_="unique")
        batch_op.create_index(batch_op.f("ix_agenda_event_parent_id"), ["parent_id"], unique=False)
        batch_op.create_unique_constraint(
            batch_op.f("uq_agenda_event_commune_id_uid_recurrence_id"),
            ["commune_id", "uid", "recurrence_id"],
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_agenda_event_parent_id_agenda_event"),
            "agenda_event",
            ["parent_id"],
            ["id"],
            ondelete="CASCADE",
        )


def downgrade() -> None:
    with op.batch_alter_table("agenda_event", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_agenda_event_parent_id_agenda_event"), type_="foreignkey"
        )
        batch_op.drop_constraint(
            batch_op.f("uq_agenda_event_commune_id_uid_recurrence_id"), type_="unique"
        )
        batch_op.drop_index(batch_op.f("ix_agenda_event_parent_id"))
        batch_op.create_unique_constraint(batch_op.f("uq_agenda_event_uid"), ["uid"])
        batch_op.drop_column("overridden")
        batch_op.drop_column("parent_id")
        batch_op.drop_column("recurrence_id")
