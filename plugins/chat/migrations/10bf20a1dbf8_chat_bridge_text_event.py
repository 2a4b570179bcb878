"""chat bridge text event: the event id of a photo's text in the bridged room

Revision ID: 10bf20a1dbf8
Revises: b29e82260303
Create Date: 2026-11-23 06:08:54.639776
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "10bf20a1dbf8"
down_revision = "b29e82260303"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("chat_message") as batch_op:
        batch_op.add_column(sa.Column("bridge_text_event_id", sa.String(length=255), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("chat_message") as batch_op:
        batch_op.drop_column("bridge_text_event_id")
