"""What the check-your-answers page says before someone joins a pool: their likely share, the
most they can be charged, and when the first payment is taken.

The sentences are built here, in one place, so the page and the tests read the same words. Each
is worked out from the rules it describes: the share from the quotes' prices at the size the
pool would be with this person, split in whole pence as `shares.split` splits it for members
(the person joining is the latest to join, so pays no odd penny while others do); the most
from the person's own maximum (no share above it is ever taken: `funding` holds it back); and
the date from `schedule.charge_date`, the one dating rule.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy.orm import Session

from marketplace.money import format_pence
from marketplace.pools import schedule, shares
from marketplace.pools.models import PayBy, Pool, Quote, QuoteStatus
from marketplace.web.template_globals import format_date


@dataclass(frozen=True)
class JoinOutlook:
    """What joining would mean, in numbers and in the words the page shows."""

    size: int  # how many would share the cost, counting the person joining
    waiting: bool  # the pool is full: they would join the waiting list
    # What the person joining would pay under each quote at `size`, lowest first (none: no
    # quotes). A penny below the quote's per-member price when the total does not divide.
    shares_pence: tuple[int, ...]
    most_pence: int  # the most any one payment can be: the person's own maximum
    first_charge_on: date | None  # known only once a quote is chosen
    share: str
    most: str
    first_charge: str


def _quotes(session: Session, pool: Pool) -> list[Quote]:
    """The chosen quote once there is one; before that, every quote members can still vote for."""
    if pool.chosen_quote_id:
        chosen = session.get(Quote, pool.chosen_quote_id)
        return [chosen] if chosen is not None else []
    return [q for q in pool.quotes if q.status == QuoteStatus.SUBMITTED.value]


def _members(size: int) -> str:
    return f"{size} member{'s' if size != 1 else ''}"


def _share_sentence(
    pool: Pool, joined: int, size: int, waiting: bool, found: list[int], uneven: list[str]
) -> str:
    if waiting:
        opening = (
            f"The pool is full, so you would join the waiting list. You pay nothing while you "
            f"wait. If a place comes free, the pool has {_members(size)}"
        )
    elif joined < pool.min_members:
        opening = (
            f"With you, {_members(joined)} will have joined. The pool needs at least "
            f"{pool.min_members} to go ahead. With {_members(size)}"
        )
    else:
        opening = f"With you, the pool has {_members(size)}"
    if not found:
        return f"{opening}. No provider has quoted yet, so the share is not known yet."
    low, high = found[0], found[-1]
    if low == high and not uneven:
        return f"{opening}: each member's share would be {format_pence(low)} a month."
    if low == high:
        return f"{opening}: your share would be {format_pence(low)} a month. {uneven[0]}."
    pennies = (
        " Each quote is shared in whole pence, so members' shares can differ by a penny: the "
        "earliest to join pay the odd pennies."
        if uneven
        else ""
    )
    whose = "your share" if uneven else "each member's share"
    return (
        f"{opening}: {whose} would be between {format_pence(low)} and "
        f"{format_pence(high)} a month, depending on which quote the members choose.{pennies}"
    )


def _most_sentence(max_pence: int, pay_by: str) -> str:
    payment = "charge" if pay_by == PayBy.CARD.value else "invoice"
    return (
        f"The most you can be asked to pay in a month is {format_pence(max_pence)}, the "
        f"maximum you chose. No {payment} is ever more than that: if the share goes above it, "
        "nothing is taken from you unless you agree to pay more."
    )


def _first_charge_sentence(on: date | None, starts: list[date], pay_by: str) -> str:
    card = pay_by == PayBy.CARD.value
    first = "Your first payment is taken from your card" if card else "Your first invoice is sent"
    nothing = "No money is taken" if card else "Nothing is invoiced"
    if on is not None:
        return f"{first} on {format_date(on)}. {nothing} before then."
    if not starts:
        so_far = ""
    elif starts[0] == starts[-1]:
        so_far = f" (the quotes so far start on {format_date(starts[0])})"
    else:
        so_far = (
            f" (the quotes so far start between {format_date(starts[0])} and "
            f"{format_date(starts[-1])})"
        )
    return (
        f"{first} on the start date of the quote the members choose{so_far}. {nothing} before "
        "that date, and you will be told the date before anything is taken."
    )


def outlook(session: Session, pool: Pool, max_pence: int, pay_by: str) -> JoinOutlook:
    """What the check-your-answers page says about money for someone about to join."""
    # As `services.join` decides: a place if there is room, else the waiting list.
    members = len(pool.current_members)
    waiting = members >= pool.max_members
    joined = members if waiting else members + 1
    # A pool only goes ahead at its minimum, and quotes price only the sizes it allows.
    size = min(max(joined, pool.min_members), pool.max_members)
    offers = _quotes(session, pool)
    # `shares.split` gives the odd pennies to the earliest joiners, and the person joining is
    # the latest: their own share is the split's entry at their place in the line.
    place = min(joined, size) - 1
    prices = [price for q in offers if (price := q.price_at(size)) is not None]
    found = sorted(shares.split(p.group_total, size)[place] for p in prices)
    uneven = [shares.split_words(p.group_total, size) for p in prices if p.group_total % size != 0]
    on = schedule.charge_date(session, pool, 1)
    return JoinOutlook(
        size=size,
        waiting=waiting,
        shares_pence=tuple(found),
        most_pence=max_pence,
        first_charge_on=on,
        share=_share_sentence(pool, joined, size, waiting, found, uneven),
        most=_most_sentence(max_pence, pay_by),
        first_charge=_first_charge_sentence(on, sorted(q.start_date for q in offers), pay_by),
    )
