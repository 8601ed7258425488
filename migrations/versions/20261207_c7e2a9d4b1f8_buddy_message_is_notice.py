"""buddy_messages: is_notice, so a break's neutral message shows as a site notice

Revision ID: c7e2a9d4b1f8
Revises: c8e2f4a6b0d1
Create Date: 2026-12-07 23:00:00
"""

from alembic import op
import sqlalchemy as sa


revision = "c7e2a9d4b1f8"
down_revision = "c8e2f4a6b0d1"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("buddy_messages", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("is_notice", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    # Break messages written before this column: the site wrote them, in these words.
    op.execute(
        "UPDATE buddy_messages SET is_notice = true "
        "WHERE body LIKE '% is taking a break and will be back in touch.'"
    )


def downgrade() -> None:
    with op.batch_alter_table("buddy_messages", schema=None) as batch_op:
        batch_op.drop_column("is_notice")
