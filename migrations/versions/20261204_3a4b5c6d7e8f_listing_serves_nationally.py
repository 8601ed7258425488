"""listings: serves_nationally, for online and phone services open to anyone in England

Revision ID: 3a4b5c6d7e8f
Revises: a1b2c3d4e5f7
Create Date: 2026-12-04 20:10:00
"""

from alembic import op
import sqlalchemy as sa


revision = "3a4b5c6d7e8f"
down_revision = "a1b2c3d4e5f7"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("listings", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "serves_nationally", sa.Boolean(), nullable=False, server_default=sa.false()
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("listings", schema=None) as batch_op:
        batch_op.drop_column("serves_nationally")
