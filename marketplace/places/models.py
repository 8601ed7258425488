"""Council areas (local authorities), identified by their ONS code."""

from __future__ import annotations

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from marketplace.db import Base


class Council(Base):
    """A local authority that assesses people and pays personal budgets."""

    __tablename__ = "councils"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(9), unique=True)  # ONS code, e.g. E08000035
    name: Mapped[str] = mapped_column(String(120))
