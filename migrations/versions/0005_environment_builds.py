"""environment builds

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27 16:50:04.916867
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('environment_builds',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('workspace_id', sa.String(length=40), nullable=False),
    sa.Column('deployment_id', sa.String(length=40), nullable=False),
    sa.Column('function_id', sa.String(length=40), nullable=False),
    sa.Column('node_id', sa.String(length=40), nullable=False),
    sa.Column('image_key', sa.String(length=64), nullable=False),
    sa.Column('succeeded', sa.Boolean(), nullable=False),
    sa.Column('seconds', sa.Double(), nullable=False),
    sa.Column('log', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['deployment_id'], ['deployments.id'], name=op.f('fk_environment_builds_deployment_id_deployments'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['function_id'], ['functions.id'], name=op.f('fk_environment_builds_function_id_functions'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['node_id'], ['nodes.id'], name=op.f('fk_environment_builds_node_id_nodes'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['workspace_id'], ['workspaces.id'], name=op.f('fk_environment_builds_workspace_id_workspaces'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_environment_builds'))
    )
    op.create_index('ix_environment_builds_deployment_id', 'environment_builds', ['deployment_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_environment_builds_deployment_id', table_name='environment_builds')
    op.drop_table('environment_builds')
