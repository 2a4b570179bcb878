"""Vidéothèque: when the provider was last asked about a playable video (checked_at)

Revision ID: b52034377668
Revises: ec66bb3f0d39
Create Date: 2026-11-23 03:41:21.680146
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import core.db

revision = "b52034377668"
down_revision = "ec66bb3f0d39"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("videotheque_video", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("checked_at", core.db.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("videotheque_video", schema=None) as batch_op:
        batch_op.drop_column("checked_at")
