"""Rules for shortlists, enquiries and reviews of directory services.

- Shortlist: a holder (or their carer) saves published services; one entry per person and
  service.
- Enquiry: a thread between the holder (or a carer writing for them) and the approved staff of
  the service's organisation. Nobody else can see it. Emails say a message is waiting, never
  what it says.
- Review: a holder who has been in touch with a service (has an enquiry thread with it) may
  review it once. Reviews and the provider's one reply to each go through the moderation queue.

Services never commit; the views do, and send the emails (`send_notices`) only after the commit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask import url_for
from sqlalchemy import Select, and_, delete, or_, select
from sqlalchemy.orm import Session

from marketplace.auth.models import User
from marketplace.carers import services as carers
from marketplace.carers.models import CarerScope
from marketplace.db import utcnow
from marketplace.email import send_email_or_log
from marketplace.engagement.models import (
    MAX_MESSAGE,
    MAX_REPLY,
    MAX_REVIEW,
    MAX_SUBJECT,
    Enquiry,
    EnquiryMessage,
    Review,
    ReviewReply,
    ReviewStatus,
    ShortlistEntry,
    Side,
)
from marketplace.errors import DomainError, NotAllowed
from marketplace.moderation import limits
from marketplace.moderation import services as moderation
from marketplace.moderation.models import Decision, ModerationItem
from marketplace.organisations import services as organisations
from marketplace.organisations.models import ApprovalStatus, Organisation, OrganisationStaff

# staff_of moved to organisations (providers needs it too); re-exported for its callers.
from marketplace.organisations.services import staff_of
from marketplace.privacy import services as privacy
from marketplace.providers.models import Listing
from marketplace.providers.services import listing_council_codes

ITEM_REVIEW = "review"
ITEM_REVIEW_REPLY = "review_reply"
RATINGS = (1, 2, 3, 4, 5)


# --- Acting for someone -------------------------------------------------------------------


# A carer with "view" sees a holder's shortlist and enquiries; acting on them (shortlisting,
# writing, closing) takes "services".
SEE = CarerScope.VIEW
ACT = CarerScope.SERVICES


def people_i_help(session: Session, user: User, scope: CarerScope = ACT) -> list[User]:
    """Holders this person may act for here (a live carer grant with `scope`)."""
    return [g.holder for g in carers.grants_held(session, user) if g.allows(scope)]


def _holder_for(
    session: Session, actor: User, holder_id: int | None, scopes: tuple[CarerScope, ...] = (ACT,)
) -> User:
    """The person an action is for: the actor, or a holder who has made them their carer with
    one of `scopes`."""
    if holder_id is None or holder_id == actor.id:
        return actor
    if not _allowed_any(session, actor, holder_id, scopes):
        raise NotAllowed("You do not have permission to do this for this person")
    holder = session.get(User, holder_id)
    if holder is None or holder.erased_at is not None:
        raise NotAllowed("You do not have permission to do this for this person")
    return holder


def _record(session: Session, actor: User, holder: User, description: str) -> None:
    """Record what a carer did for a holder ("by <carer> for <holder>"); nothing when it is self."""
    if actor.id != holder.id:
        carers.act_for(session, actor, holder.id, ACT, description[:255])


def _require_published(listing: Listing) -> None:
    if not listing.is_published:
        raise DomainError("This service is not listed at the moment")


# --- Shortlist ----------------------------------------------------------------------------


def _entry(session: Session, user_id: int, listing_id: int) -> ShortlistEntry | None:
    return session.scalars(
        select(ShortlistEntry).where(
            ShortlistEntry.user_id == user_id, ShortlistEntry.listing_id == listing_id
        )
    ).first()


def add_to_shortlist(
    session: Session, actor: User, listing: Listing, for_holder_id: int | None = None
) -> ShortlistEntry:
    """Save a published service to the actor's shortlist, or a holder's they help. Idempotent."""
    holder = _holder_for(session, actor, for_holder_id)
    _require_published(listing)
    existing = _entry(session, holder.id, listing.id)
    if existing is not None:
        return existing
    _record(session, actor, holder, f"Shortlisted {listing.name}")
    entry = ShortlistEntry(
        user_id=holder.id,
        listing_id=listing.id,
        added_by_id=actor.id if actor.id != holder.id else None,
    )
    session.add(entry)
    return entry


def remove_from_shortlist(
    session: Session, actor: User, listing_id: int, for_holder_id: int | None = None
) -> bool:
    """Take a service off the shortlist; True if it was there."""
    holder = _holder_for(session, actor, for_holder_id)
    entry = _entry(session, holder.id, listing_id)
    if entry is None:
        return False
    _record(session, actor, holder, f"Removed {entry.listing.name} from the shortlist")
    session.delete(entry)
    return True


def shortlist_of(
    session: Session, viewer: User, holder_id: int | None = None
) -> list[ShortlistEntry]:
    """A shortlist, newest first: the viewer's own, or a holder's they help."""
    holder = _holder_for(session, viewer, holder_id, (SEE, ACT))
    return list(
        session.scalars(
            select(ShortlistEntry)
            .where(ShortlistEntry.user_id == holder.id)
            .order_by(ShortlistEntry.created_at.desc(), ShortlistEntry.id.desc())
        )
    )


def shortlisted_ids(session: Session, user_id: int) -> set[int]:
    """The listing ids on one person's shortlist."""
    return set(
        session.scalars(select(ShortlistEntry.listing_id).where(ShortlistEntry.user_id == user_id))
    )


