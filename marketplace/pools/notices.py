"""Emails about a pool's money: a payment to put right, a charge coming up, a pool going ahead,
a pool lapsing. Every sentence about money says what `funding.py` does, on `schedule.py`'s dates.

Sent after the change is committed. A mail server that is down must not undo or stop a
money step that already happened, so failures are logged and the job goes on. Emails say
what happened and link to the page; they never contain card details.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from flask import current_app, url_for
from sqlalchemy import select
from sqlalchemy.orm import Session

from marketplace.auth.models import User
from marketplace.email import ACTION, GENERAL, MONEY, send_email_or_log
from marketplace.engagement.services import staff_of
from marketplace.money import format_pence
from marketplace.pools import schedule, shares
from marketplace.pools.models import (
    MemberStatus,
    PayBy,
    PaymentStatus,
    Pool,
    PoolMember,
    PoolPayment,
    Quote,
)
from marketplace.web.template_globals import format_date, format_datetime


def _link(endpoint: str, **values: Any) -> str:
    """An absolute link when the app knows its address (SERVER_NAME or a request), else a path."""
    try:
        return url_for(endpoint, _external=True, **values)
    except RuntimeError:  # a cron job with no SERVER_NAME: still tell them where to look
        with current_app.test_request_context():
            return url_for(endpoint, **values)


def _send(
    person: User | None,
    subject: str,
    body: str,
    kind: str = GENERAL,
    session: Session | None = None,
) -> None:
    if person is None or person.erased_at is not None:
        return
    send_email_or_log(
        person.email,
        subject,
        f"Hello {person.display_name},\n\n{body}\n",
        user_id=person.id,
        kind=kind,
        session=session,
        about="a pool notice",
    )


def link(endpoint: str, **values: Any) -> str:
    """An absolute link for an email (see `_link`), for the other modules of pools."""
    return _link(endpoint, **values)


def send_to_address(session: Session, to: str, subject: str, body: str, kind: str) -> None:
    """An email to someone with no account here (an account holder paying an invoice)."""
    send_email_or_log(to, subject, body, kind=kind, session=session, about="an invoice")


def invoice_sent(
    session: Session, pool: Pool, member: PoolMember, number: str, bill_to: str
) -> None:
    _send(
        member.user,
        f"Invoice {number} has been sent for your share",
        f"Invoice {number} for your share has been sent to {bill_to}. They pay it: nothing is "
        "taken from you. You can see it, and what has been paid on it, on the pool's page:"
        f"\n\n{_link('pools.pool_page', pool_id=pool.id)}",
        MONEY,
        session,
    )


def invoice_paid(session: Session, pool: Pool, person: User, number: str, month: int) -> None:
    _send(
        person,
        f"Invoice {number} has been paid",
        f"Invoice {number}, your share for month {month}, has been paid in full. It is on your "
        f"statement:\n\n{_link('statements.statement')}",
        MONEY,
        session,
    )


def invoice_overdue(
    session: Session, pool: Pool, person: User, number: str, until: datetime
) -> None:
    _send(
        person,
        f"Invoice {number} for your share is overdue",
        f"Invoice {number} for your share was not paid by its due date. If it is not paid by "
        f"{format_datetime(until)}, your place in the pool ends. Please ask whoever pays your "
        f"budget to pay it.\n\n{_link('pools.pool_page', pool_id=pool.id)}",
        MONEY,
        session,
    )


def invoice_place_ended(session: Session, pool: Pool, person: User, number: str) -> None:
    _send(
        person,
        "Your place in a pool has ended",
        f"Invoice {number} for your share was not paid in time, so your place in the pool has "
        "ended. Nothing more will be invoiced for you. The invoice is still owed for the "
        f"service already given.\n\n{_link('pools.pool_page', pool_id=pool.id)}",
        MONEY,
        session,
    )


def _members_and_proposer(pool: Pool) -> list[User]:
    """The pool's current members, and its proposer if they are not one."""
    people = [m.user for m in pool.current_members]
    if pool.proposer is not None and all(p.id != pool.proposer_id for p in people):
        people.append(pool.proposer)
    return people


