"""Planning feeds: each person's secret subscription address

Revision ID: c37c78a304a4
Revises: 8d6bd538fa3a
Create Date: 2026-11-23 00:14:19.350541
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import core.db

revision = "c37c78a304a4"
down_revision = "8d6bd538fa3a"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "agenda_planning_feed",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
            name=op.f("fk_agenda_planning_feed_user_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_agenda_planning_feed")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_agenda_planning_feed_token_hash")),
    )


def downgrade() -> None:
    op.drop_table("agenda_planning_feed")