# --- Enquiries ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Notice:
    """An email to send after the commit. It says a message is waiting, never what it says."""

    to: str
    name: str
    enquiry_id: int
    listing_name: str


@dataclass(frozen=True)
class Posted:
    """A message was written: the thread, and whom to tell."""

    enquiry: Enquiry
    notices: tuple[Notice, ...] = field(default_factory=tuple)


def _check_text(value: str, field_name: str, missing: str, limit: int, what: str) -> str:
    value = value.strip()
    if not value:
        raise DomainError(missing, field=field_name)
    if len(value) > limit:
        raise DomainError(f"{what} must be {limit} characters or fewer", field=field_name)
    return value


def _allowed_any(
    session: Session, user: User, holder_id: int, scopes: tuple[CarerScope, ...]
) -> bool:
    for scope in scopes:
        try:
            carers.authorise(session, user, holder_id, scope)
        except NotAllowed:
            continue
        return True
    return False


def _sender_still_allowed(
    session: Session, user: User, enquiry: Enquiry, scopes: tuple[CarerScope, ...] = (SEE, ACT)
) -> bool:
    """A carer who wrote for a holder keeps access only while their grant lets them: to read
    the thread, "view" or "services"; to write in it or close it, "services"."""
    return _allowed_any(session, user, enquiry.holder_id, scopes)


def _may_act_in(session: Session, user: User, enquiry: Enquiry) -> bool:
    return user.id == enquiry.holder_id or _sender_still_allowed(session, user, enquiry, (ACT,))


def may_write(session: Session, user: User, enquiry: Enquiry) -> bool:
    """True if this person may reply in (or close) the thread."""
    side = side_of(session, user, enquiry)
    return side is Side.PROVIDER or (side is Side.HOLDER and _may_act_in(session, user, enquiry))


def side_of(session: Session, user: User, enquiry: Enquiry) -> Side | None:
    """Which side of the thread this person is on, or None if they may not see it."""
    if user.id == enquiry.holder_id:
        return Side.HOLDER
    if user.id == enquiry.sent_by_id and _sender_still_allowed(session, user, enquiry):
        return Side.HOLDER
    if organisations.is_staff(session, user, enquiry.listing.organisation):
        return Side.PROVIDER
    return None


def get_enquiry_for(session: Session, user: User, enquiry_id: int) -> Enquiry:
    """The thread, if this person is its holder, sender or provider staff; else NotAllowed."""
    enquiry = session.get(Enquiry, enquiry_id)
    if enquiry is None or side_of(session, user, enquiry) is None:
        raise NotAllowed("You cannot see this enquiry")
    return enquiry


