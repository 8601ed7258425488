"""payments: payouts paid on to providers, held against the payouts owed in the ledger

Revision ID: 8b2d4f6a1c3e
Revises: 1c2d3e4f5a6b
Create Date: 2026-12-03 18:30:00
"""

from alembic import op
import sqlalchemy as sa


revision = "8b2d4f6a1c3e"
down_revision = "1c2d3e4f5a6b"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "payment_payouts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("amount_pence", sa.Integer(), nullable=False),
        sa.Column("paid_on", sa.Date(), nullable=False),
        sa.Column("reference", sa.String(length=200), nullable=False),
        sa.Column("recorded_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("amount_pence > 0", name=op.f("ck_payment_payouts_amount_positive")),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_payment_payouts_organisation_id_organisations"),
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"],
            ["users.id"],
            name=op.f("fk_payment_payouts_recorded_by_id_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_payouts")),
        sa.UniqueConstraint(
            "organisation_id", "reference", name=op.f("uq_payment_payouts_organisation_id")
        ),
    )
    with op.batch_alter_table("payment_payouts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_payment_payouts_organisation_id"), ["organisation_id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("payment_payouts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_payment_payouts_organisation_id"))
    op.drop_table("payment_payouts")
