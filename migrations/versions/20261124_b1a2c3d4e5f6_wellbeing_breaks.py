"""wellbeing: breaks (take a break across every commitment)

Revision ID: b1a2c3d4e5f6
Revises: a38c2d379c8a
Create Date: 2026-11-24 14:10:00
"""

from alembic import op
import sqlalchemy as sa


revision = "b1a2c3d4e5f6"
down_revision = "a38c2d379c8a"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "wellbeing_breaks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("length", sa.String(length=10), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("started_by_id", sa.Integer(), nullable=True),
        sa.Column("ended_by_id", sa.Integer(), nullable=True),
        sa.Column("offer_pool_places", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["ended_by_id"],
            ["users.id"],
            name=op.f("fk_wellbeing_breaks_ended_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["started_by_id"],
            ["users.id"],
            name=op.f("fk_wellbeing_breaks_started_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_wellbeing_breaks_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wellbeing_breaks")),
    )
    with op.batch_alter_table("wellbeing_breaks", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_wellbeing_breaks_ended_at"), ["ended_at"])
        batch_op.create_index(batch_op.f("ix_wellbeing_breaks_ended_by_id"), ["ended_by_id"])
        batch_op.create_index(batch_op.f("ix_wellbeing_breaks_ends_at"), ["ends_at"])
        batch_op.create_index(batch_op.f("ix_wellbeing_breaks_started_by_id"), ["started_by_id"])
        batch_op.create_index(batch_op.f("ix_wellbeing_breaks_user_id"), ["user_id"])

    op.create_table(
        "wellbeing_break_paused",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("break_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("ref_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["break_id"],
            ["wellbeing_breaks.id"],
            name=op.f("fk_wellbeing_break_paused_break_id_wellbeing_breaks"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wellbeing_break_paused")),
        sa.UniqueConstraint(
            "break_id", "kind", "ref_id", name=op.f("uq_wellbeing_break_paused_break_id")
        ),
    )
    with op.batch_alter_table("wellbeing_break_paused", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_wellbeing_break_paused_break_id"), ["break_id"])


def downgrade() -> None:
    with op.batch_alter_table("wellbeing_break_paused", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_wellbeing_break_paused_break_id"))

    op.drop_table("wellbeing_break_paused")
    with op.batch_alter_table("wellbeing_breaks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_wellbeing_breaks_user_id"))
        batch_op.drop_index(batch_op.f("ix_wellbeing_breaks_started_by_id"))
        batch_op.drop_index(batch_op.f("ix_wellbeing_breaks_ends_at"))
        batch_op.drop_index(batch_op.f("ix_wellbeing_breaks_ended_by_id"))
        batch_op.drop_index(batch_op.f("ix_wellbeing_breaks_ended_at"))

    op.drop_table("wellbeing_breaks")
