"""Statements in "Your data": the details a person added for their statement are exported and
erased with the account (the payments they describe are financial records, kept by payments)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete
from sqlalchemy.orm import Session

from marketplace.auth.models import User
from marketplace.privacy import services as privacy
from marketplace.statements.models import StatementDetails
from marketplace.statements.services import details_of


def _export(session: Session, user: User) -> dict[str, Any]:
    details = details_of(session, user)
    return {
        "name_for_statements": details.name_for_statements if details else None,
        "council": details.council.name if details and details.council else None,
        "direct_payment_reference": details.direct_payment_reference if details else None,
    }


def _erase(session: Session, user: User) -> None:
    session.execute(delete(StatementDetails).where(StatementDetails.user_id == user.id))


def register() -> None:
    """Add statement details to the export and to erasure (idempotent)."""
    privacy.register_exporter("statements", _export)
    privacy.register_eraser(_erase)