def hold_words(session: Session, pool: Pool, member: PoolMember | None) -> str:
    """The promise about month one while a funded pool waits for its start date, for the person
    reading the pool page (true in funding.py: holds from `schedule.hold_date`, taken on the
    charge date only if every share is secured, else all released)."""
    charge_on = schedule.charge_date(session, pool, 1)
    hold_on = schedule.hold_date(session, pool)
    when = format_date(charge_on) if charge_on else "the service's start date"
    start = format_date(hold_on) if hold_on else "a few days before"
    row = None
    if member is not None:
        row = session.scalar(
            select(PoolPayment).where(
                PoolPayment.pool_id == pool.id,
                PoolPayment.user_id == member.user_id,
                PoolPayment.month == 1,
            )
        )
    nobody = "If not, every hold is released, every invoice is cancelled and nobody pays anything."
    if member is None or member.status != MemberStatus.MEMBER.value:
        return (
            f"Nothing is taken from anyone yet. From {start}, each card member's first share is "
            f"held on their card (nothing taken) and the others are invoiced; every share is "
            f"taken on {when} only if every member's share is secured by then. {nobody}"
        )
    if member.pay_by != PayBy.CARD.value and row is not None:
        return (
            f"Nothing is paid yet. Your first share is invoiced to "
            f"{member.invoice_to or 'the account you named'}; it is only due if every member's "
            f"share is secured by {when}. {nobody}"
        )
    if member.pay_by != PayBy.CARD.value:
        return (
            f"Nothing is paid yet. From {start} your first share is invoiced to "
            f"{member.invoice_to or 'the account you named'}; it is only due if every member's "
            f"share is secured by {when}. {nobody}"
        )
    if row is not None and row.status == PaymentStatus.HELD.value:
        return (
            f"Your first share is held on your card: your bank reserves it, nothing is taken "
            f"yet. It is taken on {when} only if every member's share is secured by then. "
            f"{nobody}"
        )
    return (
        f"Nothing is taken yet. From {start} your first share is held on your card (your bank "
        f"reserves it, nothing is taken), and it is taken on {when} only if every member's "
        f"share is secured by then. {nobody} A bank keeps a hold for at most 7 days, so the "
        f"hold starts only {schedule.HOLD_LEAD_DAYS} days before."
    )


def payment_problem(session: Session, row: PoolPayment) -> None:
    """Ask the member to put a refused payment right before the deadline."""
    if row.status not in (PaymentStatus.FAILED.value, PaymentStatus.ACTION_NEEDED.value):
        return
    pool = row.pool
    if row.status == PaymentStatus.ACTION_NEEDED.value:
        what = "Your bank wants you to confirm the payment"
        link = _link("pools.confirm_payment", pool_id=pool.id, month=row.month)
    else:
        what = "Your payment did not go through"
        link = _link("pools.fix_payment", pool_id=pool.id, month=row.month)
    # A deadline is a moment: month one's is midnight starting the charge date, which
    # format_datetime names as the end of the day before (the last whole day to act).
    deadline = f" by {format_datetime(row.due_by)}" if row.due_by else ""
    if row.month == 1:
        then = "or the pool cannot go ahead: every hold is then released and nobody pays anything"
    else:
        then = "or your place goes to the next person waiting"
    _send(
        session.get(User, row.user_id),
        "Please put your pool payment right",
        f"{what} for month {row.month} of {pool.title} ({format_pence(row.amount_pence)}).\n\n"
        f"Please put it right{deadline}, {then}:\n\n{link}",
        MONEY,
        session,
    )


def charge_reminder(session: Session, pool: Pool, month: int, on: date) -> None:
    """Tell each paying member, 3 days ahead, what will be taken and when (outbox: sent after
    the commit)."""
    link = _link("pools.pool_page", pool_id=pool.id)
    for member in shares.billable_members(pool, month):
        pence = shares.member_share(session, pool, member, month)
        if not pence:
            continue
        if month == 1:
            what = (
                f"Your first share of {pool.title}, {format_pence(pence)}, will be taken on "
                f"{format_date(on)} if every member's share is secured by then; if not, "
                "nothing is taken from anyone."
            )
        else:
            what = (
                f"Month {month} of {pool.title}, your share of {format_pence(pence)}, will be "
                f"taken on {format_date(on)}."
            )
        _send(member.user, "A pool payment is coming up", f"{what}\n\n{link}", MONEY, session)


