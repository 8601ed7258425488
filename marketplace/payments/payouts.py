"""Payouts paid on to providers, against what the ledger says is owed to them.

`services.record_payout_owed` writes what a provider is owed as a negative ledger entry whose
reference starts "provider:<provider>:". localstripe has no Connect (no Transfer), so no
payout is sent from here: a person pays the provider and `record_payout_paid` writes it down.
Reconciliation holds the two side by side (see reconciliation.py). Nothing here commits.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from marketplace.auth.models import User
from marketplace.errors import DomainError
from marketplace.payments.models import MAX_REFERENCE, LedgerEntry, LedgerKind, Payout

_PREFIX = "provider:"


def provider_of(reference: str) -> str | None:
    """The provider a payout-owed entry's reference names ("provider:7:pool 3" -> "7")."""
    if not reference.startswith(_PREFIX):
        return None
    provider = reference[len(_PREFIX) :].split(":", 1)[0]
    return provider or None


def record_payout_paid(
    session: Session,
    provider: int | str,
    amount_pence: int,
    paid_on: date,
    reference: str,
    recorded_by: User | None = None,
) -> Payout:
    """Write down money paid to a provider (by bank transfer, outside this site)."""
    if amount_pence <= 0:
        raise DomainError("A payout must be more than nothing.")
    if not reference.strip():
        raise DomainError("Enter the payment's reference.")
    payout = Payout(
        provider=str(provider),
        amount_pence=amount_pence,
        paid_on=paid_on,
        reference=reference.strip()[:MAX_REFERENCE],
        recorded_by_id=recorded_by.id if recorded_by is not None else None,
    )
    session.add(payout)
    return payout


def owed_by_provider(session: Session) -> dict[str, int]:
    """Pence owed to each provider in all (positive), from the ledger's payout-owed entries."""
    owed: dict[str, int] = defaultdict(int)
    rows = session.execute(
        select(LedgerEntry.reference, LedgerEntry.amount_pence).where(
            LedgerEntry.kind == LedgerKind.PAYOUT_OWED.value
        )
    )
    for reference, amount in rows:
        provider = provider_of(reference)
        if provider is not None:
            owed[provider] += -amount
    return dict(owed)


def paid_by_provider(session: Session) -> dict[str, int]:
    """Pence paid on to each provider in all."""
    paid: dict[str, int] = defaultdict(int)
    for provider, amount in session.execute(select(Payout.provider, Payout.amount_pence)):
        paid[provider] += amount
    return dict(paid)
