"""memberships: a ULO may pause its fee while a member takes a break

Revision ID: 3cf7dcedb553
Revises: e5f6a7b8c9d0
Create Date: 2026-11-24 16:20:53
"""

from alembic import op
import sqlalchemy as sa


revision = "3cf7dcedb553"
down_revision = "e5f6a7b8c9d0"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("membership_offers", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "pause_fee_on_break", sa.Boolean(), nullable=False, server_default=sa.false()
            )
        )
    with op.batch_alter_table("membership_subscriptions", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("collection_paused_at", sa.DateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("membership_subscriptions", schema=None) as batch_op:
        batch_op.drop_column("collection_paused_at")
    with op.batch_alter_table("membership_offers", schema=None) as batch_op:
        batch_op.drop_column("pause_fee_on_break")
