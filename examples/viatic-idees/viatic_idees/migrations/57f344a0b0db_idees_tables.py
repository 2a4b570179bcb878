"""idees tables: the ideas of each commune and their answers

Revision ID: 57f344a0b0db
Revises:
Create Date: 2026-11-22 17:00:00

The first revision of the plugin's own branch: it starts from nothing (``down_revision =
None``) and needs the core's first revision for the ``commune`` and ``user_account`` tables
it refers to.
"""

from __future__ import annotations

import core.db
import sqlalchemy as sa
from alembic import op

revision = "57f344a0b0db"
down_revision = None
branch_labels = ("idees",)
depends_on = "0001"


def upgrade() -> None:
    op.create_table(
        "idees_idea",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("commune_id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("title", sa.String(length=150), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("answer", sa.Text(), nullable=True),
        sa.Column("answered_by_id", sa.Integer(), nullable=True),
        sa.Column("answered_at", core.db.UTCDateTime(), nullable=True),
        sa.Column("hidden_at", core.db.UTCDateTime(), nullable=True),
        sa.Column("created_at", core.db.UTCDateTime(), nullable=False),
        sa.Column("updated_at", core.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["commune_id"],
            ["commune.id"],
            name=op.f("fk_idees_idea_commune_id_commune"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["author_id"],
            ["user_account.id"],
            name=op.f("fk_idees_idea_author_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["answered_by_id"],
            ["user_account.id"],
            name=op.f("fk_idees_idea_answered_by_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_idees_idea")),
    )
    op.create_index(
        "ix_idees_idea_commune_created", "idees_idea", ["commune_id", "created_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_idees_idea_commune_created", table_name="idees_idea")
    op.drop_table("idees_idea")
