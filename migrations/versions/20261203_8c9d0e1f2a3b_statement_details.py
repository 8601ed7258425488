"""statements: a person's details for their statement

Revision ID: 8c9d0e1f2a3b
Revises: 9d0e1f2a3b4c
Create Date: 2026-11-26 10:00:00
"""

from alembic import op
import sqlalchemy as sa


revision = "8c9d0e1f2a3b"
down_revision = "9d0e1f2a3b4c"
branch_labels = None
depends_on = None


def upgrade() -> None:
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


def downgrade() -> None:
    op.drop_table("statement_details")
