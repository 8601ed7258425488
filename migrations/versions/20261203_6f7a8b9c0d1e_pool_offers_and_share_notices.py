"""pools: places offered from the waiting list (confirmed before anything is held) and the
notices of a rise in a member's share (charged only 7 days after it was told)

Revision ID: 6f7a8b9c0d1e
Revises: 8b2d4f6a1c3e
Create Date: 2026-11-25 12:00:00
"""

from alembic import op
import sqlalchemy as sa


revision = "6f7a8b9c0d1e"
down_revision = "8b2d4f6a1c3e"
branch_labels = None
depends_on = None

OLD_MEMBER = "('member', 'waiting', 'left', 'removed')"
NEW_MEMBER = "('member', 'waiting', 'left', 'removed', 'offered')"


def _status_check(values: str) -> None:
    with op.batch_alter_table("pool_members", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_pool_members_status_known"), type_="check")
        batch_op.create_check_constraint(
            op.f("ck_pool_members_status_known"), f"status IN {values}"
        )


def upgrade() -> None:
    with op.batch_alter_table("pool_members", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("offer_expires_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("from_month", sa.Integer(), nullable=True))
    _status_check(NEW_MEMBER)
    op.create_table(
        "pool_share_notices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("pool_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("month", sa.Integer(), nullable=False),
        sa.Column("amount_pence", sa.Integer(), nullable=False),
        sa.Column("told_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("amount_pence > 0", name=op.f("ck_pool_share_notices_amount_positive")),
        sa.CheckConstraint("month >= 1", name=op.f("ck_pool_share_notices_month_positive")),
        sa.ForeignKeyConstraint(
            ["pool_id"], ["pools.id"], name=op.f("fk_pool_share_notices_pool_id_pools")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_pool_share_notices_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pool_share_notices")),
        sa.UniqueConstraint(
            "pool_id", "user_id", "month", name=op.f("uq_pool_share_notices_pool_id")
        ),
    )
    with op.batch_alter_table("pool_share_notices", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_pool_share_notices_pool_id"), ["pool_id"])
        batch_op.create_index(batch_op.f("ix_pool_share_notices_user_id"), ["user_id"])


def downgrade() -> None:
    with op.batch_alter_table("pool_share_notices", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pool_share_notices_user_id"))
        batch_op.drop_index(batch_op.f("ix_pool_share_notices_pool_id"))
    op.drop_table("pool_share_notices")
    # An offer not confirmed is withdrawn: the person leaves the list (they can join again).
    op.execute("UPDATE pool_members SET status = 'left' WHERE status = 'offered'")
    _status_check(OLD_MEMBER)
    with op.batch_alter_table("pool_members", schema=None) as batch_op:
        batch_op.drop_column("from_month")
        batch_op.drop_column("offer_expires_at")
