"""Events: guests from outside the commune, by e-mail address

Revision ID: 1da52830cee2
Revises: c37c78a304a4
Create Date: 2026-11-23 00:23:58.035596
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "1da52830cee2"
down_revision = "c37c78a304a4"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("agenda_event", schema=None) as batch_op:
        batch_op.add_column(sa.Column("guests", sa.JSON(), server_default="[]", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("agenda_event", schema=None) as batch_op:
        batch_op.drop_column("guests")
