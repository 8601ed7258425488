"""safeguarding: claims that lapse, escalation, conflicts of interest, council contacts, silence

Revision ID: a1b2c3d4e5f7
Revises: a7c3e5f1b9d2
Create Date: 2026-12-04 20:15:00
"""

from alembic import op
import sqlalchemy as sa


revision = "a1b2c3d4e5f7"
down_revision = "a7c3e5f1b9d2"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("moderation_items") as batch:
        batch.add_column(sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("escalated_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(
            sa.Column("conflict_org_ids", sa.String(length=200), nullable=False, server_default="")
        )
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("silenced_until", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "safeguarding_contacts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("council_code", sa.String(length=9), nullable=False),
        sa.Column("phone", sa.String(length=40), nullable=False),
        sa.Column("email", sa.String(length=255), nullable=False),
        sa.Column("hours", sa.String(length=255), nullable=False),
        sa.Column("out_of_hours", sa.String(length=255), nullable=False, server_default=""),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["updated_by_id"],
            ["users.id"],
            name=op.f("fk_safeguarding_contacts_updated_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_safeguarding_contacts")),
        sa.UniqueConstraint("council_code", name=op.f("uq_safeguarding_contacts_council_code")),
    )


def downgrade() -> None:
    op.drop_table("safeguarding_contacts")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("silenced_until")
    with op.batch_alter_table("moderation_items") as batch:
        batch.drop_column("conflict_org_ids")
        batch.drop_column("escalated_at")
        batch.drop_column("claimed_at")
