"""environment build requests

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-27 23:46:10.986546
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('deployments', sa.Column('environments_planned', sa.Boolean(), server_default='false', nullable=False))
    # Versions deployed before builds were requested at deploy time built theirs on first call.
    op.execute('UPDATE deployments SET environments_planned = true')
    op.create_index('ix_deployments_unplanned', 'deployments', ['id'], unique=False, postgresql_where=sa.text('NOT environments_planned'))
    op.add_column('environment_builds', sa.Column('state', sa.String(length=16), nullable=True))
    op.execute("UPDATE environment_builds SET state = CASE WHEN succeeded THEN 'succeeded' ELSE 'failed' END")
    op.alter_column('environment_builds', 'state', existing_type=sa.String(length=16), nullable=False)
    op.create_check_constraint(
        op.f('ck_environment_builds_state'), 'environment_builds', "state IN ('pending', 'building', 'succeeded', 'failed')"
    )
    op.add_column('environment_builds', sa.Column('requested', sa.Boolean(), server_default='false', nullable=False))
    op.add_column('environment_builds', sa.Column('delivered_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('environment_builds', sa.Column('node_epoch', sa.Integer(), nullable=True))
    op.add_column('environment_builds', sa.Column('deliveries', sa.Integer(), server_default='0', nullable=False))
    op.add_column('environment_builds', sa.Column('started_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('environment_builds', sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True))
    op.alter_column('environment_builds', 'node_id',
               existing_type=sa.VARCHAR(length=40),
               nullable=True)
    op.alter_column('environment_builds', 'seconds', existing_type=sa.Double(), server_default='0')
    op.alter_column('environment_builds', 'log', existing_type=sa.Text(), server_default='')
    op.create_index('ix_environment_builds_function_id', 'environment_builds', ['function_id'], unique=False)
    op.create_index('ix_environment_builds_open', 'environment_builds', ['node_id'], unique=False, postgresql_where=sa.text("state IN ('pending', 'building')"))
    op.drop_column('environment_builds', 'succeeded')


def downgrade() -> None:
    op.add_column('environment_builds', sa.Column('succeeded', sa.BOOLEAN(), autoincrement=False, nullable=True))
    op.execute("DELETE FROM environment_builds WHERE state IN ('pending', 'building') OR node_id IS NULL")
    op.execute("UPDATE environment_builds SET succeeded = state = 'succeeded'")
    op.alter_column('environment_builds', 'succeeded', existing_type=sa.BOOLEAN(), nullable=False)
    op.drop_index('ix_environment_builds_open', table_name='environment_builds', postgresql_where=sa.text("state IN ('pending', 'building')"))
    op.drop_index('ix_environment_builds_function_id', table_name='environment_builds')
    op.alter_column('environment_builds', 'log', existing_type=sa.Text(), server_default=None)
    op.alter_column('environment_builds', 'seconds', existing_type=sa.Double(), server_default=None)
    op.alter_column('environment_builds', 'node_id',
               existing_type=sa.VARCHAR(length=40),
               nullable=False)
    op.drop_column('environment_builds', 'finished_at')
    op.drop_column('environment_builds', 'started_at')
    op.drop_column('environment_builds', 'deliveries')
    op.drop_column('environment_builds', 'node_epoch')
    op.drop_column('environment_builds', 'delivered_at')
    op.drop_column('environment_builds', 'requested')
    op.drop_constraint(op.f('ck_environment_builds_state'), 'environment_builds', type_='check')
    op.drop_column('environment_builds', 'state')
    op.drop_index('ix_deployments_unplanned', table_name='deployments', postgresql_where=sa.text('NOT environments_planned'))
    op.drop_column('deployments', 'environments_planned')