def _notices(session: Session, enquiry: Enquiry, author: User, side: Side) -> tuple[Notice, ...]:
    """Who to tell about a new message: the other side of the thread."""
    if side is Side.HOLDER:
        people = staff_of(session, enquiry.listing.organisation)
    else:
        people = [enquiry.holder]
        sender = enquiry.sent_by
        if sender is not None and sender.id != enquiry.holder_id:
            if _sender_still_allowed(session, sender, enquiry):
                people.append(sender)
    return tuple(
        Notice(
            to=person.email,
            name=person.display_name,
            enquiry_id=enquiry.id,
            listing_name=enquiry.listing.name,
        )
        for person in people
        if person.id != author.id and person.erased_at is None
    )


def _add_message(enquiry: Enquiry, author: User, side: Side, body: str) -> EnquiryMessage:
    now = utcnow()
    message = EnquiryMessage(author=author, side=side.value, body=body, created_at=now)
    enquiry.messages.append(message)
    enquiry.last_message_at = now
    return message


def start_enquiry(
    session: Session,
    actor: User,
    listing: Listing,
    subject: str,
    body: str,
    for_holder_id: int | None = None,
) -> Posted:
    """Ask a provider about a published service; their staff are told by email (after commit)."""
    holder = _holder_for(session, actor, for_holder_id)
    _require_published(listing)
    subject = _check_text(subject, "subject", "Enter a subject", MAX_SUBJECT, "Subject")
    body = _check_text(body, "body", "Enter your message", MAX_MESSAGE, "Your message")
    if organisations.is_staff(session, holder, listing.organisation):
        raise DomainError("You work for this organisation, so you cannot send it an enquiry")
    limits.check_new_account_limit(session, actor)
    _record(session, actor, holder, f"Sent an enquiry about {listing.name}")
    enquiry = Enquiry(listing=listing, holder=holder, sent_by=actor, subject=subject)
    session.add(enquiry)
    _add_message(enquiry, actor, Side.HOLDER, body)
    session.flush()  # the emails link to the new thread by its id
    return Posted(enquiry, _notices(session, enquiry, actor, Side.HOLDER))


def reply(session: Session, actor: User, enquiry: Enquiry, body: str) -> Posted:
    """Write in a thread; the other side is told by email (after commit)."""
    side = side_of(session, actor, enquiry)
    if side is None or not may_write(session, actor, enquiry):
        raise NotAllowed("You cannot reply to this enquiry")
    if enquiry.is_closed:
        raise DomainError("This conversation has been closed. Start a new enquiry", field="body")
    body = _check_text(body, "body", "Enter your message", MAX_MESSAGE, "Your message")
    limits.check_new_account_limit(session, actor)
    if side is Side.HOLDER:
        _record(session, actor, enquiry.holder, f"Replied about {enquiry.listing.name}")
    _add_message(enquiry, actor, side, body)
    return Posted(enquiry, _notices(session, enquiry, actor, side))


def close_enquiry(session: Session, actor: User, enquiry: Enquiry) -> None:
    """Either side ends the conversation; nobody can write in it afterwards."""
    side = side_of(session, actor, enquiry)
    if side is None or not may_write(session, actor, enquiry):
        raise NotAllowed("You cannot close this enquiry")
    if enquiry.is_closed:
        return
    if side is Side.HOLDER:
        _record(session, actor, enquiry.holder, f"Closed the enquiry about {enquiry.listing.name}")
    enquiry.closed_at = utcnow()


@dataclass(frozen=True)
class EnquiryLists:
    """The threads someone can see: their own (as holder or carer), and their organisations'."""

    mine: list[Enquiry]
    for_my_organisations: list[Enquiry]


def enquiries_for(session: Session, user: User) -> EnquiryLists:
    """Every thread this person may see, latest activity first."""
    own = session.scalars(
        select(Enquiry)
        .where(or_(Enquiry.holder_id == user.id, Enquiry.sent_by_id == user.id))
        .order_by(Enquiry.last_message_at.desc(), Enquiry.id.desc())
    )
    staff = session.scalars(
        select(Enquiry)
        .join(Listing, Listing.id == Enquiry.listing_id)
        .join(Organisation, Organisation.id == Listing.organisation_id)
        .join(OrganisationStaff, OrganisationStaff.organisation_id == Organisation.id)
        .where(
            OrganisationStaff.user_id == user.id,
            OrganisationStaff.status == ApprovalStatus.APPROVED.value,
            Organisation.status == ApprovalStatus.APPROVED.value,
        )
        .order_by(Enquiry.last_message_at.desc(), Enquiry.id.desc())
    )
    return EnquiryLists(
        mine=[e for e in own if side_of(session, user, e) is Side.HOLDER],
        for_my_organisations=list(staff),
    )