def commissioned(session: Session, pool: Pool) -> None:
    """Tell the provider and the members that the pool is going ahead, and what each paid."""
    quote = session.get(Quote, pool.chosen_quote_id) if pool.chosen_quote_id else None
    link = _link("pools.pool_page", pool_id=pool.id)
    rows = {
        r.user_id: r
        for r in session.scalars(
            select(PoolPayment).where(PoolPayment.pool_id == pool.id, PoolPayment.month == 1)
        )
    }
    taken = sum(r.amount_pence for r in rows.values() if r.status == PaymentStatus.PAID.value)
    invoiced = sum(
        r.amount_pence
        for r in rows.values()
        if r.status in (PaymentStatus.INVOICED.value, PaymentStatus.ACCEPTED.value)
    )
    if quote is not None:
        parts = []
        if taken:
            parts.append(f"{format_pence(taken)} has been taken by card")
        if invoiced:
            parts.append(f"{format_pence(invoiced)} is invoiced to members' accounts")
        money = "Of its first month, " + (" and ".join(parts) or "nothing is due")
        for person in staff_of(session, quote.organisation):
            _send(
                person,
                "Your quote for a pool has been chosen",
                f"The pool {pool.title} has chosen your quote and is going ahead. {money}. "
                f"It starts on {format_date(quote.start_date)}. What is taken is recorded as "
                f"owed to {quote.organisation.name}; an invoice is added once it is paid."
                f"\n\n{link}",
                session=session,
            )
    for member in pool.current_members:
        row = rows.get(member.user_id)
        if row is not None and row.status == PaymentStatus.PAID.value:
            yours = f"Your first share of {format_pence(row.amount_pence)} has now been taken."
        elif row is not None:
            yours = (
                f"Your first share of {format_pence(row.amount_pence)} is now due on the "
                f"invoice to {row.invoice_to or 'the account you named'}."
            )
        else:
            yours = "You pay nothing for the first month."
        _send(
            member.user,
            "Your pool is going ahead",
            f"Every member's share was secured, so {pool.title} is going ahead. {yours}\n\n{link}",
            session=session,
        )


def lapsed(session: Session, pool: Pool) -> None:
    """Tell everyone who pledged that the pool will not happen and nobody pays."""
    link = _link("pools.pool_page", pool_id=pool.id)
    for member in pool.members:
        if member.status == MemberStatus.LEFT.value:
            continue  # they left before it ended; nothing of theirs is affected
        _send(
            member.user,
            "Your pool will not go ahead",
            f"{pool.title} will not go ahead: {pool.end_reason or 'it lapsed'}. "
            "Nothing was taken from anyone for it: any hold on your card has been released "
            "and any invoice cancelled.\n\n"
            f"Everything about the pool stays readable here:\n\n{link}",
            session=session,
        )


def share_rise(
    session: Session,
    pool: Pool,
    member: PoolMember,
    month: int,
    before: int | None,
    after: int,
    due_on: date | None,
) -> None:
    """A member's share of `month` is more than they were last told: tell them the new share,
    the day it will be charged (`schedule.due_date`, at least `NOTICE_DAYS` away) and that
    leaving before then costs nothing (rises.py; sent after the commit)."""
    link = _link("pools.pool_page", pool_id=pool.id)
    when = format_date(due_on) if due_on else "its charge date"
    most = format_pence(member.max_pence)
    if before:
        change = (
            f"Fewer people are sharing {pool.title} now, so your share for month {month} goes "
            f"from {format_pence(before)} to {format_pence(after)}."
        )
    else:
        change = f"Your share of {pool.title} for month {month} is {format_pence(after)}."
    if after <= member.max_pence:
        what = (
            f"It will be charged on {when}, never before. That is within the most you said "
            f"you would pay ({most})."
        )
    else:
        raise_link = _link("pools.raise_maximum", pool_id=pool.id)
        what = (
            f"That is more than the most you said you would pay ({most}), so it will not be "
            f"charged unless you raise the most you will pay before {when}:\n\n{raise_link}\n\n"
            "If you do not, your place goes a few days after that date."
        )
    if pool.offered:
        what += (
            " A place has been offered to the next person waiting: if they take it before "
            "then, your share will be less."
        )
    leave = _link("pools.leave", pool_id=pool.id)
    _send(
        member.user,
        "Your share of a pool is going up",
        f"{change} {what}\n\nYou can leave the pool before {when} and pay nothing more:\n\n"
        f"{leave}\n\n{link}",
        MONEY,  # what they will be charged: sent even during a break
        session,
    )


def place_offered(session: Session, pool: Pool, member: PoolMember, words: str) -> None:
    """Offer the first person waiting a freed place (offers.py): what it is, what they would
    pay and from when, and the date to say yes by (`words`, the sentence the pages show)."""
    link = _link("pools.pool_page", pool_id=pool.id, _anchor="offer")
    _send(
        member.user,
        "A place in a pool is free for you",
        f"A place in {pool.title} is free, and you are first on the waiting list. {words}\n\n"
        f"To take the place or say no:\n\n{link}",
        ACTION,
        session,
    )


def offer_ended(session: Session, pool: Pool, member: PoolMember) -> None:
    """An offered place was not confirmed in time (offers.end_expired)."""
    link = _link("pools.pool_page", pool_id=pool.id)
    _send(
        member.user,
        "The pool place offered to you has gone",
        f"The place offered to you in {pool.title} was not confirmed in time, so it has gone to "
        "the next person waiting. Nothing was taken from you. You can join again from the "
        f"pool's page:\n\n{link}",
        session=session,
    )


