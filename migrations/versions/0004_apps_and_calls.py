"""apps deployments functions containers calls

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27 16:24:14.713003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('apps',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('workspace_id', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('current_version', sa.Integer(), nullable=True),
    sa.Column('latest_version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['workspace_id'], ['workspaces.id'], name=op.f('fk_apps_workspace_id_workspaces'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_apps')),
    sa.UniqueConstraint('workspace_id', 'name', name=op.f('uq_apps_workspace_id'))
    )
    op.create_table('deployments',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('workspace_id', sa.String(length=40), nullable=False),
    sa.Column('app_id', sa.String(length=40), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('bundle_digest', sa.String(length=64), nullable=False),
    sa.Column('bundle_size', sa.Integer(), nullable=False),
    sa.Column('manifest', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['app_id'], ['apps.id'], name=op.f('fk_deployments_app_id_apps'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['workspace_id'], ['workspaces.id'], name=op.f('fk_deployments_workspace_id_workspaces'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_deployments')),
    sa.UniqueConstraint('app_id', 'version', name=op.f('uq_deployments_app_id'))
    )
    op.create_table('functions',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('workspace_id', sa.String(length=40), nullable=False),
    sa.Column('app_id', sa.String(length=40), nullable=False),
    sa.Column('deployment_id', sa.String(length=40), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('spec', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('image_key', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['app_id'], ['apps.id'], name=op.f('fk_functions_app_id_apps'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['deployment_id'], ['deployments.id'], name=op.f('fk_functions_deployment_id_deployments'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['workspace_id'], ['workspaces.id'], name=op.f('fk_functions_workspace_id_workspaces'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_functions')),
    sa.UniqueConstraint('deployment_id', 'name', name=op.f('uq_functions_deployment_id'))
    )
    op.create_index('ix_functions_app_id_name', 'functions', ['app_id', 'name'], unique=False)
    op.create_table('calls',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('workspace_id', sa.String(length=40), nullable=False),
    sa.Column('app_id', sa.String(length=40), nullable=False),
    sa.Column('function_id', sa.String(length=40), nullable=False),
    sa.Column('app_name', sa.String(length=64), nullable=False),
    sa.Column('function_name', sa.String(length=64), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempt', sa.Integer(), nullable=False),
    sa.Column('max_attempts', sa.Integer(), nullable=False),
    sa.Column('timeout_seconds', sa.Integer(), nullable=False),
    sa.Column('input', sa.LargeBinary(), nullable=False),
    sa.Column('input_type', sa.String(length=64), nullable=False),
    sa.Column('result', sa.LargeBinary(), nullable=True),
    sa.Column('result_type', sa.String(length=64), nullable=True),
    sa.Column('error', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('lease_token', sa.String(length=40), nullable=True),
    sa.Column('lease_expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('not_before', sa.DateTime(timezone=True), nullable=True),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('node_id', sa.String(length=40), nullable=True),
    sa.Column('container_id', sa.String(length=40), nullable=True),
    sa.Column('cold_start', sa.Boolean(), nullable=True),
    sa.Column('cold_start_ms', sa.Double(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status IN ('queued', 'running', 'succeeded', 'failed', 'timed_out', 'cancelled')", name=op.f('ck_calls_status')),
    sa.ForeignKeyConstraint(['app_id'], ['apps.id'], name=op.f('fk_calls_app_id_apps'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['function_id'], ['functions.id'], name=op.f('fk_calls_function_id_functions'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['workspace_id'], ['workspaces.id'], name=op.f('fk_calls_workspace_id_workspaces'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_calls'))
    )
    op.create_index('ix_calls_function_id_queued', 'calls', ['function_id'], unique=False, postgresql_where="status IN ('queued', 'running')")
    op.create_index('ix_calls_lease_expires_at_running', 'calls', ['lease_expires_at'], unique=False, postgresql_where="status = 'running'")
    op.create_index('ix_calls_workspace_id_id', 'calls', ['workspace_id', 'id'], unique=False)
    op.create_table('containers',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('workspace_id', sa.String(length=40), nullable=False),
    sa.Column('function_id', sa.String(length=40), nullable=False),
    sa.Column('node_id', sa.String(length=40), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('busy', sa.Integer(), nullable=False),
    sa.Column('idle_since', sa.DateTime(timezone=True), nullable=True),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('ready_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('exited_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('exit_reason', sa.Text(), nullable=True),
    sa.Column('cold_start_ms', sa.Double(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("state IN ('pending', 'starting', 'ready', 'stopping', 'exited')", name=op.f('ck_containers_state')),
    sa.ForeignKeyConstraint(['function_id'], ['functions.id'], name=op.f('fk_containers_function_id_functions'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['node_id'], ['nodes.id'], name=op.f('fk_containers_node_id_nodes'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['workspace_id'], ['workspaces.id'], name=op.f('fk_containers_workspace_id_workspaces'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_containers'))
    )
    op.create_index('ix_containers_function_id_live', 'containers', ['function_id'], unique=False, postgresql_where="state <> 'exited'")
    op.create_index('ix_containers_node_id_live', 'containers', ['node_id'], unique=False, postgresql_where="state <> 'exited'")
    op.create_table('call_log_lines',
    sa.Column('seq', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('call_id', sa.String(length=40), nullable=False),
    sa.Column('attempt', sa.Integer(), nullable=False),
    sa.Column('stream', sa.String(length=8), nullable=False),
    sa.Column('line', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['call_id'], ['calls.id'], name=op.f('fk_call_log_lines_call_id_calls'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('seq', name=op.f('pk_call_log_lines'))
    )
    op.create_index(op.f('ix_call_log_lines_call_id'), 'call_log_lines', ['call_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_call_log_lines_call_id'), table_name='call_log_lines')
    op.drop_table('call_log_lines')
    op.drop_index('ix_containers_node_id_live', table_name='containers', postgresql_where="state <> 'exited'")
    op.drop_index('ix_containers_function_id_live', table_name='containers', postgresql_where="state <> 'exited'")
    op.drop_table('containers')
    op.drop_index('ix_calls_workspace_id_id', table_name='calls')
    op.drop_index('ix_calls_lease_expires_at_running', table_name='calls', postgresql_where="status = 'running'")
    op.drop_index('ix_calls_function_id_queued', table_name='calls', postgresql_where="status IN ('queued', 'running')")
    op.drop_table('calls')
    op.drop_index('ix_functions_app_id_name', table_name='functions')
    op.drop_table('functions')
    op.drop_table('deployments')
    op.drop_table('apps')
