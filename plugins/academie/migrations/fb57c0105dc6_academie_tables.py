"""academie tables: the Formations' catalogue copy and the enrolments with their progress

Revision ID: fb57c0105dc6
Revises:
Create Date: 2026-11-22 20:31:34

The first revision of the plugin's own branch: it starts from nothing and needs the core's
revisions for the ``commune`` and ``user_account`` tables it refers to.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import core.db

revision = "fb57c0105dc6"
down_revision = None
branch_labels = ("academie",)
depends_on = "0005"


def upgrade() -> None:
    op.create_table(
        "academie_course",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("commune_id", sa.Integer(), nullable=False),
        sa.Column("provider", sa.String(length=40), nullable=False),
        sa.Column("external_id", sa.String(length=100), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("duration_minutes", sa.Integer(), nullable=True),
        sa.Column("level", sa.String(length=40), nullable=False),
        sa.Column("themes", sa.JSON(), nullable=False),
        sa.Column("url", sa.String(length=500), nullable=False),
        sa.Column("removed_at", core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("refreshed_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["commune_id"],
            ["commune.id"],
            name=op.f("fk_academie_course_commune_id_commune"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_academie_course")),
        sa.UniqueConstraint(
            "commune_id",
            "provider",
            "external_id",
            name=op.f("uq_academie_course_commune_id_provider_external_id"),
        ),
    )
    op.create_table(
        "academie_enrolment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("commune_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("course_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("progress", sa.Double(), nullable=True),
        sa.Column("progress_at", core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("error", sa.String(length=300), nullable=True),
        sa.Column("created_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("active_at", core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("completed_at", core.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["commune_id"],
            ["commune.id"],
            name=op.f("fk_academie_enrolment_commune_id_commune"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["course_id"],
            ["academie_course.id"],
            name=op.f("fk_academie_enrolment_course_id_academie_course"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
            name=op.f("fk_academie_enrolment_user_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_academie_enrolment")),
        sa.UniqueConstraint(
            "user_id", "course_id", name=op.f("uq_academie_enrolment_user_id_course_id")
        ),
    )
    op.create_index("ix_academie_enrolment_commune", "academie_enrolment", ["commune_id", "status"])


def downgrade() -> None:
    op.drop_index("ix_academie_enrolment_commune", table_name="academie_enrolment")
    op.drop_table("academie_enrolment")
    op.drop_table("academie_course")