def _threads_about(session: Session, user: User, listing_id: int) -> list[Enquiry]:
    """Threads about one service that this person is the holder or the sender of, newest
    first (a sender who is no longer the holder's carer is filtered out by side_of)."""
    return list(
        session.scalars(
            select(Enquiry)
            .where(
                Enquiry.listing_id == listing_id,
                or_(Enquiry.holder_id == user.id, Enquiry.sent_by_id == user.id),
            )
            .order_by(Enquiry.last_message_at.desc(), Enquiry.id.desc())
        )
    )


def _own(session: Session, user: User, threads: list[Enquiry]) -> list[Enquiry]:
    """Of these threads, those this person is on the holder's side of (as holder or carer)."""
    return [e for e in threads if side_of(session, user, e) is Side.HOLDER]


def enquiries_about(session: Session, user: User, listing_id: int) -> list[Enquiry]:
    """This person's own threads (as holder or carer) about one service."""
    return _own(session, user, _threads_about(session, user, listing_id))


def send_notices(notices: tuple[Notice, ...] | list[Notice]) -> None:
    """Email each notice with a link to the thread. Call after the commit, in an app context.

    A mail server that is down must not lose the message, which is already saved: log and go on.
    """
    for notice in notices:
        link = url_for("engagement.thread", enquiry_id=notice.enquiry_id, _external=True)
        body = (
            f"Hello {notice.name},\n\n"
            f"There is a new message about {notice.listing_name} on Budget Marketplace.\n\n"
            "To read it and reply, sign in and open:\n\n"
            f"{link}\n\n"
            "We do not put messages in emails, to keep them private.\n"
        )
        send_email_or_log(
            notice.to,
            # Never the service: a subject shows on a lock screen, and a service's name can say
            # what someone is living with. The body says, once the email is opened.
            "You have a new message on Budget Marketplace",
            body,
            about=f"the enquiry notice for {link}",
        )


# --- Reviews ------------------------------------------------------------------------------


@dataclass(frozen=True)
class RatingSummary:
    """The average of published ratings (None when there are none) and how many there are."""

    average: float | None
    count: int


def has_been_in_touch(session: Session, holder_id: int, listing_id: int) -> bool:
    """True if there is an enquiry thread for this holder with this service."""
    found = session.scalars(
        select(Enquiry.id).where(Enquiry.holder_id == holder_id, Enquiry.listing_id == listing_id)
    ).first()
    return found is not None


def review_by(session: Session, author_id: int, listing_id: int) -> Review | None:
    """This person's review of this service, whatever its state."""
    return session.scalars(
        select(Review).where(Review.author_id == author_id, Review.listing_id == listing_id)
    ).first()


def _check_review(rating: int, body: str) -> str:
    if rating not in RATINGS:
        raise DomainError("Choose a rating from 1 to 5", field="rating")
    return _check_text(body, "body", "Write your review", MAX_REVIEW, "Your review")


def _review_summary(review: Review) -> str:
    return f"{review.rating} out of 5 for {review.listing.name}: {review.body}"


def write_review(
    session: Session, author: User, listing: Listing, rating: int, body: str
) -> Review:
    """A holder who has been in touch with a service reviews it, once; it waits for a moderator."""
    _require_published(listing)
    body = _check_review(rating, body)
    if not has_been_in_touch(session, author.id, listing.id):
        raise NotAllowed("You can review services you have been in touch with")
    if review_by(session, author.id, listing.id) is not None:
        raise DomainError("You have already reviewed this service")
    review = Review(listing=listing, author=author, rating=rating, body=body)
    session.add(review)
    session.flush()  # the moderation queue entry names the review by its id
    moderation.submit(
        session,
        ITEM_REVIEW,
        review.id,
        _review_summary(review),
        author,
        listing_council_codes(listing),
    )
    return review


