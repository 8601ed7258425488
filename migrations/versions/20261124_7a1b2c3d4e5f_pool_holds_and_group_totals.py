"""pools: hold then capture (held / released charges and payments, accepted invoices), the
quote's group total at each size, one reminder a month

Revision ID: 7a1b2c3d4e5f
Revises: 7a1c3e5f9b2d
Create Date: 2026-11-24 18:00:00
"""

from alembic import op
import sqlalchemy as sa


revision = "7a1b2c3d4e5f"
down_revision = "7a1c3e5f9b2d"
branch_labels = None
depends_on = None

OLD_CHARGE = "('pending', 'succeeded', 'requires_action', 'failed', 'refunded')"
NEW_CHARGE = "('pending', 'succeeded', 'requires_action', 'failed', 'refunded', 'held', 'released')"
OLD_PAYMENT = "('pending', 'paid', 'action_needed', 'failed', 'invoiced', 'refunded', 'cancelled')"
NEW_PAYMENT = (
    "('pending', 'paid', 'action_needed', 'failed', 'invoiced', 'refunded', 'cancelled', "
    "'held', 'released', 'accepted')"
)


def _status_check(table: str, values: str) -> None:
    with op.batch_alter_table(table, schema=None) as batch_op:
        batch_op.drop_constraint(op.f(f"ck_{table}_status_known"), type_="check")
        batch_op.create_check_constraint(op.f(f"ck_{table}_status_known"), f"status IN {values}")


def upgrade() -> None:
    with op.batch_alter_table("payment_charges", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("manual_capture", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(
            sa.Column("capture_requested_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("release_requested_at", sa.DateTime(timezone=True), nullable=True)
        )
    _status_check("payment_charges", NEW_CHARGE)
    _status_check("pool_payments", NEW_PAYMENT)
    with op.batch_alter_table("pools", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("reminded_month", sa.Integer(), nullable=False, server_default="0")
        )
    with op.batch_alter_table("pool_quote_prices", schema=None) as batch_op:
        batch_op.add_column(sa.Column("total_pence", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("pool_quote_prices", schema=None) as batch_op:
        batch_op.drop_column("total_pence")
    with op.batch_alter_table("pools", schema=None) as batch_op:
        batch_op.drop_column("reminded_month")
    op.execute(
        "UPDATE pool_payments SET status = 'cancelled' WHERE status IN ('held', 'released', 'accepted')"
    )
    op.execute("UPDATE payment_charges SET status = 'failed' WHERE status IN ('held', 'released')")
    _status_check("pool_payments", OLD_PAYMENT)
    _status_check("payment_charges", OLD_CHARGE)
    with op.batch_alter_table("payment_charges", schema=None) as batch_op:
        batch_op.drop_column("release_requested_at")
        batch_op.drop_column("capture_requested_at")
        batch_op.drop_column("manual_capture")
