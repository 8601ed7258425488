"""A person's own data: export everything we hold about them, and erase their account.

Each feature registers an exporter and an eraser here, so a new feature cannot be
forgotten by "Your data" without someone deliberately leaving it out.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from marketplace import audit
from marketplace.auth.models import PasswordResetToken, User, UserRole
from marketplace.auth.passwords import verify_password
from marketplace.carers.models import CarerAction, CarerGrant
from marketplace.db import utcnow
from marketplace.errors import DomainError
from marketplace.organisations.models import OrganisationStaff

Exporter = Callable[[Session, User], Any]
Eraser = Callable[[Session, User], None]

_exporters: dict[str, Exporter] = {}
_erasers: list[Eraser] = []


def register_exporter(name: str, exporter: Exporter) -> None:
    """Add a section to the data export."""
    _exporters[name] = exporter


def register_eraser(eraser: Eraser) -> None:
    """Add a step to account erasure (runs before the account row is anonymised)."""
    _erasers.append(eraser)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _account(_session: Session, user: User) -> dict[str, Any]:
    return {
        "id": user.id,
        "email": user.email,
        "display_name": user.display_name,
        "usage_intent": user.usage_intent,
        "support_needs": user.support_needs,
        "roles": sorted(r.role for r in user.roles),
        "second_factor_enabled": user.has_second_factor,
        "created_at": _iso(user.created_at),
    }


def _organisations(session: Session, user: User) -> list[dict[str, Any]]:
    rows = session.scalars(select(OrganisationStaff).where(OrganisationStaff.user_id == user.id))
    return [
        {
            "organisation": r.organisation.name,
            "role": r.role,
            "status": r.status,
            "requested_at": _iso(r.requested_at),
        }
        for r in rows
    ]


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


register_exporter("account", _account)
register_exporter("organisations", _organisations)
register_exporter("carers", _carer_grants)


def export_user_data(session: Session, user: User) -> dict[str, Any]:
    """Everything held about this person, as JSON-ready data."""
    data: dict[str, Any] = {"exported_at": utcnow().isoformat()}
    for name, exporter in _exporters.items():
        data[name] = exporter(session, user)
    return data


def erase_account(session: Session, user: User, password: str) -> None:
    """Erase a person: personal data removed, the row kept anonymised.

    The row stays so that financial records (kept for the period UK law requires)
    still point at an account, just no longer at a person.
    """
    if not verify_password(user.password_hash, password):
        raise DomainError("Your password is not right", field="password")
    for eraser in _erasers:
        eraser(session, user)
    session.execute(delete(PasswordResetToken).where(PasswordResetToken.user_id == user.id))
    session.execute(
        delete(CarerGrant).where(
            (CarerGrant.holder_id == user.id) | (CarerGrant.carer_id == user.id)
        )
    )
    session.execute(delete(CarerAction).where(CarerAction.holder_id == user.id))
    session.execute(delete(OrganisationStaff).where(OrganisationStaff.user_id == user.id))
    session.execute(delete(UserRole).where(UserRole.user_id == user.id))
    session.expire(user, ["roles"])
    user.email = f"erased-{user.id}@erased.invalid"
    user.display_name = "Former member"
    user.support_needs = None
    user.password_hash = "!"  # noqa: S105 - matches no password: argon2 cannot parse it
    user.totp_secret = None
    user.totp_enabled_at = None
    user.session_version += 1
    user.erased_at = utcnow()
    audit.record(session, None, "account.erased", "user", user.id)
