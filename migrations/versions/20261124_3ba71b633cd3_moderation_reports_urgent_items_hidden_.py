"""moderation: reports, urgent items, hidden messages, append-only audit

The audit log is made append-only in the database itself: a trigger refuses UPDATE and
DELETE on audit_entries (PostgreSQL and SQLite).

Revision ID: 3ba71b633cd3
Revises: b3f9b43567c9
Create Date: 2026-11-24 10:20:50.700931
"""

from alembic import op
import sqlalchemy as sa


revision = '3ba71b633cd3'
down_revision = 'b3f9b43567c9'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('reports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('reporter_id', sa.Integer(), nullable=True),
    sa.Column('subject_type', sa.String(length=40), nullable=False),
    sa.Column('subject_id', sa.Integer(), nullable=False),
    sa.Column('reason', sa.String(length=40), nullable=False),
    sa.Column('details', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('auto_hidden_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['reporter_id'], ['users.id'], name=op.f('fk_reports_reporter_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reports'))
    )
    with op.batch_alter_table('reports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reports_reporter_id'), ['reporter_id'], unique=False)
        batch_op.create_index('ix_reports_subject', ['subject_type', 'subject_id'], unique=False)

    with op.batch_alter_table('buddy_messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('hidden_at', sa.DateTime(timezone=True), nullable=True))

    with op.batch_alter_table('moderation_items', schema=None) as batch_op:
        batch_op.add_column(sa.Column('urgent', sa.Boolean(), server_default=sa.false(), nullable=False))

    with op.batch_alter_table('pool_messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('hidden_at', sa.DateTime(timezone=True), nullable=True))

    with op.batch_alter_table('reviews', schema=None) as batch_op:
        batch_op.add_column(sa.Column('hidden_at', sa.DateTime(timezone=True), nullable=True))

    _append_only_audit()


def _append_only_audit() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            """
            CREATE OR REPLACE FUNCTION audit_entries_append_only() RETURNS trigger AS $$
            BEGIN
                RAISE EXCEPTION 'audit entries are append-only';
            END;
            $$ LANGUAGE plpgsql
            """
        )
        op.execute(
            "CREATE TRIGGER audit_entries_append_only BEFORE UPDATE OR DELETE ON audit_entries "
            "FOR EACH ROW EXECUTE FUNCTION audit_entries_append_only()"
        )
    else:
        for event in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER audit_entries_no_{event.lower()} BEFORE {event} ON audit_entries "
                "BEGIN SELECT RAISE(ABORT, 'audit entries are append-only'); END;"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER audit_entries_append_only ON audit_entries")
        op.execute("DROP FUNCTION audit_entries_append_only()")
    else:
        op.execute("DROP TRIGGER audit_entries_no_update")
        op.execute("DROP TRIGGER audit_entries_no_delete")
    with op.batch_alter_table('reviews', schema=None) as batch_op:
        batch_op.drop_column('hidden_at')

    with op.batch_alter_table('pool_messages', schema=None) as batch_op:
        batch_op.drop_column('hidden_at')

    with op.batch_alter_table('moderation_items', schema=None) as batch_op:
        batch_op.drop_column('urgent')

    with op.batch_alter_table('buddy_messages', schema=None) as batch_op:
        batch_op.drop_column('hidden_at')

    with op.batch_alter_table('reports', schema=None) as batch_op:
        batch_op.drop_index('ix_reports_subject')
        batch_op.drop_index(batch_op.f('ix_reports_reporter_id'))

    op.drop_table('reports')
