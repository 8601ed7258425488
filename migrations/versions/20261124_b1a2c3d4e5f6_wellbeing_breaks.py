"""wellbeing: breaks (take a break across every commitment)

Revision ID: b1a2c3d4e5f6
Revises: a38c2d379c8a
Create Date: 2026-11-24 14:10:00
"""

from alembic import op
import sqlalchemy as sa


revision = "b1a2c3d4e5f6"
down_revision = "a38c2d379c8a"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