def vote_opened(session: Session, pool: Pool, live: list[Quote]) -> None:
    """Ask each member to vote, with a one-click vote for each of the `live` quotes (voting
    moves no money: paying for the winner asks them to sign in). Call after the commit."""
    from marketplace.notifications.links import email_link

    page = _link("pools.pool_page", pool_id=pool.id, _anchor="quotes")
    closes = f" by {format_date(pool.vote_closes_at)}" if pool.vote_closes_at else ""
    month = shares.next_month(pool)
    choices = [(quote, shares.quote_share(quote, pool, month)) for quote in live]
    for member in pool.current_members:
        lines = []
        for quote, share in choices:
            link = email_link(member.user_id, "vote", {"pool_id": pool.id, "quote_id": quote.id})
            price = f" ({format_pence(share)} a month each)" if share else ""
            lines.append(f"Vote for {quote.organisation.name}'s quote{price}:\n{link}")
        _send(
            member.user,
            "Please vote: choose a quote for your pool",
            f"The members of {pool.title} are choosing a quote. Please vote{closes}.\n\n"
            + "\n\n".join(lines)
            + "\n\nEach link votes with one click and works once; voting takes no money. "
            f"To read the quotes first, sign in:\n\n{page}",
            ACTION,
        )


def winding_down(session: Session, pool: Pool) -> None:
    """Tell the members the pool ends after the last month already paid."""
    link = _link("pools.pool_page", pool_id=pool.id)
    for member in pool.current_members:
        _send(
            member.user,
            "Your pool is ending",
            f"{pool.end_reason}. Nothing more will be charged.\n\n{link}",
        )


def quote_chosen(session: Session, pool: Pool, quote: Quote, why: str) -> None:
    """Tell the members which quote the vote chose, and why (the words the pool page shows)."""
    link = _link("pools.pool_page", pool_id=pool.id)
    for person in _members_and_proposer(pool):
        _send(
            person,
            "Your pool's vote chose a quote",
            f"The vote on {pool.title} has closed and chose {quote.organisation.name}'s quote.\n\n"
            f"{why}\n\nWhat happens next is on the pool page:\n\n{link}",
            session=session,
        )


def vote_void(session: Session, pool: Pool, why: str, open_by: datetime, now: datetime) -> None:
    """Tell the members a vote ended without choosing, and whether there is time for another."""
    link = _link("pools.pool_page", pool_id=pool.id)
    if now < open_by:
        again = f"A new vote can be opened until {format_datetime(open_by)}."
    else:
        again = (
            "There is no longer time for another vote before the pool's deadline "
            f"({format_date(pool.deadline)}), so the pool ends after it without going ahead. "
            "Nobody pays anything."
        )
    for person in _members_and_proposer(pool):
        _send(
            person,
            "Your pool's vote did not choose a quote",
            f"The vote on {pool.title} has closed without choosing a quote.\n\n{why}\n\n"
            f"The pool is open again. {again}\n\n{link}",
            ACTION,
            session=session,
        )


def open_vote_soon(session: Session, pool: Pool, open_by: datetime) -> None:
    """Tell the proposer, once, that the last moment to open a vote is near."""
    link = _link("pools.pool_page", pool_id=pool.id, _anchor="quotes")
    _send(
        pool.proposer,
        "Open your pool's vote soon",
        f"For {pool.title} to go ahead, its members must choose a quote in a vote that lasts at "
        f"least 48 hours and closes before the pool's deadline ({format_date(pool.deadline)}).\n\n"
        f"A vote must be opened by {format_datetime(open_by)}. After that there is no time "
        "for one, and the pool ends after its deadline without going ahead.\n\n"
        f"{link}",
        ACTION,
        session=session,
    )


def cancelled(session: Session, pool: Pool) -> None:
    """Tell members and people waiting that the pool is cancelled. The reason stays on the pool
    page, for people signed in: an email carries no one's words."""
    link = _link("pools.pool_page", pool_id=pool.id)
    for member in pool.members:
        if member.status not in (
            MemberStatus.MEMBER.value,
            MemberStatus.WAITING.value,
            MemberStatus.OFFERED.value,
        ):
            continue
        _send(
            member.user,
            "A pool you are in has been cancelled",
            f"{pool.title} has been cancelled. Nothing more will be taken for it: any payment "
            "not yet taken is cancelled.\n\n"
            "The reason, your payments, the quotes and the discussion stay on the pool page:\n\n"
            f"{link}",
            MONEY,  # it changes what they will pay: sent even during a break
            session=session,
        )
