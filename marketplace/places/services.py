"""Looking up council areas."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

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
