"""a workspace's live containers, for listing them

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-29 16:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        'ix_containers_workspace_id_live',
        'containers',
        ['workspace_id', 'id'],
        postgresql_where=sa.text("state <> 'exited'"),
    )


def downgrade() -> None:
    op.drop_index('ix_containers_workspace_id_live', table_name='containers')
