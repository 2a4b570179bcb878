"""E-mails may carry a calendar invitation (iMIP): ``email_message.calendar``

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23 03:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("email_message", schema=None) as batch_op:
        batch_op.add_column(sa.Column("calendar", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("email_message", schema=None) as batch_op:
        batch_op.drop_column("calendar")
