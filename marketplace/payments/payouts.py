"""Payouts: what each organisation is owed, what was paid on to it, and when.

Money for a pool is taken by us (the platform's Stripe account) and written down as owed to the
provider (`services.record_payout_owed`, a negative `payout_owed` ledger entry whose reference
is "provider:<organisation id>:<what for>"). localstripe has no Connect (no Account, no
Transfer), so nothing here sends money anywhere: a person pays the provider by bank transfer and
an admin records it (`record_payout`, the admin page or `flask payments record-payout`), with
the date and the bank's reference. Nothing is ever shown as paid on until that record exists.

Payouts settle what is owed oldest first: an owed item counts as paid on once the payouts
recorded for its organisation cover it and everything owed before it, on the date of the
payout that completed it. Never commits.
"""

from __future__ import annotations

import csv
import io
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from marketplace import audit
from marketplace.auth.models import User
from marketplace.db import as_utc, utcnow
from marketplace.errors import DomainError
from marketplace.money import format_pence
from marketplace.organisations.models import Organisation
from marketplace.payments.models import MAX_REFERENCE, LedgerEntry, LedgerKind, Payout
from marketplace.providers.csv_io import safe_cell

# services.record_payout_owed writes "provider:<organisation id>:<what for>".
_OWED_REFERENCE = re.compile(r"^provider:(\d+):(.*)$", re.DOTALL)
# What pools/funding.py owes for: "pool 12 month 3", or "pool 12 month 3 invoice" for one
# member's invoice paid later.
_POOL_MONTH = re.compile(r"^pool (\d+) month (\d+)( invoice)?$")


@dataclass(frozen=True)
class OwedItem:
    """One amount owed to an organisation, and whether (and when) it was paid on."""

    entry_id: int
    organisation_id: int
    owed_on: date
    amount_pence: int  # positive: what we owe
    what: str  # as recorded, e.g. "pool 12 month 3"
    paid_on: date | None  # the payout that covered it (and all owed before it) in full

    @property
    def pool_month(self) -> tuple[int, int, bool] | None:
        """(pool id, month, one member's invoice) when it is owed for a pool month."""
        found = _POOL_MONTH.match(self.what)
        if found is None:
            return None
        return int(found.group(1)), int(found.group(2)), bool(found.group(3))


def _owed_entries(session: Session, organisation_ids: Iterable[int]) -> list[LedgerEntry]:
    ids = sorted(set(organisation_ids))
    if not ids:
        return []
    prefixes = [LedgerEntry.reference.startswith(f"provider:{i}:") for i in ids]
    return list(
        session.scalars(
            select(LedgerEntry)
            .where(LedgerEntry.kind == LedgerKind.PAYOUT_OWED.value, or_(*prefixes))
            .order_by(LedgerEntry.created_at, LedgerEntry.id)
        )
    )


def payouts_of(session: Session, organisation_id: int) -> list[Payout]:
    """Payouts recorded as paid to this organisation, oldest first."""
    return list(
        session.scalars(
            select(Payout)
            .where(Payout.organisation_id == organisation_id)
            .order_by(Payout.paid_on, Payout.id)
        )
    )


def owed_items(session: Session, organisation_ids: Iterable[int]) -> dict[int, list[OwedItem]]:
    """Everything owed to each of these organisations, oldest first, each with the date it was
    paid on (None while any of it, or anything owed before it, is unpaid)."""
    by_org: dict[int, list[tuple[LedgerEntry, str]]] = defaultdict(list)
    for entry in _owed_entries(session, organisation_ids):
        found = _OWED_REFERENCE.match(entry.reference)
        if found is not None:
            by_org[int(found.group(1))].append((entry, found.group(2)))
    result: dict[int, list[OwedItem]] = {}
    for org_id, entries in by_org.items():
        # (total paid once this payout is counted, its date), oldest first.
        paid_totals: list[tuple[int, date]] = []
        running = 0
        for payout in payouts_of(session, org_id):
            running += payout.amount_pence
            paid_totals.append((running, payout.paid_on))
        covered = 0
        next_payout = 0
        items = []
        for entry, what in entries:
            covered += -entry.amount_pence
            while next_payout < len(paid_totals) and paid_totals[next_payout][0] < covered:
                next_payout += 1
            settled = paid_totals[next_payout][1] if next_payout < len(paid_totals) else None
            items.append(
                OwedItem(
                    entry_id=entry.id,
                    organisation_id=org_id,
                    owed_on=as_utc(entry.created_at).date(),
                    amount_pence=-entry.amount_pence,
                    what=what,
                    paid_on=settled,
                )
            )
        result[org_id] = items
    return result


def balance_owed(session: Session, organisation_id: int) -> int:
    """Pence owed to this organisation and not yet recorded as paid on."""
    owed = sum(
        item.amount_pence
        for item in owed_items(session, [organisation_id]).get(organisation_id, [])
    )
    paid = sum(p.amount_pence for p in payouts_of(session, organisation_id))
    return owed - paid


@dataclass(frozen=True)
class LedgerLine:
    """One line of an organisation's payout ledger: an amount owed, or a payout paid."""

    on: date
    owed_pence: int  # 0 on a payout line
    paid_pence: int  # 0 on an owed line
    what: str  # what an owed amount is for ("pool 12 month 3"); "" on a payout
    reference: str  # the payout's bank reference; "" on an owed line
    balance_pence: int  # still owed after this line
    item: OwedItem | None  # the owed item, for an owed line

    @property
    def is_payout(self) -> bool:
        return self.paid_pence > 0


