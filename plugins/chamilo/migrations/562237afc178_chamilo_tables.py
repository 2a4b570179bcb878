"""chamilo tables: the provider's encrypted keys (the admin's per commune, each learner's)

Revision ID: 562237afc178
Revises:
Create Date: 2026-11-22 20:31:40

The first revision of the plugin's own branch: it starts from nothing and needs the core's
revisions for the ``commune`` and ``user_account`` tables it refers to.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import core.db

revision = "562237afc178"
down_revision = None
branch_labels = ("chamilo",)
depends_on = "0005"


def upgrade() -> None:
    op.create_table(
        "chamilo_credential",
        sa.Column("commune_id", sa.Integer(), nullable=False),
        sa.Column("url", sa.String(length=500), nullable=False),
        sa.Column("username", sa.String(length=100), nullable=False),
        sa.Column("api_key", sa.Text(), nullable=False),
        sa.Column("obtained_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["commune_id"],
            ["commune.id"],
            name=op.f("fk_chamilo_credential_commune_id_commune"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("commune_id", name=op.f("pk_chamilo_credential")),
    )
    op.create_table(
        "chamilo_account",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("url", sa.String(length=500), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("chamilo_id", sa.Integer(), nullable=False),
        sa.Column("loginname", sa.String(length=100), nullable=False),
        sa.Column("api_key", sa.Text(), nullable=False),
        sa.Column("profile_digest", sa.String(length=64), nullable=False),
        sa.Column("created_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
            name=op.f("fk_chamilo_account_user_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chamilo_account")),
        sa.UniqueConstraint("url", "loginname", name=op.f("uq_chamilo_account_url_loginname")),
        sa.UniqueConstraint("url", "user_id", name=op.f("uq_chamilo_account_url_user_id")),
    )


def downgrade() -> None:
    op.drop_table("chamilo_account")
    op.drop_table("chamilo_credential")
