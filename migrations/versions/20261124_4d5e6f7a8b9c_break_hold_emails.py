"""wellbeing: a break holds emails unless the person's crisis plan says to keep them coming

Revision ID: 4d5e6f7a8b9c
Revises: 3cf7dcedb553
Create Date: 2026-11-24 16:35:00
"""

from alembic import op
import sqlalchemy as sa


revision = "4d5e6f7a8b9c"
down_revision = "3cf7dcedb553"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("wellbeing_breaks", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("hold_emails", sa.Boolean(), nullable=False, server_default=sa.true())
        )


def downgrade() -> None:
    with op.batch_alter_table("wellbeing_breaks", schema=None) as batch_op:
        batch_op.drop_column("hold_emails")
