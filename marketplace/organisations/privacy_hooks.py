"""Organisations in "Your data": the export section and the erasure step for staff records."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from marketplace.auth.models import User
from marketplace.organisations.models import OrganisationStaff
from marketplace.privacy import services as privacy


def _organisations(session: Session, user: User) -> list[dict[str, Any]]:
    rows = session.scalars(select(OrganisationStaff).where(OrganisationStaff.user_id == user.id))
    return [
        {
            "organisation": r.organisation.name,
            "role": r.role,
            "status": r.status,
            "requested_at": r.requested_at.isoformat() if r.requested_at else None,
        }
        for r in rows
    ]


def _erase(session: Session, user: User) -> None:
    session.execute(delete(OrganisationStaff).where(OrganisationStaff.user_id == user.id))


def register() -> None:
    """Add organisations to the export and to erasure (idempotent)."""
    privacy.register_exporter("organisations", _organisations)
    # After the other erasers: theirs may still ask where the person works.
    privacy.register_eraser(_erase, after_others=True)
