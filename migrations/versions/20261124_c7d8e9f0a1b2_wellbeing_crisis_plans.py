"""wellbeing: crisis plans and time-limited carer grants

Revision ID: c7d8e9f0a1b2
Revises: b1a2c3d4e5f6
Create Date: 2026-11-24 14:10:00
"""

from alembic import op
import sqlalchemy as sa


revision = "c7d8e9f0a1b2"
down_revision = "b1a2c3d4e5f6"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "wellbeing_crisis_plans",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("pause_buddies", sa.Boolean(), nullable=False),
        sa.Column("pause_emails", sa.Boolean(), nullable=False),
        sa.Column("grant_id", sa.Integer(), nullable=True),
        sa.Column("delegate_days", sa.Integer(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["grant_id"],
            ["carer_grants.id"],
            name=op.f("fk_wellbeing_crisis_plans_grant_id_carer_grants"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_wellbeing_crisis_plans_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wellbeing_crisis_plans")),
    )
    with op.batch_alter_table("wellbeing_crisis_plans", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_wellbeing_crisis_plans_grant_id"), ["grant_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_wellbeing_crisis_plans_user_id"), ["user_id"], unique=True
        )

    op.create_table(
        "wellbeing_crisis_plan_contacts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("relation", sa.String(length=10), nullable=False),
        sa.ForeignKeyConstraint(
            ["plan_id"],
            ["wellbeing_crisis_plans.id"],
            name=op.f("fk_wellbeing_crisis_plan_contacts_plan_id_wellbeing_crisis_plans"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_wellbeing_crisis_plan_contacts_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wellbeing_crisis_plan_contacts")),
        sa.UniqueConstraint(
            "plan_id", "user_id", name=op.f("uq_wellbeing_crisis_plan_contacts_plan_id")
        ),
    )
    with op.batch_alter_table("wellbeing_crisis_plan_contacts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_wellbeing_crisis_plan_contacts_plan_id"), ["plan_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_wellbeing_crisis_plan_contacts_user_id"), ["user_id"], unique=False
        )

    with op.batch_alter_table("carer_grants", schema=None) as batch_op:
        batch_op.add_column(sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("carer_grants", schema=None) as batch_op:
        batch_op.drop_column("expires_at")

    with op.batch_alter_table("wellbeing_crisis_plan_contacts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_wellbeing_crisis_plan_contacts_user_id"))
        batch_op.drop_index(batch_op.f("ix_wellbeing_crisis_plan_contacts_plan_id"))

    op.drop_table("wellbeing_crisis_plan_contacts")
    with op.batch_alter_table("wellbeing_crisis_plans", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_wellbeing_crisis_plans_user_id"))
        batch_op.drop_index(batch_op.f("ix_wellbeing_crisis_plans_grant_id"))

    op.drop_table("wellbeing_crisis_plans")
