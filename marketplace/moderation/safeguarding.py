"""Councils' adult safeguarding contacts, recorded by a ULO or an admin, shown to moderators.

A moderator deciding a concern must know whom to refer to: each council's team, its phone,
email and hours, as someone who moderates that area has recorded them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from marketplace import audit
from marketplace.auth.models import User
from marketplace.db import utcnow
from marketplace.errors import DomainError, NotAllowed
from marketplace.moderation import services as moderation
from marketplace.moderation.models import ModerationItem, SafeguardingContact
from marketplace.places.models import Council

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PHONE = re.compile(r"^[0-9 +()-]{6,40}$")


@dataclass(frozen=True)
class ContactData:
    """What the form sends."""

    phone: str
    email: str
    hours: str
    out_of_hours: str = ""


@dataclass(frozen=True)
class CouncilContact:
    """One council and its recorded contact (None if nobody has recorded one yet)."""

    council: Council
    contact: SafeguardingContact | None


def contact_for(session: Session, council_code: str) -> SafeguardingContact | None:
    """The recorded contact for one council, if any."""
    return session.scalar(
        select(SafeguardingContact).where(SafeguardingContact.council_code == council_code)
    )


def contacts_for_item(session: Session, item: ModerationItem) -> list[CouncilContact]:
    """Each council the item is about, with its adult safeguarding contact."""
    councils = session.scalars(
        select(Council).where(Council.code.in_(item.councils)).order_by(Council.name)
    )
    return [CouncilContact(c, contact_for(session, c.code)) for c in councils]


def councils_for(session: Session, user: User) -> list[CouncilContact]:
    """The councils this person moderates (every council for an admin), with contacts."""
    areas = moderation.moderated_council_codes(session, user)
    query = select(Council).order_by(Council.name)
    if areas is not None:
        query = query.where(Council.code.in_(sorted(areas)))
    return [CouncilContact(c, contact_for(session, c.code)) for c in session.scalars(query)]


def council_for(session: Session, user: User, council_code: str) -> CouncilContact:
    """One council this person moderates, or NotAllowed."""
    areas = moderation.moderated_council_codes(session, user)
    council = session.scalar(select(Council).where(Council.code == council_code))
    if council is None or (areas is not None and council_code not in areas):
        raise NotAllowed("You do not moderate this council's area")
    return CouncilContact(council, contact_for(session, council_code))


def record(
    session: Session, user: User, council_code: str, data: ContactData
) -> SafeguardingContact:
    """Record (or change) a council's adult safeguarding contact. Audited."""
    found = council_for(session, user, council_code)
    phone, email = data.phone.strip(), data.email.strip()
    hours, out_of_hours = data.hours.strip(), data.out_of_hours.strip()
    if not _PHONE.match(phone):
        raise DomainError("Enter a phone number, like 0114 273 4908", field="phone")
    if not _EMAIL.match(email) or len(email) > 255:
        raise DomainError(
            "Enter an email address in the right format, like name@example.org", field="email"
        )
    if not hours:
        raise DomainError("Enter when the team can be reached", field="hours")
    if len(hours) > 255:
        raise DomainError("Keep it to 255 characters", field="hours")
    if len(out_of_hours) > 255:
        raise DomainError("Keep it to 255 characters", field="out_of_hours")
    contact = found.contact or SafeguardingContact(council_code=council_code)
    contact.phone, contact.email = phone, email
    contact.hours, contact.out_of_hours = hours, out_of_hours
    contact.updated_by_id = user.id
    contact.updated_at = utcnow()
    session.add(contact)
    audit.record(
        session,
        user.id,
        "safeguarding_contact.recorded",
        "council",
        found.council.id,
        f"{found.council.name}: {phone}, {email}",
    )
    return contact
