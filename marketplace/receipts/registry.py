"""What each kind of payment's receipt says, told by the package that owns the payment.

Receipts knows payments (a charge, a paid invoice), not what they were for: pools and memberships
each register a describer here from their init_app, so receipts never imports their internals.
A describer reads its own records and says what the payment bought, for which period, from whom,
and how it was paid; receipts copies that onto the receipt when it is issued.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy.orm import Session

from marketplace.carers.models import CarerScope
from marketplace.payments.models import Charge, LedgerEntry


@dataclass(frozen=True)
class Paid:
    """One successful payment, as receipts found it: what a describer is given."""

    source_kind: str  # a models.SourceKind value
    purpose: str
    user_id: int
    amount_pence: int
    paid_at: datetime
    reference: str
    charge: Charge | None = None
    ledger_entry: LedgerEntry | None = None
    # For a paid invoice: the Stripe invoice object as its webhook delivered it (None if the
    # event is not stored, e.g. recorded by hand), for the period it paid for.
    invoice: dict[str, Any] | None = None


@dataclass(frozen=True)
class Lines:
    """What a receipt says about the payment, besides its amount, date and seller."""

    what_for: str
    period_start: date
    period_end: date  # the last day of the service, inclusive
    provider_name: str
    provider_address: str | None
    paid_by: str


# None: the owner cannot say yet (its own record of the payment is not written); the payment is
# tried again on the next run rather than given a receipt that says less than it should.
Describer = Callable[[Session, Paid], Lines | None]


@dataclass(frozen=True)
class Kind:
    describe: Describer
    # The carer grant that covers this money: a carer with it may see these receipts.
    carer_scope: CarerScope


_kinds: dict[str, Kind] = {}


def register_describer(purpose: str, describe: Describer, carer_scope: CarerScope) -> None:
    """Say what receipts for payments of this purpose say (a package's init_app calls this;
    registering again replaces it, so each app may register)."""
    _kinds[purpose] = Kind(describe, carer_scope)


def kind_of(purpose: str) -> Kind | None:
    """The registered describer for this purpose, if any."""
    return _kinds.get(purpose)


def all_kinds() -> list[Kind]:
    """Every registered kind, in the order registered."""
    return list(_kinds.values())