def revise_review(session: Session, author: User, review: Review, rating: int, body: str) -> None:
    """Change a review that is waiting or was sent back; it goes back to the moderators."""
    if review.author_id != author.id:
        raise NotAllowed("This is not your review")
    if review.is_published:
        raise DomainError("Your review is already published")
    review.body = _check_review(rating, body)
    review.rating = rating
    review.status = ReviewStatus.PENDING.value
    review.rejection_reason = None
    moderation.submit(
        session,
        ITEM_REVIEW,
        review.id,
        _review_summary(review),
        author,
        listing_council_codes(review.listing),
    )


def reply_to_review(session: Session, staff: User, review: Review, body: str) -> ReviewReply:
    """The provider answers a published review, once; the answer waits for a moderator."""
    if not organisations.is_staff(session, staff, review.listing.organisation):
        raise NotAllowed("Only the provider's staff can reply to this review")
    if not review.is_published:
        raise DomainError("You can reply once the review is published")
    if review.reply is not None:
        raise DomainError("You have already replied to this review")
    body = _check_text(body, "body", "Write your reply", MAX_REPLY, "Your reply")
    answer = ReviewReply(review=review, author_id=staff.id, body=body)
    session.add(answer)
    session.flush()  # the moderation queue entry names the reply by its id
    moderation.submit(
        session,
        ITEM_REVIEW_REPLY,
        answer.id,
        f"Reply from {review.listing.organisation.name}: {body}",
        staff,
        listing_council_codes(review.listing),
    )
    return answer


def revise_reply(session: Session, staff: User, answer: ReviewReply, body: str) -> None:
    """Change a reply that is waiting or was sent back; it goes back to the moderators."""
    listing = answer.review.listing
    if not organisations.is_staff(session, staff, listing.organisation):
        raise NotAllowed("Only the provider's staff can change this reply")
    if answer.is_published:
        raise DomainError("Your reply is already published")
    answer.body = _check_text(body, "body", "Write your reply", MAX_REPLY, "Your reply")
    answer.status = ReviewStatus.PENDING.value
    answer.rejection_reason = None
    answer.author_id = staff.id
    moderation.submit(
        session,
        ITEM_REVIEW_REPLY,
        answer.id,
        f"Reply from {listing.organisation.name}: {answer.body}",
        staff,
        listing_council_codes(listing),
    )


def _decide(target: Review | ReviewReply | None, decision: Decision, reason: str) -> None:
    if target is None:
        raise DomainError("This has been withdrawn")
    if decision is Decision.APPROVE:
        target.status = ReviewStatus.PUBLISHED.value
        target.published_at = utcnow()
        target.rejection_reason = None
    else:
        target.status = ReviewStatus.REJECTED.value
        target.rejection_reason = reason


def _decide_review(session: Session, item: ModerationItem, decision: Decision, reason: str) -> None:
    _decide(session.get(Review, item.item_id), decision, reason)


def _decide_reply(session: Session, item: ModerationItem, decision: Decision, reason: str) -> None:
    _decide(session.get(ReviewReply, item.item_id), decision, reason)


def moderation_subject(session: Session, item: ModerationItem) -> dict[str, Any]:
    """What a moderator needs to see to decide a review or reply (for the moderation item page)."""
    if item.item_type == ITEM_REVIEW:
        return {"review": session.get(Review, item.item_id)}
    if item.item_type == ITEM_REVIEW_REPLY:
        answer = session.get(ReviewReply, item.item_id)
        return {"review": answer.review if answer else None, "review_reply": answer}
    return {}


# Approved by a moderator and not hidden since. _shown() is the same test for a loaded row.
_SHOWN = and_(Review.status == ReviewStatus.PUBLISHED.value, Review.hidden_at.is_(None))


def _shown(review: Review) -> bool:
    return review.status == ReviewStatus.PUBLISHED.value and review.hidden_at is None


