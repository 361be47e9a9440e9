"""asleep containers

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-29 08:50:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('containers', sa.Column('asleep_since', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    op.drop_column('containers', 'asleep_since')
