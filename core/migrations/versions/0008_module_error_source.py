"""A module's last error names what recorded it, so that the same work succeeding clears it:
``commune_module.last_error_source``

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("commune_module", schema=None) as batch_op:
        batch_op.add_column(sa.Column("last_error_source", sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("commune_module", schema=None) as batch_op:
        batch_op.drop_column("last_error_source")
