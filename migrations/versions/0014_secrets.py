"""secrets

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-27 22:23:54.076760
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('secrets',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('workspace_id', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('keys', sa.ARRAY(sa.String(length=128)), nullable=False),
    sa.Column('key_id', sa.String(length=32), nullable=False),
    sa.Column('nonce', sa.LargeBinary(length=12), nullable=False),
    sa.Column('ciphertext', sa.LargeBinary(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['workspace_id'], ['workspaces.id'], name=op.f('fk_secrets_workspace_id_workspaces'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_secrets'))
    )
    op.create_index('ix_secrets_workspace_id_id', 'secrets', ['workspace_id', 'id'], unique=False)
    op.create_index('ix_secrets_workspace_id_name', 'secrets', ['workspace_id', 'name'], unique=True)


def downgrade() -> None:
    op.drop_index('ix_secrets_workspace_id_name', table_name='secrets')
    op.drop_index('ix_secrets_workspace_id_id', table_name='secrets')
    op.drop_table('secrets')
