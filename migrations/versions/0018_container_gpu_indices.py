"""which GPUs of its node a container holds

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-29 16:10:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('containers', sa.Column('gpu_indices', sa.ARRAY(sa.Integer()), nullable=True))


def downgrade() -> None:
    op.drop_column('containers', 'gpu_indices')
