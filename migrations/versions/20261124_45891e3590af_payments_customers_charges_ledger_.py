"""payments: customers, charges, ledger, webhook events

Revision ID: 45891e3590af
Revises: 274dbec84780
Create Date: 2026-11-24 09:15:36.997707

Only payment tables. Foreign keys to users have no ON DELETE: financial records outlive an
account (erasure keeps the user row, anonymised).
"""

from alembic import op
import sqlalchemy as sa


revision = '45891e3590af'
down_revision = '274dbec84780'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('payment_webhook_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('stripe_event_id', sa.String(length=255), nullable=False),
    sa.Column('type', sa.String(length=100), nullable=False),
    sa.Column('payload', sa.Text(), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('processed_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payment_webhook_events')),
    sa.UniqueConstraint('stripe_event_id', name=op.f('uq_payment_webhook_events_stripe_event_id'))
    )
    with op.batch_alter_table('payment_webhook_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_payment_webhook_events_type'), ['type'], unique=False)

    op.create_table('payment_charges',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('idempotency_key', sa.String(length=200), nullable=False),
    sa.Column('purpose', sa.String(length=40), nullable=False),
    sa.Column('reference', sa.String(length=200), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('amount_pence', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('stripe_payment_intent_id', sa.String(length=255), nullable=True),
    sa.Column('failure_message', sa.Text(), nullable=True),
    sa.Column('refunded_pence', sa.Integer(), nullable=False),
    sa.Column('stripe_refund_id', sa.String(length=255), nullable=True),
    sa.Column('refund_requested_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status IN ('pending', 'succeeded', 'requires_action', 'failed', 'refunded')", name=op.f('ck_payment_charges_status_known')),
    sa.CheckConstraint('amount_pence > 0', name=op.f('ck_payment_charges_amount_positive')),
    sa.CheckConstraint('attempts >= 0', name=op.f('ck_payment_charges_attempts_positive')),
    sa.CheckConstraint('refunded_pence >= 0 AND refunded_pence <= amount_pence', name=op.f('ck_payment_charges_refund')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_payment_charges_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payment_charges')),
    sa.UniqueConstraint('idempotency_key', name=op.f('uq_payment_charges_idempotency_key'))
    )
    with op.batch_alter_table('payment_charges', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_payment_charges_purpose'), ['purpose'], unique=False)
        batch_op.create_index(batch_op.f('ix_payment_charges_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_payment_charges_stripe_payment_intent_id'), ['stripe_payment_intent_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_payment_charges_user_id'), ['user_id'], unique=False)

    op.create_table('payment_customers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('stripe_customer_id', sa.String(length=255), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_payment_customers_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payment_customers')),
    sa.UniqueConstraint('stripe_customer_id', name=op.f('uq_payment_customers_stripe_customer_id')),
    sa.UniqueConstraint('user_id', name=op.f('uq_payment_customers_user_id'))
    )
    op.create_table('payment_ledger_entries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('amount_pence', sa.Integer(), nullable=False),
    sa.Column('charge_id', sa.Integer(), nullable=True),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('reference', sa.String(length=200), nullable=False),
    sa.Column('stripe_id', sa.String(length=255), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind IN ('charge', 'refund', 'subscription_payment', 'payout_owed')", name=op.f('ck_payment_ledger_entries_kind_known')),
    sa.CheckConstraint("(kind IN ('charge', 'subscription_payment') AND amount_pence > 0) OR (kind IN ('refund', 'payout_owed') AND amount_pence < 0)", name=op.f('ck_payment_ledger_entries_sign_matches_kind')),
    sa.CheckConstraint("kind NOT IN ('charge', 'refund') OR charge_id IS NOT NULL", name=op.f('ck_payment_ledger_entries_charge_has_charge')),
    sa.ForeignKeyConstraint(['charge_id'], ['payment_charges.id'], name=op.f('fk_payment_ledger_entries_charge_id_payment_charges')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_payment_ledger_entries_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payment_ledger_entries')),
    sa.UniqueConstraint('kind', 'stripe_id', name=op.f('uq_payment_ledger_entries_kind'))
    )
    with op.batch_alter_table('payment_ledger_entries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_payment_ledger_entries_charge_id'), ['charge_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_payment_ledger_entries_kind'), ['kind'], unique=False)
        batch_op.create_index(batch_op.f('ix_payment_ledger_entries_user_id'), ['user_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('payment_ledger_entries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_payment_ledger_entries_user_id'))
        batch_op.drop_index(batch_op.f('ix_payment_ledger_entries_kind'))
        batch_op.drop_index(batch_op.f('ix_payment_ledger_entries_charge_id'))

    op.drop_table('payment_ledger_entries')
    op.drop_table('payment_customers')
    with op.batch_alter_table('payment_charges', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_payment_charges_user_id'))
        batch_op.drop_index(batch_op.f('ix_payment_charges_stripe_payment_intent_id'))
        batch_op.drop_index(batch_op.f('ix_payment_charges_status'))
        batch_op.drop_index(batch_op.f('ix_payment_charges_purpose'))

    op.drop_table('payment_charges')
    with op.batch_alter_table('payment_webhook_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_payment_webhook_events_type'))

    op.drop_table('payment_webhook_events')
