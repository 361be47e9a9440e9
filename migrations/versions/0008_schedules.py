"""schedules

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-27 17:04:56.912619
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('schedules',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('workspace_id', sa.String(length=40), nullable=False),
    sa.Column('app_name', sa.String(length=64), nullable=False),
    sa.Column('function_name', sa.String(length=64), nullable=False),
    sa.Column('cron', sa.String(length=128), nullable=True),
    sa.Column('period_seconds', sa.Integer(), nullable=True),
    sa.Column('timezone', sa.String(length=64), nullable=False),
    sa.Column('input', sa.LargeBinary(), nullable=False),
    sa.Column('paused', sa.Boolean(), nullable=False),
    sa.Column('next_fire_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_fired_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_call_id', sa.String(length=40), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint('(cron IS NULL) <> (period_seconds IS NULL)', name=op.f('ck_schedules_cron_or_period')),
    sa.ForeignKeyConstraint(['workspace_id'], ['workspaces.id'], name=op.f('fk_schedules_workspace_id_workspaces'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_schedules'))
    )
    op.create_index('ix_schedules_next_fire_at_active', 'schedules', ['next_fire_at'], unique=False, postgresql_where='NOT paused')
    op.create_index('ix_schedules_workspace_id_id', 'schedules', ['workspace_id', 'id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_schedules_workspace_id_id', table_name='schedules')
    op.drop_index('ix_schedules_next_fire_at_active', table_name='schedules', postgresql_where='NOT paused')
    op.drop_table('schedules')
