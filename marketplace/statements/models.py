"""What a person adds to their own statement: the name a council knows them by, the council
paying their direct payment and its reference. All optional, private to the person (and the
carers they let see their statement), in their data export, and deleted on erasure."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.db import Base, utcnow
from marketplace.places.models import Council

MAX_NAME = 120
MAX_REFERENCE = 60


class StatementDetails(Base):
    """One person's details for the top of their statement."""

    __tablename__ = "statement_details"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    name_for_statements: Mapped[str | None] = mapped_column(String(MAX_NAME))
    # The council paying the direct payment (a person's pools may be in other areas).
    council_id: Mapped[int | None] = mapped_column(ForeignKey("councils.id", ondelete="SET NULL"))
    direct_payment_reference: Mapped[str | None] = mapped_column(String(MAX_REFERENCE))
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )

    council: Mapped[Council | None] = relationship()
