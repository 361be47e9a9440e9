"""container gpus

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27 16:57:08.501645
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('containers', sa.Column('gpu_model', sa.String(length=40), nullable=True))
    op.add_column('containers', sa.Column('gpu_count', sa.Integer(), server_default='0', nullable=False))


def downgrade() -> None:
    op.drop_column('containers', 'gpu_count')
    op.drop_column('containers', 'gpu_model')
