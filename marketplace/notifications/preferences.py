"""How often a person wants email: each as it happens, or one weekly digest."""

from __future__ import annotations

from sqlalchemy.orm import Session

from marketplace.auth.models import User
from marketplace.errors import DomainError
from marketplace.notifications.models import EmailPreference, Frequency


def frequency_of(session: Session, user_id: int) -> Frequency:
    """The person's choice; "each" until they choose otherwise."""
    row = session.get(EmailPreference, user_id)
    return Frequency(row.frequency) if row is not None else Frequency.EACH


def set_frequency(session: Session, user: User, frequency: str) -> EmailPreference:
    """Choose each email as it happens or a weekly digest."""
    if frequency not in {f.value for f in Frequency}:
        raise DomainError("Choose how often we email you", field="frequency")
    row = session.get(EmailPreference, user.id)
    if row is None:
        row = EmailPreference(user_id=user.id)
        session.add(row)
    row.frequency = frequency
    return row


def fewer_emails(session: Session, user: User) -> EmailPreference:
    """The one-click "fewer emails": a weekly digest instead of separate emails."""
    return set_frequency(session, user, Frequency.WEEKLY_DIGEST.value)
