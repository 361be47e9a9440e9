"""call batches

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-27 19:26:17.224780
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('calls', sa.Column('batch_id', sa.String(length=40), nullable=True))
    op.add_column('calls', sa.Column('batch_index', sa.Integer(), nullable=True))
    op.create_index('ix_calls_batch_id', 'calls', ['batch_id'], unique=False, postgresql_where='batch_id IS NOT NULL')


def downgrade() -> None:
    op.drop_index('ix_calls_batch_id', table_name='calls', postgresql_where='batch_id IS NOT NULL')
    op.drop_column('calls', 'batch_index')
    op.drop_column('calls', 'batch_id')
