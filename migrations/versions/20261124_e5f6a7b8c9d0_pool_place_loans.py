"""pools: a place lent to the waiting list while its member is on a break

Revision ID: e5f6a7b8c9d0
Revises: d3e4f5a6b7c8
Create Date: 2026-11-24 14:50:00
"""

from alembic import op
import sqlalchemy as sa


revision = "e5f6a7b8c9d0"
down_revision = "d3e4f5a6b7c8"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pool_place_loans",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("pool_id", sa.Integer(), nullable=False),
        sa.Column("lender_id", sa.Integer(), nullable=False),
        sa.Column("borrower_id", sa.Integer(), nullable=False),
        sa.Column("from_month", sa.Integer(), nullable=False),
        sa.Column("to_month", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "from_month >= 1", name=op.f("ck_pool_place_loans_from_month_positive")
        ),
        sa.ForeignKeyConstraint(
            ["borrower_id"],
            ["pool_members.id"],
            name=op.f("fk_pool_place_loans_borrower_id_pool_members"),
        ),
        sa.ForeignKeyConstraint(
            ["lender_id"], ["pool_members.id"], name=op.f("fk_pool_place_loans_lender_id_pool_members")
        ),
        sa.ForeignKeyConstraint(
            ["pool_id"], ["pools.id"], name=op.f("fk_pool_place_loans_pool_id_pools")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pool_place_loans")),
    )
    with op.batch_alter_table("pool_place_loans", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_pool_place_loans_borrower_id"), ["borrower_id"])
        batch_op.create_index(batch_op.f("ix_pool_place_loans_lender_id"), ["lender_id"])
        batch_op.create_index(batch_op.f("ix_pool_place_loans_pool_id"), ["pool_id"])


def downgrade() -> None:
    with op.batch_alter_table("pool_place_loans", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pool_place_loans_pool_id"))
        batch_op.drop_index(batch_op.f("ix_pool_place_loans_lender_id"))
        batch_op.drop_index(batch_op.f("ix_pool_place_loans_borrower_id"))
    op.drop_table("pool_place_loans")
