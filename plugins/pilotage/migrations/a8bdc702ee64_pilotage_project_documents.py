"""pilotage project documents, stored by the core (its stored_file table, revision 0006)

Revision ID: a8bdc702ee64
Revises: e595aa51eee5
Create Date: 2026-11-22 21:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import core.db

revision = "a8bdc702ee64"
down_revision = "e595aa51eee5"
branch_labels = None
depends_on = "0006"


def upgrade() -> None:
    op.create_table(
        "pilotage_document",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("stored_file_id", sa.Integer(), nullable=False),
        sa.Column("added_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["pilotage_project.id"],
            name=op.f("fk_pilotage_document_project_id_pilotage_project"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["stored_file_id"],
            ["stored_file.id"],
            name=op.f("fk_pilotage_document_stored_file_id_stored_file"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pilotage_document")),
    )
    with op.batch_alter_table("pilotage_document", schema=None) as batch_op:
        batch_op.create_index("ix_pilotage_document_project", ["project_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("pilotage_document", schema=None) as batch_op:
        batch_op.drop_index("ix_pilotage_document_project")

    op.drop_table("pilotage_document")
