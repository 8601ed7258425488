"""listings: address, who it is for, how to get in, registrations, last checked; opening times

Revision ID: c8e2f4a6b0d1
Revises: b5d7e9f1a3c6
Create Date: 2026-12-07 23:00:00
"""

from alembic import op
import sqlalchemy as sa


revision = "c8e2f4a6b0d1"
down_revision = "b5d7e9f1a3c6"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("listings", schema=None) as batch_op:
        for name, length in (("address_line_1", 120), ("address_line_2", 120), ("town", 80)):
            batch_op.add_column(
                sa.Column(name, sa.String(length), nullable=False, server_default="")
            )
        batch_op.add_column(sa.Column("minimum_age", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("maximum_age", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("eligibility", sa.Text(), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("access", sa.String(20), nullable=True))
        batch_op.add_column(
            sa.Column("waiting_time", sa.String(200), nullable=False, server_default="")
        )
        batch_op.add_column(sa.Column("cqc_number", sa.String(20), nullable=True))
        batch_op.add_column(sa.Column("charity_number", sa.String(20), nullable=True))
        batch_op.add_column(sa.Column("company_number", sa.String(20), nullable=True))
        batch_op.add_column(sa.Column("dbs_checked", sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column("last_checked_at", sa.Date(), nullable=True))
        batch_op.add_column(
            sa.Column("check_reminded_at", sa.DateTime(timezone=True), nullable=True)
        )
    # A listing was last checked when it was last saved: start the yearly reminders from there.
    day = (
        "date(updated_at)" if op.get_bind().dialect.name == "sqlite" else "CAST(updated_at AS DATE)"
    )
    op.execute(f"UPDATE listings SET last_checked_at = {day}")
    op.create_table(
        "listing_opening_times",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("listing_id", sa.Integer(), nullable=False),
        sa.Column("weekday", sa.Integer(), nullable=False),
        sa.Column("opens", sa.Time(), nullable=False),
        sa.Column("closes", sa.Time(), nullable=False),
        sa.Column("note", sa.String(120), nullable=False),
        sa.ForeignKeyConstraint(["listing_id"], ["listings.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_listing_opening_times_listing_id", "listing_opening_times", ["listing_id"])


def downgrade() -> None:
    op.drop_index("ix_listing_opening_times_listing_id", table_name="listing_opening_times")
    op.drop_table("listing_opening_times")
    with op.batch_alter_table("listings", schema=None) as batch_op:
        for name in (
            "check_reminded_at",
            "last_checked_at",
            "dbs_checked",
            "company_number",
            "charity_number",
            "cqc_number",
            "waiting_time",
            "access",
            "eligibility",
            "maximum_age",
            "minimum_age",
            "town",
            "address_line_1",
            "address_line_2",
        ):
            batch_op.drop_column(name)
