"""The person's own data: their email choice, emails kept for them, their one-click links."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from marketplace.auth.models import User
from marketplace.notifications.models import ActionLink, DigestItem, EmailPreference
from marketplace.privacy.services import register_eraser, register_exporter


def _export(session: Session, user: User) -> dict[str, Any]:
    preference = session.get(EmailPreference, user.id)
    kept = session.scalars(
        select(DigestItem).where(DigestItem.user_id == user.id).order_by(DigestItem.id)
    )
    made = session.scalars(
        select(ActionLink).where(ActionLink.user_id == user.id).order_by(ActionLink.id)
    )
    return {
        "frequency": preference.frequency if preference else "each",
        "emails_kept_for_later": [
            {
                "subject": item.subject,
                "body": item.body,
                "kind": item.kind,
                "reason": item.reason,
                "created_at": item.created_at.isoformat(),
            }
            for item in kept
        ],
        # Never the tokens themselves (only their hashes are kept, and those would not help).
        "one_click_links": [
            {
                "action": link.action,
                "params": link.params,
                "created_at": link.created_at.isoformat(),
                "expires_at": link.expires_at.isoformat(),
                "used_at": link.used_at.isoformat() if link.used_at else None,
            }
            for link in made
        ],
    }


def _erase(session: Session, user: User) -> None:
    for model in (DigestItem, ActionLink, EmailPreference):
        session.execute(
            delete(model)
            .where(model.user_id == user.id)
            .execution_options(synchronize_session=False)
        )


def register() -> None:
    """Add this package's part of "Your data": what it exports and what erasure removes."""
    register_exporter("emails", _export)
    register_eraser(_erase)
