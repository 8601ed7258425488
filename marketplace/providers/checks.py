"""Keeping listings right: provider staff confirm each listing once a year, and are reminded.

A listing counts as checked on the day its provider's staff last saved it (for an edit to a live
listing, the day a moderator approved it and it went live) or pressed "This listing is still
right" (``last_checked_at``). Eleven months after that, the daily job
``providers.check_reminders`` emails the organisation's staff once; a listing not checked for
more than a year tells visitors plainly that it may be out of date.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta

from flask import url_for
from sqlalchemy import select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from marketplace.auth.models import User
from marketplace.db import utcnow
from marketplace.email import ACTION, send_email
from marketplace.errors import NotAllowed
from marketplace.organisations import services as organisations
from marketplace.providers.models import Listing, ListingStatus

log = logging.getLogger(__name__)

REMIND_AFTER_MONTHS = 11
OUT_OF_DATE_AFTER_MONTHS = 12
# Fewer days than any 11 months span (334 at the least), to narrow the query; the exact rule
# is reminder_date's, applied to each candidate.
_FEWER_DAYS_THAN_THE_REMINDER = timedelta(days=300)
REMINDER_SUBJECT = "Please check your listing is still right"


def add_months(day: date, months: int) -> date:
    """The same day `months` later (or earlier), or the month's last day if it is shorter."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    for last in (31, 30, 29, 28):
        try:
            return date(year, month + 1, min(day.day, last))
        except ValueError:
            continue
    raise AssertionError("every month has at least 28 days")


def reminder_date(listing: Listing) -> date | None:
    """The day the reminder to check this listing will be sent (None if never checked)."""
    if listing.last_checked_at is None:
        return None
    return add_months(listing.last_checked_at, REMIND_AFTER_MONTHS)


def is_out_of_date(listing: Listing, today: date | None = None) -> bool:
    """True when nobody at the provider has checked the listing for more than a year."""
    today = today or utcnow().date()
    if listing.last_checked_at is None:
        return True
    return add_months(listing.last_checked_at, OUT_OF_DATE_AFTER_MONTHS) < today


def confirm_checked(
    session: Session, user: User, listing: Listing, today: date | None = None
) -> None:
    """Provider staff say the live listing is still right: checked today, and the next yearly
    reminder counts from today."""
    if not organisations.is_staff(session, user, listing.organisation):
        raise NotAllowed("You do not work for this organisation")
    listing.last_checked_at = today or utcnow().date()
    listing.check_reminded_at = None


def _day(value: date | None) -> str:
    """4 March 2026, as the pages write dates."""
    return f"{value.day} {value:%B %Y}" if value else ""


def _listing_link(listing: Listing) -> str:
    try:
        return url_for("provider.show_listing", listing_id=listing.id, _external=True)
    except RuntimeError:  # outside a request with no SERVER_NAME: a path still helps
        return f"/provider/listings/{listing.id}"


def send_check_reminders(session: Session, now: datetime | None = None) -> int:
    """Email the staff of every published listing last checked 11 months ago or more, once per
    check: each listing is claimed by a conditional UPDATE, so a second run (or a second worker
    at the same time) sends nothing. Returns how many listings were reminded about."""
    now = now or utcnow()
    today = now.date()
    candidates = session.scalars(
        select(Listing)
        .where(
            Listing.status == ListingStatus.PUBLISHED.value,
            Listing.last_checked_at <= today - _FEWER_DAYS_THAN_THE_REMINDER,
            Listing.check_reminded_at.is_(None),
        )
        .order_by(Listing.id)
    ).all()
    reminded = 0
    for listing in candidates:
        due = reminder_date(listing)
        if due is None or due > today:
            continue
        claimed = session.execute(
            update(Listing)
            .where(Listing.id == listing.id, Listing.check_reminded_at.is_(None))
            .values(check_reminded_at=now)
            .execution_options(synchronize_session=False)
        )
        if claimed.rowcount != 1:  # type: ignore[attr-defined]  # a CursorResult
            continue
        # The loaded listing says so too, as the database now does (a later "still right"
        # in this session must then clear it).
        set_committed_value(listing, "check_reminded_at", now)
        reminded += 1
        link = _listing_link(listing)
        checked = _day(listing.last_checked_at)
        for person in organisations.staff_of(session, listing.organisation):
            # The listing's name is the provider's own public text, but the subject stays
            # general, like every other email's.
            send_email(
                person.email,
                REMINDER_SUBJECT,
                f"Hello {person.display_name},\n\n"
                f'Your listing "{listing.name}" was last checked on {checked}. People rely on '
                "the directory being right, so please check it and confirm it is still right, "
                "or change what is out of date.\n\n"
                f"Sign in to see it:\n{link}\n",
                user_id=person.id,
                kind=ACTION,
                session=session,
                about="a listing check reminder",
            )
    log.info("providers.check_reminders: reminded about %s listings", reminded)
    return reminded
