"""help requests: a private thread between requester and helper, email shared by choice

Revision ID: c8e2a4f6b1d3
Revises: c7e2a9d4b1f8
Create Date: 2026-12-07 23:00:00
"""

from alembic import op
import sqlalchemy as sa


revision = "c8e2a4f6b1d3"
down_revision = "c7e2a9d4b1f8"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("membership_help_requests", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("requester_read_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("helper_read_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column(
                "requester_shares_email", sa.Boolean(), server_default=sa.false(), nullable=False
            )
        )
        batch_op.add_column(
            sa.Column(
                "helper_shares_email", sa.Boolean(), server_default=sa.false(), nullable=False
            )
        )

    op.create_table(
        "membership_help_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("help_request_id", sa.Integer(), nullable=False),
        sa.Column("sender_id", sa.Integer(), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("hidden_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["help_request_id"],
            ["membership_help_requests.id"],
            name=op.f("fk_membership_help_messages_help_request_id_membership_help_requests"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["sender_id"],
            ["users.id"],
            name=op.f("fk_membership_help_messages_sender_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_membership_help_messages")),
    )
    with op.batch_alter_table("membership_help_messages", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_membership_help_messages_help_request_id"),
            ["help_request_id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_membership_help_messages_sender_id"), ["sender_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("membership_help_messages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_membership_help_messages_sender_id"))
        batch_op.drop_index(batch_op.f("ix_membership_help_messages_help_request_id"))
    op.drop_table("membership_help_messages")
    with op.batch_alter_table("membership_help_requests", schema=None) as batch_op:
        batch_op.drop_column("helper_shares_email")
        batch_op.drop_column("requester_shares_email")
        batch_op.drop_column("helper_read_at")
        batch_op.drop_column("requester_read_at")
