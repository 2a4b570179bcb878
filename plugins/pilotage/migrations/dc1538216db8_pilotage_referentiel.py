"""pilotage référentiel: domains, themes, each commune's adoptions, members' interests
and skills

Revision ID: dc1538216db8
Revises:
Create Date: 2026-11-22 20:26:23

The first revision of the plugin's own branch; it needs the core's tables (``commune``,
``user_account``).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import core.db

revision = "dc1538216db8"
down_revision = None
branch_labels = ("pilotage",)
depends_on = "0005"


def upgrade() -> None:
    op.create_table(
        "pilotage_domain",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=60), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pilotage_domain")),
        sa.UniqueConstraint("code", name=op.f("uq_pilotage_domain_code")),
    )
    op.create_table(
        "pilotage_theme",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("domain_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=60), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("must", sa.JSON(), nullable=False),
        sa.Column("may", sa.JSON(), nullable=False),
        sa.Column("projects", sa.JSON(), nullable=False),
        sa.Column("indicators", sa.JSON(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("changed_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("source_digest", sa.String(length=64), nullable=False),
        sa.Column("retired_at", core.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["domain_id"],
            ["pilotage_domain.id"],
            name=op.f("fk_pilotage_theme_domain_id_pilotage_domain"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pilotage_theme")),
        sa.UniqueConstraint("code", name=op.f("uq_pilotage_theme_code")),
    )
    op.create_table(
        "pilotage_adoption",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("commune_id", sa.Integer(), nullable=False),
        sa.Column("theme_id", sa.Integer(), nullable=False),
        sa.Column("seen_version", sa.Integer(), nullable=False),
        sa.Column("adopted_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("adopted_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["adopted_by_id"],
            ["user_account.id"],
            name=op.f("fk_pilotage_adoption_adopted_by_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["commune_id"],
            ["commune.id"],
            name=op.f("fk_pilotage_adoption_commune_id_commune"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["theme_id"],
            ["pilotage_theme.id"],
            name=op.f("fk_pilotage_adoption_theme_id_pilotage_theme"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pilotage_adoption")),
        sa.UniqueConstraint(
            "commune_id", "theme_id", name=op.f("uq_pilotage_adoption_commune_id_theme_id")
        ),
    )
    op.create_table(
        "pilotage_interest",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("commune_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("theme_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["commune_id"],
            ["commune.id"],
            name=op.f("fk_pilotage_interest_commune_id_commune"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["theme_id"],
            ["pilotage_theme.id"],
            name=op.f("fk_pilotage_interest_theme_id_pilotage_theme"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
            name=op.f("fk_pilotage_interest_user_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pilotage_interest")),
        sa.UniqueConstraint(
            "commune_id",
            "user_id",
            "theme_id",
            name=op.f("uq_pilotage_interest_commune_id_user_id_theme_id"),
        ),
    )
    op.create_table(
        "pilotage_skills",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("commune_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["commune_id"],
            ["commune.id"],
            name=op.f("fk_pilotage_skills_commune_id_commune"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
            name=op.f("fk_pilotage_skills_user_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pilotage_skills")),
        sa.UniqueConstraint(
            "commune_id", "user_id", name=op.f("uq_pilotage_skills_commune_id_user_id")
        ),
    )


def downgrade() -> None:
    op.drop_table("pilotage_skills")
    op.drop_table("pilotage_interest")
    op.drop_table("pilotage_adoption")
    op.drop_table("pilotage_theme")
    op.drop_table("pilotage_domain")
