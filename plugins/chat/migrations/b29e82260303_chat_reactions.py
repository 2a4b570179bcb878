"""chat reactions: a member's reactions to messages, one of each kind at most

Revision ID: b29e82260303
Revises: 7c3e52a1b9d4
Create Date: 2026-11-23 00:22:23.006104
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import core.db

revision = "b29e82260303"
down_revision = "7c3e52a1b9d4"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "chat_reaction",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("emoji", sa.String(length=10), nullable=False),
        sa.Column("created_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["chat_message.id"],
            name=op.f("fk_chat_reaction_message_id_chat_message"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
            name=op.f("fk_chat_reaction_user_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chat_reaction")),
        sa.UniqueConstraint(
            "message_id", "user_id", "emoji", name=op.f("uq_chat_reaction_message_id_user_id_emoji")
        ),
    )


def downgrade() -> None:
    op.drop_table("chat_reaction")
