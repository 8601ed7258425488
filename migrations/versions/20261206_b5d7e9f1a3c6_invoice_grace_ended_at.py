"""pool_invoices: grace_ended_at, so the invoice job acts on an unpaid grace once

Revision ID: b5d7e9f1a3c6
Revises: 3a4b5c6d7e8f
Create Date: 2026-12-06 22:00:00
"""

from alembic import op
import sqlalchemy as sa


revision = "b5d7e9f1a3c6"
down_revision = "3a4b5c6d7e8f"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("pool_invoices", schema=None) as batch_op:
        batch_op.add_column(sa.Column("grace_ended_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("pool_invoices", schema=None) as batch_op:
        batch_op.drop_column("grace_ended_at")
