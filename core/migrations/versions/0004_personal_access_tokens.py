"""personal access tokens

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 18:30:50.772774
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import core.db


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('personal_access_token',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('prefix', sa.String(length=16), nullable=False),
    sa.Column('scopes', sa.String(length=1000), nullable=False),
    sa.Column('created_at', core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_used_at', core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', core.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_personal_access_token_user_id_user_account'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_personal_access_token')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_personal_access_token_token_hash'))
    )
    with op.batch_alter_table('personal_access_token', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_personal_access_token_user_id'), ['user_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('personal_access_token', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_personal_access_token_user_id'))

    op.drop_table('personal_access_token')