def _reviews_of(listing_id: int) -> Select[Review]:
    """A service's reviews, newest first (published_at is empty until published: those last)."""
    return (
        select(Review)
        .where(Review.listing_id == listing_id)
        .order_by(Review.published_at.desc().nulls_last(), Review.id.desc())
    )


def _rating_of(published: list[Review]) -> RatingSummary:
    count = len(published)
    return RatingSummary(sum(r.rating for r in published) / count if count else None, count)


def published_reviews(session: Session, listing_id: int) -> list[Review]:
    """Reviews a moderator has approved, newest first."""
    return list(session.scalars(_reviews_of(listing_id).where(_SHOWN)))


def rating_summary(session: Session, listing_id: int) -> RatingSummary:
    """Average rating and count, from published reviews only."""
    return _rating_of(published_reviews(session, listing_id))


# --- What the service page shows -----------------------------------------------------------


@dataclass(frozen=True)
class HelpedShortlist:
    """A holder this carer helps, and whether the service is on their shortlist."""

    holder: User
    shortlisted: bool


@dataclass(frozen=True)
class ServicePanel:
    """Everything the service page shows about shortlists, enquiries and reviews."""

    rating: RatingSummary
    reviews: list[Review]
    signed_in: bool = False
    shortlisted: bool = False
    helped: list[HelpedShortlist] = field(default_factory=list)
    enquiries: list[Enquiry] = field(default_factory=list)
    in_touch: bool = False
    my_review: Review | None = None
    is_staff: bool = False
    staff_replies: list[ReviewReply] = field(default_factory=list)


def service_panel(session: Session, user: User | None, listing: Listing) -> ServicePanel:
    """The shortlist state, enquiries and reviews of one service, as this person may see them.

    The service page is the one most asked for, so this reads each table once: the published
    reviews together with the person's own (whatever its state), the rating from those, the
    shortlist entries of the person and everyone they help in one query, and their threads
    (which also say whether they have been in touch)."""
    if user is None:
        reviews = published_reviews(session, listing.id)
        return ServicePanel(rating=_rating_of(reviews), reviews=reviews)
    mine_or_shown = or_(_SHOWN, Review.author_id == user.id)
    read = list(session.scalars(_reviews_of(listing.id).where(mine_or_shown)))
    reviews = [r for r in read if _shown(r)]
    is_staff = organisations.is_staff(session, user, listing.organisation)
    helped = people_i_help(session, user)
    shortlisted = set(
        session.scalars(
            select(ShortlistEntry.user_id).where(
                ShortlistEntry.listing_id == listing.id,
                ShortlistEntry.user_id.in_([user.id, *(h.id for h in helped)]),
            )
        )
    )
    threads = _threads_about(session, user, listing.id)
    return ServicePanel(
        rating=_rating_of(reviews),
        reviews=reviews,
        signed_in=True,
        shortlisted=user.id in shortlisted,
        helped=[HelpedShortlist(h, h.id in shortlisted) for h in helped],
        enquiries=_own(session, user, threads),
        in_touch=any(e.holder_id == user.id for e in threads),
        my_review=next((r for r in read if r.author_id == user.id), None),
        is_staff=is_staff,
        staff_replies=[r.reply for r in reviews if r.reply is not None] if is_staff else [],
    )


