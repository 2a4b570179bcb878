"""lms tables: the platform's own courses: lessons with their quiz, and completions

Revision ID: f2c963fead9b
Revises:
Create Date: 2026-11-22 20:31:47

The first revision of the plugin's own branch: it starts from nothing and needs the core's
revisions for the ``commune`` and ``user_account`` tables it refers to.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import core.db

revision = "f2c963fead9b"
down_revision = None
branch_labels = ("lms",)
depends_on = "0005"


def upgrade() -> None:
    op.create_table(
        "lms_course",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("duration_minutes", sa.Integer(), nullable=True),
        sa.Column("level", sa.String(length=40), nullable=False),
        sa.Column("themes", sa.JSON(), nullable=False),
        sa.Column("published", sa.Boolean(), nullable=False),
        sa.Column("created_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lms_course")),
    )
    op.create_table(
        "lms_lesson",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("course_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("video_url", sa.String(length=500), nullable=False),
        sa.Column("quiz", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["course_id"],
            ["lms_course.id"],
            name=op.f("fk_lms_lesson_course_id_lms_course"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lms_lesson")),
        sa.UniqueConstraint("course_id", "position", name=op.f("uq_lms_lesson_course_id_position")),
    )
    op.create_table(
        "lms_completion",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("lesson_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("completed_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["lesson_id"],
            ["lms_lesson.id"],
            name=op.f("fk_lms_completion_lesson_id_lms_lesson"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
            name=op.f("fk_lms_completion_user_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lms_completion")),
        sa.UniqueConstraint(
            "lesson_id", "user_id", name=op.f("uq_lms_completion_lesson_id_user_id")
        ),
    )


def downgrade() -> None:
    op.drop_table("lms_completion")
    op.drop_table("lms_lesson")
    op.drop_table("lms_course")
