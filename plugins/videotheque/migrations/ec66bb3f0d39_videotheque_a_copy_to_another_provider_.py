"""videotheque: a copy to another provider under way

Revision ID: ec66bb3f0d39
Revises: f636c01eb5f2
Create Date: 2026-11-22 21:04:34

The state of ``videotheque deplacer``: a video being copied to another provider.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "ec66bb3f0d39"
down_revision = "f636c01eb5f2"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("videotheque_video", schema=None) as batch_op:
        batch_op.add_column(sa.Column("move_provider", sa.String(length=41), nullable=True))
        batch_op.add_column(sa.Column("move_ref", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("move_resume", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("videotheque_video", schema=None) as batch_op:
        batch_op.drop_column("move_resume")
        batch_op.drop_column("move_ref")
        batch_op.drop_column("move_provider")
