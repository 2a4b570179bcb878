"""federated identities: OpenID Connect providers, identities, pending links

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 17:55:22.734250
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import core.db


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('identity_provider',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('slug', sa.String(length=40), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('label', sa.String(length=100), nullable=False),
    sa.Column('discovery_url', sa.String(length=500), nullable=False),
    sa.Column('client_id', sa.String(length=200), nullable=False),
    sa.Column('client_secret', sa.Text(), nullable=False),
    sa.Column('scopes', sa.String(length=500), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('created_at', core.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_identity_provider')),
    sa.UniqueConstraint('slug', name=op.f('uq_identity_provider_slug'))
    )
    op.create_table('federated_identity',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('provider', sa.String(length=40), nullable=False),
    sa.Column('sub', sa.String(length=255), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.Column('created_at', core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_login_at', core.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_federated_identity_user_id_user_account'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_federated_identity')),
    sa.UniqueConstraint('provider', 'sub', name=op.f('uq_federated_identity_provider_sub'))
    )
    with op.batch_alter_table('federated_identity', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_federated_identity_user_id'), ['user_id'], unique=False)

    op.create_table('identity_link_request',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('provider', sa.String(length=40), nullable=False),
    sa.Column('sub', sa.String(length=255), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.Column('browser_token_hash', sa.String(length=64), nullable=False),
    sa.Column('mail_token_hash', sa.String(length=64), nullable=True),
    sa.Column('created_at', core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('used_at', core.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_identity_link_request_user_id_user_account'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_identity_link_request')),
    sa.UniqueConstraint('browser_token_hash', name=op.f('uq_identity_link_request_browser_token_hash')),
    sa.UniqueConstraint('mail_token_hash', name=op.f('uq_identity_link_request_mail_token_hash'))
    )


def downgrade() -> None:
    op.drop_table('identity_link_request')
    with op.batch_alter_table('federated_identity', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_federated_identity_user_id'))

    op.drop_table('federated_identity')
    op.drop_table('identity_provider')
