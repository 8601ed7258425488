"""moderation: decisions, sanctions, appeals

Revision ID: d2458fddd806
Revises: 3ba71b633cd3
Create Date: 2026-11-24 10:55:45.970867
"""

from alembic import op
import sqlalchemy as sa


revision = "d2458fddd806"
down_revision = "3ba71b633cd3"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sanctions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("queue_item_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("subject_type", sa.String(length=40), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("moderator_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("overturned_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["moderator_id"],
            ["users.id"],
            name=op.f("fk_sanctions_moderator_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["queue_item_id"],
            ["moderation_items.id"],
            name=op.f("fk_sanctions_queue_item_id_moderation_items"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_sanctions_user_id_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sanctions")),
    )
    with op.batch_alter_table("sanctions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_sanctions_queue_item_id"), ["queue_item_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_sanctions_user_id"), ["user_id"], unique=False)

    op.create_table(
        "appeals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sanction_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=True),
        sa.ForeignKeyConstraint(
            ["sanction_id"],
            ["sanctions.id"],
            name=op.f("fk_appeals_sanction_id_sanctions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_appeals_user_id_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_appeals")),
        sa.UniqueConstraint("sanction_id", name=op.f("uq_appeals_sanction_id")),
    )
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("suspended_until", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("suspended_until")

    op.drop_table("appeals")
    with op.batch_alter_table("sanctions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sanctions_user_id"))
        batch_op.drop_index(batch_op.f("ix_sanctions_queue_item_id"))

    op.drop_table("sanctions")
