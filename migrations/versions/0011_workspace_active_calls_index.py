"""workspace active calls index

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-27 18:15:22.802097
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_calls_workspace_id_active', 'calls', ['workspace_id'], unique=False, postgresql_where="status IN ('queued', 'running')")


def downgrade() -> None:
    op.drop_index('ix_calls_workspace_id_active', table_name='calls', postgresql_where="status IN ('queued', 'running')")
