"""pilotage: an index of the open tasks by commune and due date (the overdue tasks' card)

Revision ID: b7d2f0c4e915
Revises: a8bdc702ee64
Create Date: 2026-11-22 22:00:00

A partial index: done tasks, most of a commune's tasks over a mandate, are left out of it.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "b7d2f0c4e915"
down_revision = "a8bdc702ee64"
branch_labels = None
depends_on = None

OPEN = sa.text("status <> 'fait'")


def upgrade() -> None:
    op.create_index(
        "ix_pilotage_task_open_due",
        "pilotage_task",
        ["commune_id", "due_date"],
        unique=False,
        postgresql_where=OPEN,
        sqlite_where=OPEN,
    )


def downgrade() -> None:
    op.drop_index("ix_pilotage_task_open_due", table_name="pilotage_task")
