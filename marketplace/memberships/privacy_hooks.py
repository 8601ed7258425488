"""Memberships in "Your data": the export, and what erasure does.

Erasure (chosen so that every total stays right):
- live memberships end; a running fee subscription is cancelled at Stripe at once (a failure to
  reach Stripe is logged, not fatal: reconciliation shows it). Membership rows stay, pointing at
  the anonymised user row, because fee income in the payments ledger is matched through them.
- time logs the person GAVE that were confirmed stay (the ULO's hours and the time ledger still
  add up) but lose the giver, the membership link and the free-text description; their
  unconfirmed logs are deleted (they never counted).
- time logs the person RECEIVED stay with the recipient unlinked (and the description cleared).
- their time-ledger accounts keep their entries (so the ledger still sums to zero) but lose the
  user link and get a key that no longer names the user.
- help requests they made: those not done are deleted; done ones stay (the hours hang on them)
  with the requester unlinked and the text replaced. Their offers are unlinked or deleted.
- clearances are deleted; forgiven-month rows name staff only and stay.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from marketplace.auth.models import User
from marketplace.db import utcnow
from marketplace.jobs.services import enqueue
from marketplace.memberships.jobs import STOP_SUBSCRIPTION
from marketplace.memberships.models import (
    Clearance,
    HelpMessage,
    HelpOffer,
    HelpRequest,
    HelpRequestStatus,
    LogStatus,
    Membership,
    MembershipStatus,
    OfferStatus,
    TimeAccount,
    TimeLog,
)
from marketplace.privacy import services as privacy

log = logging.getLogger(__name__)

ERASED_TEXT = "[removed when the person deleted their account]"


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def export(session: Session, user: User) -> dict[str, Any]:
    """Everything memberships hold about this person."""
    memberships = session.scalars(
        select(Membership).where(Membership.user_id == user.id).order_by(Membership.id)
    )
    logs = session.scalars(
        select(TimeLog)
        .where(or_(TimeLog.giver_id == user.id, TimeLog.recipient_id == user.id))
        .order_by(TimeLog.id)
    )
    requests = session.scalars(
        select(HelpRequest).where(HelpRequest.requester_id == user.id).order_by(HelpRequest.id)
    )
    offers = session.scalars(
        select(HelpOffer).where(HelpOffer.user_id == user.id).order_by(HelpOffer.id)
    )
    clearances = session.scalars(
        select(Clearance).where(Clearance.user_id == user.id).order_by(Clearance.id)
    )
    # Only what they wrote: the other person's messages are that person's data.
    messages = session.scalars(
        select(HelpMessage).where(HelpMessage.sender_id == user.id).order_by(HelpMessage.id)
    )
    return {
        "memberships": [
            {
                "organisation": m.organisation.name,
                "basis": m.basis,
                "status": m.status,
                "commitment_minutes": m.commitment_minutes,
                "switching_to": m.pending_basis,
                "switching_from": _iso(m.pending_from),
                "joined_at": _iso(m.joined_at),
                "ended_at": _iso(m.ended_at),
                "pauses": [
                    {"starts_on": _iso(p.starts_on), "ends_on": _iso(p.ends_on)} for p in m.pauses
                ],
                "subscriptions": [
                    {
                        "fee_pence": s.fee_pence,
                        "started_at": _iso(s.created_at),
                        "ended_at": _iso(s.ended_at),
                        "fee_paused_since": _iso(s.collection_paused_at),
                    }
                    for s in m.subscriptions
                ],
            }
            for m in memberships
        ],
        "time": [
            {
                "role": "given" if t.giver_id == user.id else "received",
                "kind": t.kind,
                "given_on": _iso(t.given_on),
                "minutes": t.minutes,
                "description": t.description,
                "status": t.status,
            }
            for t in logs
        ],
        "help_requests": [
            {
                "what": r.what,
                "needed_on": _iso(r.needed_on),
                "kind": r.kind,
                "place": r.place,
                "status": r.status,
            }
            for r in requests
        ],
        "help_offers": [{"request": o.help_request_id, "status": o.status} for o in offers],
        "clearances": [
            {"kind": c.kind, "cleared_at": _iso(c.cleared_at), "revoked_at": _iso(c.revoked_at)}
            for c in clearances
        ],
        "help_messages": [
            {"request": m.help_request_id, "sent_at": _iso(m.created_at), "body": m.body}
            for m in messages
        ],
    }


def erase(session: Session, user: User) -> None:
    """Unlink this person from membership records, keeping every total right (module doc)."""
    now = utcnow()
    for membership in session.scalars(
        select(Membership).where(
            Membership.user_id == user.id, Membership.status != MembershipStatus.ENDED.value
        )
    ):
        for record in membership.subscriptions:
            if record.ended_at is None:
                # Stripe is told by a job once the erasure is committed, never inside it;
                # the job is retried until Stripe has it.
                enqueue(
                    session,
                    STOP_SUBSCRIPTION,
                    {"subscription": record.stripe_subscription_id},
                    dedupe_key=f"stop-subscription:{record.stripe_subscription_id}",
                )
                record.ended_at = now
        membership.status = MembershipStatus.ENDED.value
        membership.live = None
        membership.ended_at = now
        membership.pending_basis = membership.pending_from = None
        for pause in membership.pauses:
            if pause.ends_on is None:
                pause.ends_on = max(now.date(), pause.starts_on)
    mine = select(Membership.id).where(Membership.user_id == user.id)
    session.execute(
        delete(TimeLog)
        .where(TimeLog.giver_id == user.id, TimeLog.status != LogStatus.CONFIRMED.value)
        .execution_options(synchronize_session=False)
    )
    session.execute(
        update(TimeLog)
        .where(or_(TimeLog.giver_id == user.id, TimeLog.membership_id.in_(mine)))
        .values(giver_id=None, membership_id=None, description="")
        .execution_options(synchronize_session=False)
    )
    session.execute(
        update(TimeLog)
        .where(TimeLog.recipient_id == user.id)
        .values(recipient_id=None, description="")
        .execution_options(synchronize_session=False)
    )
    session.execute(
        update(TimeLog)
        .where(TimeLog.decided_by_id == user.id)
        .values(decided_by_id=None)
        .execution_options(synchronize_session=False)
    )
    for account in session.scalars(select(TimeAccount).where(TimeAccount.user_id == user.id)):
        account.user_id = None
        account.key = f"org:{account.organisation_id}:{account.kind}:erased:{account.id}"
    for request in session.scalars(select(HelpRequest).where(HelpRequest.requester_id == user.id)):
        if request.status == HelpRequestStatus.DONE.value:
            request.requester_id = None
            request.what = ERASED_TEXT
            request.place = None
        else:
            session.delete(request)
    session.execute(
        delete(HelpOffer)
        .where(HelpOffer.user_id == user.id, HelpOffer.status != OfferStatus.ACCEPTED.value)
        .execution_options(synchronize_session=False)
    )
    session.execute(
        update(HelpOffer)
        .where(HelpOffer.user_id == user.id)
        .values(user_id=None)
        .execution_options(synchronize_session=False)
    )
    session.execute(delete(Clearance).where(Clearance.user_id == user.id))
    # What they wrote in help request threads goes; the other person's side stays theirs.
    session.execute(
        delete(HelpMessage)
        .where(HelpMessage.sender_id == user.id)
        .execution_options(synchronize_session=False)
    )
    session.flush()


def register_privacy() -> None:
    """Add this package's part of "Your data": what it exports and what erasure removes."""
    privacy.register_exporter("memberships", export)
    privacy.register_eraser(erase)
