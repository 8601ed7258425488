"""account security: the last second-factor time step used

Revision ID: a7c3e5f1b9d2
Revises: 8c9d0e1f2a3b
Create Date: 2026-12-04 20:10:00
"""

from alembic import op
import sqlalchemy as sa


revision = "a7c3e5f1b9d2"
down_revision = "8c9d0e1f2a3b"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("totp_last_step", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("totp_last_step")
