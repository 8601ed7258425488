"""pools: a vote's result in words, and the reminder of the last moment to open a vote

Revision ID: 7a1c3e5f9b2d
Revises: 4d5e6f7a8b9c
Create Date: 2026-11-25 10:00:00
"""

from alembic import op
import sqlalchemy as sa


revision = "7a1c3e5f9b2d"
down_revision = "4d5e6f7a8b9c"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("pools", schema=None) as batch_op:
        batch_op.add_column(sa.Column("vote_outcome", sa.Text(), nullable=True))
        batch_op.add_column(
            sa.Column("open_by_reminded_at", sa.DateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("pools", schema=None) as batch_op:
        batch_op.drop_column("open_by_reminded_at")
        batch_op.drop_column("vote_outcome")
