"""Carers in "Your data": the export section and the erasure step for carer grants."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from marketplace.auth.models import User
from marketplace.carers.models import CarerAction, CarerGrant
from marketplace.privacy import services as privacy


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _carer_grants(session: Session, user: User) -> dict[str, Any]:
    def row(g: CarerGrant) -> dict[str, Any]:
        return {
            "holder": g.holder.display_name,
            "carer": g.carer.display_name if g.carer else None,
            "invited_email": g.invited_email if g.holder_id == user.id else None,
            "scopes": sorted(g.scope_set),
            "status": g.status,
            "created_at": _iso(g.created_at),
            "revoked_at": _iso(g.revoked_at),
        }

    given = session.scalars(select(CarerGrant).where(CarerGrant.holder_id == user.id))
    held = session.scalars(select(CarerGrant).where(CarerGrant.carer_id == user.id))
    actions = session.scalars(
        select(CarerAction).where(
            (CarerAction.holder_id == user.id) | (CarerAction.carer_id == user.id)
        )
    )
    return {
        "carers_i_gave_access_to": [row(g) for g in given],
        "people_i_help": [row(g) for g in held],
        "carer_actions": [
            {
                "by": a.carer.display_name if a.carer else None,
                "for_holder_id": a.holder_id,
                "scope": a.scope,
                "what": a.description,
                "when": _iso(a.created_at),
            }
            for a in actions
        ],
    }


def _erase(session: Session, user: User) -> None:
    """Grants the person gave or held, and the record of what carers did for them."""
    session.execute(
        delete(CarerGrant).where(
            (CarerGrant.holder_id == user.id) | (CarerGrant.carer_id == user.id)
        )
    )
    session.execute(delete(CarerAction).where(CarerAction.holder_id == user.id))


def register() -> None:
    """Add carers to the export and to erasure (idempotent)."""
    privacy.register_exporter("carers", _carer_grants)
    # After the other erasers: theirs may still ask who cares for whom.
    privacy.register_eraser(_erase, after_others=True)
