"""The one rule for what a pool member pays: every page, email, notice and charge asks here.

A month's share is the chosen quote's price per member at the number of people who pay for
that month (`billable_members`): members, less those who said they leave before it and those
away on a break who lent their place, plus the people from the waiting list paying for a lent
place. Once a month has been collected, its share is what was collected, so a page can never
show a different amount from the one charged.

Shares are whole pence that add up to exactly the quote's group price: the price divided by the
number who pay, rounded down, with the pence left over paid one each by the earliest joiners
(`split`). So "£100 split 3 ways" is £33.34 for the first to join and £33.33 for the other two,
never 3 x £33.34. `member_share` is what one person pays; `share_for` is the most anyone pays.
"""

from __future__ import annotations

import calendar
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from marketplace.db import as_utc
from marketplace.errors import DomainError
from marketplace.money import format_pence
from marketplace.pools.models import (
    MemberStatus,
    PlaceLoan,
    Pool,
    PoolMember,
    PoolPayment,
    Quote,
)


class NoShare(DomainError):
    """There is no share to charge: no quote has won, or it has no price for the size."""


def add_months(start: datetime, months: int) -> datetime:
    """The same day `months` later (the last day of a shorter month)."""
    month_index = start.month - 1 + months
    year, month = start.year + month_index // 12, month_index % 12 + 1
    day = min(start.day, calendar.monthrange(year, month)[1])
    return start.replace(year=year, month=month, day=day)


def _pays_for(member: PoolMember, month: int) -> bool:
    return (member.leave_after_month is None or member.leave_after_month >= month) and (
        member.from_month is None or member.from_month <= month
    )


def billable_members(pool: Pool, month: int) -> list[PoolMember]:
    """Members who pay for this month: not those who said they leave before it, nor someone
    who took an offered place from a later month (`from_month`). A place lent for this month
    (see loans.py) is paid by the person first on the waiting list instead. Someone offered a
    place (MemberStatus.OFFERED) is not a member, so never pays, until they confirm."""
    paying = [m for m in pool.current_members if _pays_for(m, month)]
    for loan in pool.loans:
        if loan.covers(month) and loan.lender in paying:
            paying.remove(loan.lender)
            if _borrower_pays(loan, paying):
                paying.append(loan.borrower)
    return paying


def _borrower_pays(loan: PlaceLoan, paying: list[PoolMember]) -> bool:
    """Whether the borrower is listed for a month of their loan. Someone waiting is; so is
    someone who has left the waiting list since, as a month collected from them stays theirs
    (`loans.hand_on` ends their loan at the last month collected). Someone who now has a place
    of their own is listed already, and someone removed for not paying is not: either way the
    lender, who is away, is not charged for the month."""
    if loan.borrower in paying:
        return False
    return loan.borrower.status in (
        MemberStatus.WAITING.value,
        MemberStatus.LEFT.value,
        MemberStatus.OFFERED.value,  # offered a place: their loan was ended at the last month
    )


def next_month(pool: Pool) -> int:
    """The month being collected, or the next one to be: 1 until the first month is settled.

    `months_started` moves only when a month is settled, so a month whose payments are still
    in their grace period is still "next": its share is the one members are being asked for.
    A pool past its last month answers its last month.
    """
    return max(1, min(pool.months_started + 1, pool.months))


def last_collected_month(session: Session, pool: Pool) -> int:
    """The last month whose payments were taken (or invoiced), settled or not: it never moves."""
    charged = session.scalar(
        select(func.max(PoolPayment.month)).where(PoolPayment.pool_id == pool.id)
    )
    return max(pool.months_started, charged or 0)


def collected_share(session: Session, pool: Pool, month: int) -> int | None:
    """The most any member was asked for in a month already collected (None if it has not
    been)."""
    if month < 1:
        return None
    return session.scalar(
        select(func.max(PoolPayment.amount_pence)).where(
            PoolPayment.pool_id == pool.id, PoolPayment.month == month
        )
    )


def payers(pool: Pool, month: int) -> list[PoolMember]:
    """Who will pay for a month not yet collected, as `funding.charge_due` will find them.

    Nobody joins from the waiting list without confirming an offered place first (offers.py),
    and someone who confirms pays from their `from_month`, so the payers of a month to come
    are its billable members today.
    """
    return billable_members(pool, month)


def split(total_pence: int, count: int) -> list[int]:
    """`total_pence` shared by `count` people in whole pence that add up to it exactly: the
    first `total % count` people pay one penny more."""
    base, extra = divmod(total_pence, count)
    return [base + 1] * extra + [base] * (count - extra)


