"""deployment content digest

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-27 17:34:03.322584
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('deployments', sa.Column('content_digest', sa.String(length=64), server_default='', nullable=False))


def downgrade() -> None:
    op.drop_column('deployments', 'content_digest')
