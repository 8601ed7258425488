"""audit: refuse inserts that reuse an id (SQLite INSERT OR REPLACE) and TRUNCATE (PostgreSQL)

The DDL lives in marketplace/audit_guard.py, the one place it is written.

Revision ID: 5e6f7a8b9c0d
Revises: 7a1b2c3d4e5f
Create Date: 2026-11-25 09:00:00
"""

from alembic import op

from marketplace import audit_guard


revision = "5e6f7a8b9c0d"
down_revision = "7a1b2c3d4e5f"
branch_labels = None
depends_on = None


def upgrade() -> None:
    audit_guard.install(op.execute, op.get_bind().dialect.name)


def downgrade() -> None:
    audit_guard.uninstall_additions(op.execute, op.get_bind().dialect.name)
