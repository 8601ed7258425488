"""pools: when a share's card hold was placed (Stripe drops a hold after 7 days, so an old one is renewed)

Revision ID: 1c2d3e4f5a6b
Revises: 5e6f7a8b9c0d
Create Date: 2026-12-03 19:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "1c2d3e4f5a6b"
down_revision = "5e6f7a8b9c0d"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("pool_payments") as batch:
        batch.add_column(sa.Column("held_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("pool_payments") as batch:
        batch.drop_column("held_at")
