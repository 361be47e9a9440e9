"""nodes

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 16:15:39.144440
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('nodes',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('workspace_id', sa.String(length=40), nullable=False),
    sa.Column('token_id', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('hostname', sa.String(length=255), nullable=False),
    sa.Column('agent_version', sa.String(length=32), nullable=False),
    sa.Column('cpus', sa.Float(), nullable=False),
    sa.Column('memory_mib', sa.Integer(), nullable=False),
    sa.Column('gpus', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('labels', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('epoch', sa.Integer(), nullable=False),
    sa.Column('registered_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_heartbeat_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("state IN ('ready', 'draining', 'down')", name=op.f('ck_nodes_state')),
    sa.ForeignKeyConstraint(['token_id'], ['tokens.id'], name=op.f('fk_nodes_token_id_tokens'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['workspace_id'], ['workspaces.id'], name=op.f('fk_nodes_workspace_id_workspaces'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_nodes')),
    sa.UniqueConstraint('workspace_id', 'name', name=op.f('uq_nodes_workspace_id'))
    )
    op.create_index(op.f('ix_nodes_workspace_id'), 'nodes', ['workspace_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_nodes_workspace_id'), table_name='nodes')
    op.drop_table('nodes')
