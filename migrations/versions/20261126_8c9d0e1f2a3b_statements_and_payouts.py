"""statements: a person's details for their statement; payouts paid to organisations; an
organisation's postal address

Revision ID: 8c9d0e1f2a3b
Revises: 5e6f7a8b9c0d
Create Date: 2026-11-26 10:00:00
"""

from alembic import op
import sqlalchemy as sa


revision = "8c9d0e1f2a3b"
down_revision = "5e6f7a8b9c0d"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("organisations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("postal_address", sa.Text(), nullable=True))
    op.create_table(
        "statement_details",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("name_for_statements", sa.String(length=120), nullable=True),
        sa.Column("council_id", sa.Integer(), nullable=True),
        sa.Column("direct_payment_reference", sa.String(length=60), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["council_id"],
            ["councils.id"],
            name=op.f("fk_statement_details_council_id_councils"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_statement_details_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_statement_details")),
        sa.UniqueConstraint("user_id", name=op.f("uq_statement_details_user_id")),
    )
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
    op.drop_table("statement_details")
    with op.batch_alter_table("organisations", schema=None) as batch_op:
        batch_op.drop_column("postal_address")
