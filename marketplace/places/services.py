"""Looking up council areas."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from marketplace.errors import DomainError
from marketplace.places import postcodes
from marketplace.places.models import Council


def all_councils(session: Session) -> list[Council]:
    """Every council, by name."""
    return list(session.scalars(select(Council).order_by(Council.name)))


def ensure_council(session: Session, code: str, name: str) -> Council:
    """The council with this ONS code, created if it is not there yet."""
    council = session.scalars(select(Council).where(Council.code == code)).first()
    if council is None:
        council = Council(code=code, name=name)
        session.add(council)
        session.flush()  # callers link organisations to it by id
    return council


def place_for_postcode(postcode: str | None) -> postcodes.Place | None:
    """The place for a typed postcode (None if blank); an unknown one is a postcode field error."""
    if not postcode or not postcode.strip():
        return None
    try:
        return postcodes.lookup(postcode)
    except postcodes.UnknownPostcode as error:
        raise DomainError(str(error), field="postcode") from error
