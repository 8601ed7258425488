"""receipts: one numbered receipt per successful payment; organisations' postal address

Revision ID: 9d0e1f2a3b4c
Revises: 6f7a8b9c0d1e
Create Date: 2026-11-26 09:00:00
"""

from alembic import op
import sqlalchemy as sa


revision = "9d0e1f2a3b4c"
down_revision = "6f7a8b9c0d1e"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("organisations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("postal_address", sa.String(length=300), nullable=True))
    op.create_table(
        "receipts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=20), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("source_kind", sa.String(length=20), nullable=False),
        sa.Column("charge_id", sa.Integer(), nullable=True),
        sa.Column("ledger_entry_id", sa.Integer(), nullable=True),
        sa.Column("purpose", sa.String(length=40), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("amount_pence", sa.Integer(), nullable=False),
        sa.Column("paid_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("what_for", sa.String(length=300), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("provider_name", sa.String(length=200), nullable=False),
        sa.Column("provider_address", sa.String(length=500), nullable=True),
        sa.Column("paid_by", sa.String(length=120), nullable=False),
        sa.Column("seller_name", sa.String(length=200), nullable=False),
        sa.Column("seller_address", sa.Text(), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("amount_pence > 0", name=op.f("ck_receipts_amount_positive")),
        sa.CheckConstraint("sequence > 0", name=op.f("ck_receipts_sequence_positive")),
        sa.CheckConstraint("period_end >= period_start", name=op.f("ck_receipts_period_in_order")),
        sa.CheckConstraint(
            "(source_kind = 'charge' AND charge_id IS NOT NULL AND ledger_entry_id IS NULL)"
            " OR (source_kind = 'invoice' AND ledger_entry_id IS NOT NULL AND charge_id IS NULL)",
            name=op.f("ck_receipts_one_source"),
        ),
        sa.ForeignKeyConstraint(
            ["charge_id"],
            ["payment_charges.id"],
            name=op.f("fk_receipts_charge_id_payment_charges"),
        ),
        sa.ForeignKeyConstraint(
            ["ledger_entry_id"],
            ["payment_ledger_entries.id"],
            name=op.f("fk_receipts_ledger_entry_id_payment_ledger_entries"),
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_receipts_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_receipts")),
        sa.UniqueConstraint("charge_id", name=op.f("uq_receipts_charge_id")),
        sa.UniqueConstraint("ledger_entry_id", name=op.f("uq_receipts_ledger_entry_id")),
        sa.UniqueConstraint("number", name=op.f("uq_receipts_number")),
        sa.UniqueConstraint("year", "sequence", name=op.f("uq_receipts_year")),
    )
    with op.batch_alter_table("receipts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_receipts_user_id"), ["user_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("receipts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_receipts_user_id"))
    op.drop_table("receipts")
    with op.batch_alter_table("organisations", schema=None) as batch_op:
        batch_op.drop_column("postal_address")