@dataclass(frozen=True)
class PayoutLedger:
    """Everything owed to and paid to one organisation, in date order."""

    organisation: Organisation
    lines: list[LedgerLine]
    owed_pence: int
    paid_pence: int

    @property
    def balance_pence(self) -> int:
        return self.owed_pence - self.paid_pence


def ledger(session: Session, org: Organisation) -> PayoutLedger:
    """The organisation's payout ledger: owed amounts and payouts, oldest first, with what is
    still owed after each line. On one day, amounts owed come before payouts."""
    items = owed_items(session, [org.id]).get(org.id, [])
    payouts = payouts_of(session, org.id)
    events: list[tuple[date, int, int, OwedItem | Payout]] = [
        (item.owed_on, 0, item.entry_id, item) for item in items
    ] + [(payout.paid_on, 1, payout.id, payout) for payout in payouts]
    lines = []
    balance = 0
    for on, _order, _id, thing in sorted(events, key=lambda e: e[:3]):
        if isinstance(thing, OwedItem):
            balance += thing.amount_pence
            lines.append(LedgerLine(on, thing.amount_pence, 0, thing.what, "", balance, thing))
        else:
            balance -= thing.amount_pence
            lines.append(LedgerLine(on, 0, thing.amount_pence, "", thing.reference, balance, None))
    return PayoutLedger(
        organisation=org,
        lines=lines,
        owed_pence=sum(item.amount_pence for item in items),
        paid_pence=sum(payout.amount_pence for payout in payouts),
    )


CSV_COLUMNS = [
    "Date",
    "What for",
    "Owed (pounds)",
    "Paid on (pounds)",
    "Owed (pence)",
    "Paid on (pence)",
    "Payout reference",
    "Paid on to you on",
    "Still owed after this line (pence)",
]


def as_csv(book: PayoutLedger, describe: dict[int, str] | None = None) -> str:
    """The ledger as CSV; `describe` gives words for owed items by entry id (pools names its
    pools and months, which this package cannot)."""
    describe = describe or {}
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for line in book.lines:
        item = line.item
        writer.writerow(
            [
                line.on.isoformat(),
                safe_cell(describe.get(item.entry_id, line.what) if item else "Payout"),
                format_pence(line.owed_pence) if line.owed_pence else "",
                format_pence(line.paid_pence) if line.paid_pence else "",
                line.owed_pence or "",
                line.paid_pence or "",
                safe_cell(line.reference),
                item.paid_on.isoformat() if item and item.paid_on else "",
                line.balance_pence,
            ]
        )
    return out.getvalue()


def _lock(session: Session, org: Organisation) -> None:
    """Queue two admins recording payouts to one organisation behind each other (PostgreSQL row
    lock; SQLite's write lock does the same), so both cannot pay what is owed once."""
    session.execute(
        select(Organisation.id).where(Organisation.id == org.id).with_for_update()
    ).all()


def record_payout(
    session: Session,
    actor: User | None,
    org: Organisation,
    amount_pence: int,
    reference: str,
    paid_on: date | None = None,
) -> Payout:
    """Record that a payout was paid to this organisation (outside Stripe): never more than
    is owed, never dated in the future, and once per bank reference. Audited; does not commit.

    `actor` is the admin recording it (None from the command line)."""
    reference = " ".join(reference.split())
    today = utcnow().date()
    paid_on = paid_on or today
    if amount_pence <= 0:
        raise DomainError("Enter an amount of more than £0", field="amount")
    if not reference:
        raise DomainError("Enter the bank transfer's reference", field="reference")
    if len(reference) > MAX_REFERENCE:
        raise DomainError(
            f"The reference must be {MAX_REFERENCE} characters or fewer", field="reference"
        )
    if paid_on > today:
        raise DomainError("The date paid must be today or in the past", field="paid_on")
    _lock(session, org)
    owed = balance_owed(session, org.id)
    if owed <= 0:
        raise DomainError(f"Nothing is owed to {org.name}", field="amount")
    if amount_pence > owed:
        raise DomainError(
            f"{org.name} is owed {format_pence(owed)}: a payout cannot be more than that",
            field="amount",
        )
    payout = Payout(
        organisation_id=org.id,
        amount_pence=amount_pence,
        paid_on=paid_on,
        reference=reference,
        recorded_by_id=actor.id if actor else None,
    )
    try:
        with session.begin_nested():
            session.add(payout)
    except IntegrityError as error:
        raise DomainError(
            f"A payout with the reference {reference} is already recorded for {org.name}",
            field="reference",
        ) from error
    audit.record(
        session,
        actor.id if actor else None,
        "payout.recorded",
        "organisation",
        org.id,
        f"{amount_pence} pence paid on {paid_on.isoformat()}, reference {reference}",
    )
    return payout


# --- for reconciliation: totals per organisation, keyed as the owed entries' references are -


def owed_by_provider(session: Session) -> dict[str, int]:
    """Pence owed to each organisation in all (positive), from the `payout_owed` entries, by
    the organisation id as text (the "provider:<id>:" of their references)."""
    owed: dict[str, int] = defaultdict(int)
    rows = session.execute(
        select(LedgerEntry.reference, LedgerEntry.amount_pence).where(
            LedgerEntry.kind == LedgerKind.PAYOUT_OWED.value
        )
    )
    for reference, amount in rows:
        found = _OWED_REFERENCE.match(reference or "")
        if found is not None:
            owed[found.group(1)] += -amount
    return dict(owed)


def paid_by_provider(session: Session) -> dict[str, int]:
    """Pence recorded as paid on to each organisation in all, keyed like `owed_by_provider`."""
    paid: dict[str, int] = defaultdict(int)
    for org_id, amount in session.execute(select(Payout.organisation_id, Payout.amount_pence)):
        paid[str(org_id)] += amount
    return dict(paid)
