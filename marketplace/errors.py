"""Domain errors raised by services and shown by views next to the field concerned."""

from __future__ import annotations


class DomainError(Exception):
    """A rule was broken. `field` names the form field the message belongs beside, if any."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class NotAllowed(DomainError):
    """The person may not do this to this object."""
