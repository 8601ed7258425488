"""Reading a Stripe event: the one place a webhook's fields are parsed.

A signed event can still be malformed (a test sender, a bug at either end, a change of API
version): `data.object` a string, `amount_paid: "lots"`, `created: "yesterday"`, an amount too
big for our columns, a missing id, metadata that is not a dict. Every handler reads its fields
through these accessors, which raise `MalformedEvent` with the reason instead of letting a
TypeError or a database error become a 500. The webhook view answers 400 with the reason,
logs it and stores nothing; `check` refuses what every event must have before it is stored.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

# The largest amount our Integer columns hold on PostgreSQL (and so on every database).
MAX_PENCE = 2**31 - 1
MAX_ID = 255  # the length of our Stripe id columns
MAX_TYPE = 100  # the length of WebhookEvent.type
MAX_TEXT = 5000
# Seconds since 1970 up to the end of the year 9999: what a datetime can hold.
MAX_TIMESTAMP = 253_402_300_799


class MalformedEvent(Exception):
    """A verified event whose fields are not what Stripe sends; `reason` says which."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def check(event: dict[str, Any]) -> None:
    """Refuse an event missing what every Stripe event has: an id, a type, a `created`
    timestamp if any, and a `data.object` with an id and dict metadata."""
    event_id(event)
    event_type(event)
    created_at(event)
    obj = data_object(event)
    try:
        required_id(obj)
        metadata(obj)
    except MalformedEvent as error:
        raise MalformedEvent(f"data.object.{error.reason}") from None


def event_id(event: dict[str, Any]) -> str:
    """The event's id (evt_...)."""
    return required_id(event)


def event_type(event: dict[str, Any]) -> str:
    """The event's type, e.g. invoice.payment_succeeded."""
    found = text(event, "type", max_length=MAX_TYPE)
    if found is None:
        raise MalformedEvent("type is missing")
    return found


def created_at(event: dict[str, Any]) -> datetime | None:
    """When Stripe made the event (None if it does not say)."""
    value = event.get("created")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise MalformedEvent("created is not a timestamp")
    if not 0 < value <= MAX_TIMESTAMP:
        raise MalformedEvent("created is out of range")
    return datetime.fromtimestamp(value, UTC)


def data_object(event: dict[str, Any]) -> dict[str, Any]:
    """The Stripe object the event is about (`data.object`)."""
    data = event.get("data")
    if not isinstance(data, dict):
        raise MalformedEvent("data is not an object")
    obj = data.get("object")
    if not isinstance(obj, dict):
        raise MalformedEvent("data.object is not an object")
    return obj


def text(obj: dict[str, Any], field: str, *, max_length: int = MAX_TEXT) -> str | None:
    """A string field (None if absent, null or empty)."""
    value = obj.get(field)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise MalformedEvent(f"{field} is not a string")
    if len(value) > max_length:
        raise MalformedEvent(f"{field} is too long")
    return value


def stripe_id(obj: dict[str, Any], field: str = "id") -> str | None:
    """An id field, sent as the id or as the expanded object (None if absent)."""
    value = obj.get(field)
    if isinstance(value, dict) and field != "id":
        return stripe_id(value, "id")
    return text(obj, field, max_length=MAX_ID)


def required_id(obj: dict[str, Any], field: str = "id") -> str:
    """An id field that must be there, such as the id of the object itself."""
    found = stripe_id(obj, field)
    if found is None:
        raise MalformedEvent(f"{field} is missing")
    return found


def pence(obj: dict[str, Any], field: str) -> int | None:
    """An amount in pence (None if absent or null)."""
    value = obj.get(field)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise MalformedEvent(f"{field} is not a whole number of pence")
    if not 0 <= value <= MAX_PENCE:
        raise MalformedEvent(f"{field} is out of range")
    return value


def mapping(obj: dict[str, Any], field: str) -> dict[str, Any]:
    """A nested object ({} if absent or null)."""
    value = obj.get(field)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise MalformedEvent(f"{field} is not an object")
    return value


def metadata(obj: dict[str, Any]) -> dict[str, str]:
    """The object's metadata: Stripe's keys and values are always strings."""
    found = mapping(obj, "metadata")
    for key, value in found.items():
        if not isinstance(value, str) or len(value) > MAX_TEXT:
            raise MalformedEvent(f"metadata.{key[:40]} is not a string")
    return found


def invoice_subscription(invoice: dict[str, Any]) -> str | None:
    """The subscription an invoice is for: `subscription` (older API versions, localstripe) or
    `parent.subscription_details.subscription` (API 2025-03-31 and later)."""
    found = stripe_id(invoice, "subscription")
    if found is None:
        details = mapping(mapping(invoice, "parent"), "subscription_details")
        found = stripe_id(details, "subscription")
    return found


def describe(event: Any) -> str:
    """The event's id and type for a log line, whatever their shape (never raises)."""
    if not isinstance(event, dict):
        return "an event that is not an object"
    return f"{str(event.get('id'))[:MAX_ID]!r} ({str(event.get('type'))[:MAX_TYPE]!r})"
