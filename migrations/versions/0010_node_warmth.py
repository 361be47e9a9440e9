"""node warmth

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-27 17:39:44.074502
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('nodes', sa.Column('cached_images', postgresql.JSONB(astext_type=sa.Text()), server_default='[]', nullable=False))
    op.add_column('nodes', sa.Column('warm_functions', postgresql.JSONB(astext_type=sa.Text()), server_default='[]', nullable=False))


def downgrade() -> None:
    op.drop_column('nodes', 'warm_functions')
    op.drop_column('nodes', 'cached_images')
