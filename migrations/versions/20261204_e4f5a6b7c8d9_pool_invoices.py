"""pool invoices: numbered invoices for invoiced shares, the money received against them, and
where a member's account holder wants them sent

Revision ID: e4f5a6b7c8d9
Revises: 8c9d0e1f2a3b

Also a ledger kind for money received against an invoice (a bank transfer staff recorded).
Create Date: 2026-12-04 20:30:00
"""

from alembic import op
import sqlalchemy as sa


revision = "e4f5a6b7c8d9"
down_revision = "8c9d0e1f2a3b"
branch_labels = None
depends_on = None


KINDS_BEFORE = "('charge', 'refund', 'subscription_payment', 'payout_owed')"
KINDS = "('charge', 'refund', 'subscription_payment', 'payout_owed', 'invoice_payment')"
SIGN_BEFORE = (
    "(kind IN ('charge', 'subscription_payment') AND amount_pence > 0)"
    " OR (kind IN ('refund', 'payout_owed') AND amount_pence < 0)"
)
SIGN = (
    "(kind IN ('charge', 'subscription_payment', 'invoice_payment') AND amount_pence > 0)"
    " OR (kind IN ('refund', 'payout_owed') AND amount_pence < 0)"
)


def _ledger_checks(kinds: str, sign: str) -> None:
    with op.batch_alter_table("payment_ledger_entries", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_payment_ledger_entries_kind_known"), type_="check")
        batch_op.drop_constraint(op.f("ck_payment_ledger_entries_sign_matches_kind"), type_="check")
        batch_op.create_check_constraint(
            op.f("ck_payment_ledger_entries_kind_known"), f"kind IN {kinds}"
        )
        batch_op.create_check_constraint(op.f("ck_payment_ledger_entries_sign_matches_kind"), sign)


def upgrade() -> None:
    # Money received against an invoice is money in: a ledger kind of its own.
    _ledger_checks(KINDS, SIGN)
    with op.batch_alter_table("pool_members", schema=None) as batch_op:
        batch_op.add_column(sa.Column("invoice_email", sa.String(length=254), nullable=True))
        batch_op.add_column(sa.Column("invoice_reference", sa.String(length=60), nullable=True))
    op.create_table(
        "pool_invoices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=20), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("payment_id", sa.Integer(), nullable=False),
        sa.Column("pool_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("amount_pence", sa.Integer(), nullable=False),
        sa.Column("bill_to", sa.String(length=200), nullable=False),
        sa.Column("bill_to_email", sa.String(length=254), nullable=False),
        sa.Column("bill_to_reference", sa.String(length=60), nullable=True),
        sa.Column("raised_on", sa.Date(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("reminders_sent", sa.Integer(), nullable=False),
        sa.Column("overdue_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("access_token", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("amount_pence > 0", name=op.f("ck_pool_invoices_amount_positive")),
        sa.CheckConstraint("sequence > 0", name=op.f("ck_pool_invoices_sequence_positive")),
        sa.CheckConstraint("due_on >= raised_on", name=op.f("ck_pool_invoices_due_after_raised")),
        sa.CheckConstraint(
            "reminders_sent BETWEEN 0 AND 3", name=op.f("ck_pool_invoices_reminders_known")
        ),
        sa.CheckConstraint(
            "status IN ('open', 'paid', 'cancelled')", name=op.f("ck_pool_invoices_status_known")
        ),
        sa.ForeignKeyConstraint(
            ["payment_id"], ["pool_payments.id"], name=op.f("fk_pool_invoices_payment_id_pool_payments")
        ),
        sa.ForeignKeyConstraint(["pool_id"], ["pools.id"], name=op.f("fk_pool_invoices_pool_id_pools")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_pool_invoices_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pool_invoices")),
        sa.UniqueConstraint("number", name=op.f("uq_pool_invoices_number")),
        sa.UniqueConstraint("payment_id", name=op.f("uq_pool_invoices_payment_id")),
        sa.UniqueConstraint("access_token", name=op.f("uq_pool_invoices_access_token")),
        sa.UniqueConstraint("year", "sequence", name=op.f("uq_pool_invoices_year")),
    )
    with op.batch_alter_table("pool_invoices", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_pool_invoices_pool_id"), ["pool_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_pool_invoices_user_id"), ["user_id"], unique=False)
    op.create_table(
        "pool_invoice_payments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("invoice_id", sa.Integer(), nullable=False),
        sa.Column("amount_pence", sa.Integer(), nullable=False),
        sa.Column("received_on", sa.Date(), nullable=False),
        sa.Column("reference", sa.String(length=60), nullable=False),
        sa.Column("recorded_by_id", sa.Integer(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "amount_pence > 0", name=op.f("ck_pool_invoice_payments_amount_positive")
        ),
        sa.ForeignKeyConstraint(
            ["invoice_id"],
            ["pool_invoices.id"],
            name=op.f("fk_pool_invoice_payments_invoice_id_pool_invoices"),
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"],
            ["users.id"],
            name=op.f("fk_pool_invoice_payments_recorded_by_id_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pool_invoice_payments")),
    )
    with op.batch_alter_table("pool_invoice_payments", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_pool_invoice_payments_invoice_id"), ["invoice_id"], unique=False
        )


def downgrade() -> None:
    op.execute("DELETE FROM payment_ledger_entries WHERE kind = 'invoice_payment'")
    _ledger_checks(KINDS_BEFORE, SIGN_BEFORE)
    op.drop_table("pool_invoice_payments")
    op.drop_table("pool_invoices")
    with op.batch_alter_table("pool_members", schema=None) as batch_op:
        batch_op.drop_column("invoice_reference")
        batch_op.drop_column("invoice_email")
