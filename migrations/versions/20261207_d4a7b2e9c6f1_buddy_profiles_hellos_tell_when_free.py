"""buddies: "about me" (moderated), one hello before asking, "tell me when a buddy is free"

Revision ID: d4a7b2e9c6f1
Revises: c8e2f4a6b1d3
Create Date: 2026-12-07 23:00:00
"""

from alembic import op
import sqlalchemy as sa


revision = "d4a7b2e9c6f1"
down_revision = "c8e2f4a6b1d3"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("buddy_profiles") as batch:
        batch.add_column(sa.Column("about_me", sa.Text(), nullable=True))
        batch.add_column(sa.Column("about_me_pending", sa.Text(), nullable=True))
        batch.add_column(sa.Column("about_me_refused", sa.Text(), nullable=True))
    with op.batch_alter_table("buddy_requests") as batch:
        batch.add_column(sa.Column("tell_when_free_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("told_free_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "buddy_hellos",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("seeker_id", sa.Integer(), nullable=False),
        sa.Column("buddy_user_id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reply", sa.Text(), nullable=True),
        sa.Column("replied_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("hidden_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reply_hidden_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["seeker_id"],
            ["users.id"],
            name=op.f("fk_buddy_hellos_seeker_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["buddy_user_id"],
            ["users.id"],
            name=op.f("fk_buddy_hellos_buddy_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["buddy_requests.id"],
            name=op.f("fk_buddy_hellos_request_id_buddy_requests"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_buddy_hellos")),
        sa.UniqueConstraint(
            "seeker_id", "buddy_user_id", name=op.f("uq_buddy_hellos_seeker_id")
        ),
    )
    with op.batch_alter_table("buddy_hellos") as batch:
        batch.create_index(batch.f("ix_buddy_hellos_seeker_id"), ["seeker_id"], unique=False)
        batch.create_index(
            batch.f("ix_buddy_hellos_buddy_user_id"), ["buddy_user_id"], unique=False
        )
        batch.create_index(batch.f("ix_buddy_hellos_request_id"), ["request_id"], unique=False)


def downgrade() -> None:
    op.drop_table("buddy_hellos")
    with op.batch_alter_table("buddy_requests") as batch:
        batch.drop_column("told_free_at")
        batch.drop_column("tell_when_free_at")
    with op.batch_alter_table("buddy_profiles") as batch:
        batch.drop_column("about_me_refused")
        batch.drop_column("about_me_pending")
        batch.drop_column("about_me")
