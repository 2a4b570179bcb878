"""videotheque tables: videos, their themes, ratings

Revision ID: f636c01eb5f2
Revises:
Create Date: 2026-11-22 20:35:56

The first revision of the plugin's own branch: it needs the core's first revision for the
``commune`` and ``user_account`` tables it refers to.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import core.db

revision = "f636c01eb5f2"
down_revision = None
branch_labels = ("videotheque",)
depends_on = "0001"


def upgrade() -> None:
    op.create_table(
        "videotheque_video",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("commune_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=150), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("speaker", sa.String(length=150), nullable=False),
        sa.Column("contributor_id", sa.Integer(), nullable=True),
        sa.Column("consent_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("provider", sa.String(length=41), nullable=False),
        sa.Column("provider_ref", sa.String(length=200), nullable=False),
        sa.Column("upload_resume", sa.Text(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("received", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("moderation", sa.String(length=10), nullable=False),
        sa.Column("moderated_at", core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("captions_vtt", sa.Text(), nullable=True),
        sa.Column("captions_language", sa.String(length=8), nullable=False),
        sa.Column("created_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("published_at", core.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["commune_id"],
            ["commune.id"],
            name=op.f("fk_videotheque_video_commune_id_commune"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["contributor_id"],
            ["user_account.id"],
            name=op.f("fk_videotheque_video_contributor_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_videotheque_video")),
    )
    with op.batch_alter_table("videotheque_video", schema=None) as batch_op:
        batch_op.create_index(
            "ix_videotheque_video_commune", ["commune_id", "created_at"], unique=False
        )

    op.create_table(
        "videotheque_rating",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("video_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("stars", sa.Integer(), nullable=False),
        sa.Column("review", sa.String(length=500), nullable=False),
        sa.Column("reported_at", core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("hidden_at", core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
            name=op.f("fk_videotheque_rating_user_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["video_id"],
            ["videotheque_video.id"],
            name=op.f("fk_videotheque_rating_video_id_videotheque_video"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_videotheque_rating")),
        sa.UniqueConstraint(
            "video_id", "user_id", name=op.f("uq_videotheque_rating_video_id_user_id")
        ),
    )
    op.create_table(
        "videotheque_video_theme",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("video_id", sa.Integer(), nullable=False),
        sa.Column("theme", sa.String(length=30), nullable=False),
        sa.ForeignKeyConstraint(
            ["video_id"],
            ["videotheque_video.id"],
            name=op.f("fk_videotheque_video_theme_video_id_videotheque_video"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_videotheque_video_theme")),
        sa.UniqueConstraint(
            "video_id", "theme", name=op.f("uq_videotheque_video_theme_video_id_theme")
        ),
    )
    with op.batch_alter_table("videotheque_video_theme", schema=None) as batch_op:
        batch_op.create_index("ix_videotheque_theme", ["theme"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("videotheque_video_theme", schema=None) as batch_op:
        batch_op.drop_index("ix_videotheque_theme")

    op.drop_table("videotheque_video_theme")
    op.drop_table("videotheque_rating")
    with op.batch_alter_table("videotheque_video", schema=None) as batch_op:
        batch_op.drop_index("ix_videotheque_video_commune")

    op.drop_table("videotheque_video")
