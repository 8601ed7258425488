"""The double-entry time ledger: every confirmed minute given is a minute received.

A confirmed `TimeLog` of m minutes is posted as one transaction of two entries: the giver's
"given" account is credited -m and the recipient's (a person's, or the ULO's) "received" account
is debited +m. Nothing else writes entries, entries are never changed, and UNIQUE(time_log_id,
account_id) means a log cannot be posted twice. So the whole ledger, and each ULO's part of it,
always sums to zero; `check` proves it from the rows.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from marketplace.memberships.models import (
    AccountKind,
    LogStatus,
    TimeAccount,
    TimeEntry,
    TimeLog,
)


def _key(organisation_id: int, kind: AccountKind, user_id: int | None) -> str:
    who = f"user:{user_id}" if user_id is not None else "ulo"
    return f"org:{organisation_id}:{kind.value}:{who}"


def account(
    session: Session, organisation_id: int, kind: AccountKind, user_id: int | None
) -> TimeAccount:
    """The account for (ULO, kind, person or the ULO itself), created the first time."""
    key = _key(organisation_id, kind, user_id)
    found = session.scalar(select(TimeAccount).where(TimeAccount.key == key))
    if found is None:
        found = TimeAccount(
            key=key, organisation_id=organisation_id, kind=kind.value, user_id=user_id
        )
        session.add(found)
        session.flush()  # the entries need its id
    return found


def post(session: Session, log: TimeLog) -> None:
    """Post a confirmed log: credit the giver's "given", debit the recipient's "received"."""
    if log.status != LogStatus.CONFIRMED.value:
        raise ValueError("only confirmed time is posted to the ledger")
    given = account(session, log.organisation_id, AccountKind.GIVEN, log.giver_id)
    recipient = None if log.for_ulo else log.recipient_id
    received = account(session, log.organisation_id, AccountKind.RECEIVED, recipient)
    session.add_all(
        [
            TimeEntry(time_log_id=log.id, account_id=given.id, minutes=-log.minutes),
            TimeEntry(time_log_id=log.id, account_id=received.id, minutes=log.minutes),
        ]
    )
    session.flush()


@dataclass(frozen=True)
class LedgerCheck:
    """What `check` found: the sum of every entry, the unbalanced transactions, and the minutes
    of confirmed logs against the minutes given and received in the ledger."""

    total_minutes: int
    unbalanced_logs: tuple[int, ...]
    confirmed_minutes: int
    given_minutes: int
    received_minutes: int

    @property
    def balanced(self) -> bool:
        return (
            self.total_minutes == 0
            and not self.unbalanced_logs
            and self.confirmed_minutes == self.given_minutes == self.received_minutes
        )


def check(session: Session, organisation_id: int | None = None) -> LedgerCheck:
    """Check the ledger (or one ULO's part of it) balances and matches the confirmed logs."""
    entries = select(TimeEntry.time_log_id, TimeEntry.minutes, TimeAccount.kind).join(
        TimeAccount, TimeAccount.id == TimeEntry.account_id
    )
    logs = select(func.coalesce(func.sum(TimeLog.minutes), 0)).where(
        TimeLog.status == LogStatus.CONFIRMED.value
    )
    if organisation_id is not None:
        entries = entries.where(TimeAccount.organisation_id == organisation_id)
        logs = logs.where(TimeLog.organisation_id == organisation_id)
    per_log: dict[int, int] = {}
    total = given = received = 0
    for log_id, minutes, kind in session.execute(entries):
        per_log[log_id] = per_log.get(log_id, 0) + minutes
        total += minutes
        if kind == AccountKind.GIVEN.value:
            given -= minutes
        else:
            received += minutes
    return LedgerCheck(
        total_minutes=total,
        unbalanced_logs=tuple(sorted(k for k, v in per_log.items() if v != 0)),
        confirmed_minutes=int(session.scalar(logs) or 0),
        given_minutes=given,
        received_minutes=received,
    )


def balance(session: Session, account_id: int) -> int:
    """An account's balance in minutes (negative for a giver's account)."""
    total = session.scalar(
        select(func.coalesce(func.sum(TimeEntry.minutes), 0)).where(
            TimeEntry.account_id == account_id
        )
    )
    return int(total or 0)
