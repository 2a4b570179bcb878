"""pilotage self-diagnostic: rounds, answers, domain scores, sharing, benchmarks

Revision ID: e595aa51eee5
Revises: 3bcc04fc4b92
Create Date: 2026-11-22 21:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import core.db

revision = "e595aa51eee5"
down_revision = "3bcc04fc4b92"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pilotage_benchmark",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("group_key", sa.String(length=30), nullable=False),
        sa.Column("domain_id", sa.Integer(), nullable=False),
        sa.Column("median", sa.Double(), nullable=False),
        sa.Column("communes", sa.Integer(), nullable=False),
        sa.Column("computed_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["domain_id"],
            ["pilotage_domain.id"],
            name=op.f("fk_pilotage_benchmark_domain_id_pilotage_domain"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pilotage_benchmark")),
        sa.UniqueConstraint(
            "group_key", "domain_id", name=op.f("uq_pilotage_benchmark_group_key_domain_id")
        ),
    )
    op.create_table(
        "pilotage_diagnostic",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("commune_id", sa.Integer(), nullable=False),
        sa.Column("started_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("started_by_id", sa.Integer(), nullable=True),
        sa.Column("closed_at", core.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["commune_id"],
            ["commune.id"],
            name=op.f("fk_pilotage_diagnostic_commune_id_commune"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["started_by_id"],
            ["user_account.id"],
            name=op.f("fk_pilotage_diagnostic_started_by_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pilotage_diagnostic")),
    )
    with op.batch_alter_table("pilotage_diagnostic", schema=None) as batch_op:
        batch_op.create_index(
            "ix_pilotage_diagnostic_commune", ["commune_id", "started_at"], unique=False
        )

    op.create_table(
        "pilotage_sharing",
        sa.Column("commune_id", sa.Integer(), nullable=False),
        sa.Column("opted_in", sa.Boolean(), nullable=False),
        sa.Column("changed_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["commune_id"],
            ["commune.id"],
            name=op.f("fk_pilotage_sharing_commune_id_commune"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("commune_id", name=op.f("pk_pilotage_sharing")),
    )
    op.create_table(
        "pilotage_answer",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("diagnostic_id", sa.Integer(), nullable=False),
        sa.Column("theme_id", sa.Integer(), nullable=False),
        sa.Column("question", sa.String(length=20), nullable=False),
        sa.Column("value", sa.String(length=10), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("evidence_url", sa.String(length=500), nullable=False),
        sa.Column("answered_by_id", sa.Integer(), nullable=True),
        sa.Column("answered_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["answered_by_id"],
            ["user_account.id"],
            name=op.f("fk_pilotage_answer_answered_by_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["diagnostic_id"],
            ["pilotage_diagnostic.id"],
            name=op.f("fk_pilotage_answer_diagnostic_id_pilotage_diagnostic"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["theme_id"],
            ["pilotage_theme.id"],
            name=op.f("fk_pilotage_answer_theme_id_pilotage_theme"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pilotage_answer")),
        sa.UniqueConstraint(
            "diagnostic_id",
            "theme_id",
            "question",
            name=op.f("uq_pilotage_answer_diagnostic_id_theme_id_question"),
        ),
    )
    op.create_table(
        "pilotage_domain_score",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("diagnostic_id", sa.Integer(), nullable=False),
        sa.Column("commune_id", sa.Integer(), nullable=False),
        sa.Column("domain_id", sa.Integer(), nullable=False),
        sa.Column("score", sa.Double(), nullable=False),
        sa.ForeignKeyConstraint(
            ["commune_id"],
            ["commune.id"],
            name=op.f("fk_pilotage_domain_score_commune_id_commune"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["diagnostic_id"],
            ["pilotage_diagnostic.id"],
            name=op.f("fk_pilotage_domain_score_diagnostic_id_pilotage_diagnostic"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["domain_id"],
            ["pilotage_domain.id"],
            name=op.f("fk_pilotage_domain_score_domain_id_pilotage_domain"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pilotage_domain_score")),
        sa.UniqueConstraint(
            "diagnostic_id",
            "domain_id",
            name=op.f("uq_pilotage_domain_score_diagnostic_id_domain_id"),
        ),
    )
    with op.batch_alter_table("pilotage_domain_score", schema=None) as batch_op:
        batch_op.create_index("ix_pilotage_domain_score_commune", ["commune_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("pilotage_domain_score", schema=None) as batch_op:
        batch_op.drop_index("ix_pilotage_domain_score_commune")

    op.drop_table("pilotage_domain_score")
    op.drop_table("pilotage_answer")
    op.drop_table("pilotage_sharing")
    with op.batch_alter_table("pilotage_diagnostic", schema=None) as batch_op:
        batch_op.drop_index("ix_pilotage_diagnostic_commune")

    op.drop_table("pilotage_diagnostic")
    op.drop_table("pilotage_benchmark")