# --- Your data ----------------------------------------------------------------------------


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _export(session: Session, user: User) -> dict[str, Any]:
    """Shortlist, enquiry threads (whole threads for your own; your own messages in others'),
    and the reviews and replies you wrote."""
    shortlist = session.scalars(select(ShortlistEntry).where(ShortlistEntry.user_id == user.id))
    own = enquiries_for(session, user).mine
    own_ids = {e.id for e in own}
    written_elsewhere = session.scalars(
        select(EnquiryMessage)
        .where(EnquiryMessage.author_id == user.id, EnquiryMessage.enquiry_id.not_in(own_ids))
        .order_by(EnquiryMessage.id)
    )
    reviews = session.scalars(select(Review).where(Review.author_id == user.id))
    replies = session.scalars(select(ReviewReply).where(ReviewReply.author_id == user.id))

    def message(m: EnquiryMessage) -> dict[str, Any]:
        return {
            "from": "you"
            if m.author_id == user.id
            else (m.author.display_name if m.author else None),
            "side": m.side,
            "body": m.body,
            "sent_at": _iso(m.created_at),
        }

    return {
        "shortlist": [
            {"service": e.listing.name, "service_id": e.listing_id, "added_at": _iso(e.created_at)}
            for e in shortlist
        ],
        "enquiries": [
            {
                "service": e.listing.name,
                "subject": e.subject,
                "for_you": e.holder_id == user.id,
                "created_at": _iso(e.created_at),
                "closed_at": _iso(e.closed_at),
                "messages": [message(m) for m in e.messages],
            }
            for e in own
        ],
        "messages_written_for_your_organisations": [
            {"service": m.enquiry.listing.name, "body": m.body, "sent_at": _iso(m.created_at)}
            for m in written_elsewhere
        ],
        "reviews": [
            {
                "service": r.listing.name,
                "rating": r.rating,
                "body": r.body,
                "status": r.status,
                "rejection_reason": r.rejection_reason,
                "created_at": _iso(r.created_at),
            }
            for r in reviews
        ],
        "review_replies": [
            {
                "service": a.review.listing.name,
                "body": a.body,
                "status": a.status,
                "created_at": _iso(a.created_at),
            }
            for a in replies
        ],
    }


NAME_REMOVED = "[name removed]"


def _without_name(text: str, names: list[str]) -> str:
    for name in names:
        text = re.sub(rf"(?<!\w){re.escape(name)}(?!\w)", NAME_REMOVED, text, flags=re.IGNORECASE)
    return text


def _names_of(user: User) -> list[str]:
    """The person's display name, then its first word (providers write "Thanks Sam")."""
    full = (user.display_name or "").strip()
    names = [full] if full else []
    first = full.split()[0] if full else ""
    if first and first != full and len(first) >= 3:
        names.append(first)
    return names


def _remove_contributions(session: Session, user: User) -> None:
    """Delete every review the person wrote (with its reply) and their enquiry threads and
    messages, when they choose that on deleting their account."""
    for review in session.scalars(select(Review).where(Review.author_id == user.id)):
        moderation.withdraw(session, ITEM_REVIEW, review.id)
        if review.reply is not None:
            moderation.withdraw(session, ITEM_REVIEW_REPLY, review.reply.id)
        session.delete(review)
    for enquiry in session.scalars(select(Enquiry).where(Enquiry.holder_id == user.id)):
        session.delete(enquiry)
    session.execute(delete(EnquiryMessage).where(EnquiryMessage.author_id == user.id))
    session.flush()


def _erase(session: Session, user: User) -> None:
    """Delete the shortlist and unpublished reviews; close the person's open threads; take the
    person's name out of what providers wrote back to them.

    Published reviews and messages the person did not choose to delete stay: the account row
    is anonymised, so they show "Former member", and providers' replies no longer name them.
    """
    names = _names_of(user)
    if names:
        for reply in session.scalars(
            select(ReviewReply).join(Review).where(Review.author_id == user.id)
        ):
            reply.body = _without_name(reply.body, names)
        for message in session.scalars(
            select(EnquiryMessage)
            .join(Enquiry)
            .where(Enquiry.holder_id == user.id, EnquiryMessage.side == Side.PROVIDER.value)
        ):
            message.body = _without_name(message.body, names)
    session.execute(delete(ShortlistEntry).where(ShortlistEntry.user_id == user.id))
    unpublished = session.scalars(
        select(Review).where(
            Review.author_id == user.id, Review.status != ReviewStatus.PUBLISHED.value
        )
    )
    for review in unpublished:
        moderation.withdraw(session, ITEM_REVIEW, review.id)
        session.delete(review)
    now = utcnow()
    for enquiry in session.scalars(
        select(Enquiry).where(Enquiry.holder_id == user.id, Enquiry.closed_at.is_(None))
    ):
        enquiry.closed_at = now


def register_privacy() -> None:
    """Add this package's part of "Your data": what it exports and what erasure removes."""
    privacy.register_exporter("shortlists_enquiries_reviews", _export)
    privacy.register_eraser(_erase)
    privacy.register_contribution_remover(_remove_contributions)
