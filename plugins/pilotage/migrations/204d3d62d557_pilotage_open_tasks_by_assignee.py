"""pilotage: an index of the open tasks by assignee and due date (« Mes tâches »)

Revision ID: 204d3d62d557
Revises: b7d2f0c4e915
Create Date: 2026-11-22 23:58:59

Partial, like ix_pilotage_task_open_due: a person's done tasks are left out of it.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "204d3d62d557"
down_revision = "b7d2f0c4e915"
branch_labels = None
depends_on = None

OPEN = sa.text("status <> 'fait'")


def upgrade() -> None:
    op.create_index(
        "ix_pilotage_task_open_assignee",
        "pilotage_task",
        ["assignee_id", "due_date"],
        unique=False,
        postgresql_where=OPEN,
        sqlite_where=OPEN,
    )


def downgrade() -> None:
    op.drop_index("ix_pilotage_task_open_assignee", table_name="pilotage_task")
