"""lms: a lesson's video is a testimony of the Vidéothèque, no longer a free address

Revision ID: 72b94bf6637e
Revises: f2c963fead9b
Create Date: 2026-11-22 23:38:50

A lesson that held the address of a Vidéothèque page keeps that video; any other address
stays readable as a link at the end of the lesson's text, so nothing an author wrote is lost.
"""

from __future__ import annotations

import re

import sqlalchemy as sa
from alembic import op
from markupsafe import escape

revision = "72b94bf6637e"
down_revision = "f2c963fead9b"
branch_labels = None
depends_on = None

LIBRARY_PAGE = re.compile(r"/c/\d[0-9AB]\d{3}/videotheque/video/(\d+)/?(?:[?#].*)?$")
lesson = sa.table(
    "lms_lesson",
    sa.column("id", sa.Integer),
    sa.column("body", sa.Text),
    sa.column("video_url", sa.String),
    sa.column("video_id", sa.Integer),
)


def upgrade() -> None:
    with op.batch_alter_table("lms_lesson", schema=None) as batch_op:
        batch_op.add_column(sa.Column("video_id", sa.Integer(), nullable=True))
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(lesson.c.id, lesson.c.body, lesson.c.video_url).where(lesson.c.video_url != "")
    ).all()
    for lesson_id, body, url in rows:
        found = LIBRARY_PAGE.search(url)
        values = (
            {"video_id": int(found.group(1))}
            if found
            else {"body": f'{body}<p><a href="{escape(url)}">{escape(url)}</a></p>'}
        )
        connection.execute(sa.update(lesson).where(lesson.c.id == lesson_id).values(**values))
    with op.batch_alter_table("lms_lesson", schema=None) as batch_op:
        batch_op.drop_column("video_url")


def downgrade() -> None:
    with op.batch_alter_table("lms_lesson", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("video_url", sa.String(length=500), server_default="", nullable=False)
        )
        batch_op.drop_column("video_id")