def in_joining_order(members: list[PoolMember]) -> list[PoolMember]:
    """Earliest joiner first (the id breaks a tie): who pays a penny left over."""
    return sorted(members, key=lambda m: (as_utc(m.joined_at), m.id))


def amounts(quote: Quote, members: list[PoolMember]) -> dict[int, int] | None:
    """What each of these members pays a month under this quote, by user id (None if the
    quote has no price for that many people)."""
    price = quote.price_at(len(members)) if members else None
    if price is None:
        return None
    ordered = in_joining_order(members)
    return {
        m.user_id: pence
        for m, pence in zip(ordered, split(price.group_total, len(ordered)), strict=True)
    }


def split_words(total_pence: int, count: int) -> str:
    """The split in words, for pages and emails: "£100 split 3 ways: 1 person pays £33.34 and
    2 pay £33.33" (or "each pays £30" when it divides exactly)."""
    parts = split(total_pence, count)
    high, low = parts[0], parts[-1]
    whole = f"{format_pence(total_pence)} split {count} way{'s' if count != 1 else ''}"
    if high == low:
        return f"{whole}: each pays {format_pence(high)}"
    more = parts.count(high)
    people = "person pays" if more == 1 else "people pay"
    return (
        f"{whole}: {more} {people} {format_pence(high)} and {count - more} "
        f"pay{'s' if count - more == 1 else ''} {format_pence(low)} (the earliest to join pay "
        "the odd pennies)"
    )


def quote_split_words(quote: Quote, pool: Pool, month: int) -> str | None:
    """`split_words` for this quote at the number who would pay for `month`."""
    count = len(payers(pool, month))
    price = quote.price_at(count)
    return split_words(price.group_total, count) if price is not None else None


def quote_share(quote: Quote, pool: Pool, month: int) -> int | None:
    """What each member would pay for `month` if this quote were the pool's (None if it has
    no price for that many people). For quotes being voted on, and for months not collected."""
    return quote.per_member_pence(len(payers(pool, month)))


def month_amounts(
    session: Session, pool: Pool, month: int, members: list[PoolMember]
) -> dict[int, int]:
    """What each of `members` (the month's payers) pays for `month`, by user id: the chosen
    quote's group price split among them. Raises NoShare as `share_for` does."""
    quote = session.get(Quote, pool.chosen_quote_id) if pool.chosen_quote_id else None
    if quote is None:
        raise NoShare("This pool has no chosen quote")
    found = amounts(quote, members)
    if found is None:
        raise NoShare(f"The quote has no price for {len(members)} members")
    return found


def share_for(session: Session, pool: Pool, month: int) -> int:
    """The most any paying member pays for `month` of the pool, in pence (`member_share`
    says what each one pays: they differ by a penny at most).

    The amount collected, once the month has been; before that, the chosen quote's price at
    the number of people who pay for that month. Raises NoShare when no quote has won or the
    quote has no price for that many people (nothing can be charged then).
    """
    collected = collected_share(session, pool, month)
    if collected is not None:
        return collected
    quote = session.get(Quote, pool.chosen_quote_id) if pool.chosen_quote_id else None
    if quote is None:
        raise NoShare("This pool has no chosen quote")
    share = quote_share(quote, pool, month)
    if share is None:
        raise NoShare(f"The quote has no price for {len(billable_members(pool, month))} members")
    return share


def share_or_none(session: Session, pool: Pool, month: int) -> int | None:
    """`share_for`, or None where there is no share yet (for pages that show it if known)."""
    try:
        return share_for(session, pool, month)
    except NoShare:
        return None


def member_share(session: Session, pool: Pool, member: PoolMember, month: int) -> int | None:
    """What this person pays for `month`: their payment row if it was collected, 0 if they do
    not pay for it (left, away with their place lent, or waiting without a lent place), else
    the month's share (None when there is no share yet)."""
    row_amount = session.scalar(
        select(PoolPayment.amount_pence).where(
            PoolPayment.pool_id == pool.id,
            PoolPayment.user_id == member.user_id,
            PoolPayment.month == month,
        )
    )
    if row_amount is not None:
        return row_amount
    paying = payers(pool, month)
    if member not in paying:
        return 0
    quote = session.get(Quote, pool.chosen_quote_id) if pool.chosen_quote_id else None
    found = amounts(quote, paying) if quote is not None else None
    return found.get(member.user_id) if found is not None else None
