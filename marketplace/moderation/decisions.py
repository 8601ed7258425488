"""Decisions beyond approve and reject: hide, ask for an edit, warn, suspend, remove.

They are made on a report (the thing reported and the person who wrote it). Each one is a
`Sanction`: audited, told to the person by email with a link to appeal, and appealable once.
An appeal is a queue item (kind "appeal") that the deciding moderator may not handle; if it
is overturned the effect is reversed (shown again, suspension lifted, listing restored).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import current_app, url_for
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import select
from sqlalchemy.orm import Session

from marketplace import audit
from marketplace.auth.models import User
from marketplace.auth.services import end_all_sessions
from marketplace.db import as_utc, utcnow
from marketplace.email import send_email_or_log
from marketplace.errors import DomainError, NotAllowed
from marketplace.moderation import reporter_outcomes, reports
from marketplace.moderation import services as moderation
from marketplace.moderation.models import Appeal, Decision, ModerationItem, Report, Sanction
from marketplace.privacy import services as privacy

ITEM_APPEAL = "appeal"
MAX_APPEAL = 2000
MIN_DAYS, MAX_DAYS = 1, 90
APPEAL_LINK = "{appeal link}"
ACTIONS = frozenset(
    {
        Decision.HIDE,
        Decision.ASK_EDIT,
        Decision.WARN,
        Decision.SILENCE,
        Decision.SUSPEND,
        Decision.REMOVE,
    }
)
CONTENT_ACTIONS = frozenset({Decision.HIDE, Decision.ASK_EDIT, Decision.REMOVE})
# Actions on the person who wrote it: one of them can go with a content decision.
PERSON_ACTIONS = frozenset({Decision.WARN, Decision.SILENCE, Decision.SUSPEND})
# Actions that last some days.
TIMED_ACTIONS = frozenset({Decision.SILENCE, Decision.SUSPEND})

ACTION_WORDS = {
    Decision.HIDE.value: "hidden from other people",
    Decision.ASK_EDIT.value: "sent back to you to change",
    Decision.WARN.value: "a warning",
    Decision.SUSPEND.value: "your account suspended for a while",
    Decision.SILENCE.value: "your account made read-only for a while (you can sign in, read and "
    "leave conversations, but not post)",
    Decision.REMOVE.value: "removed for good",
}


def _report_actions(session: Session, item: ModerationItem) -> list[tuple[Decision, str]]:
    report = session.get(Report, item.item_id)
    kind = moderation.subject_kind(report.subject_type) if report else None
    if report is None or kind is None:
        return []
    actions: list[tuple[Decision, str]] = []
    if kind.hideable:
        actions += [
            (Decision.HIDE, "Hide it (the owner can appeal)"),
            (Decision.ASK_EDIT, "Ask the owner to change it"),
            (Decision.REMOVE, "Remove it for good"),
        ]
    if kind.warn_writer and _owners(session, report.subject_type, report.subject_id)[0]:
        actions += [
            (Decision.WARN, "Warn the person who wrote it"),
            (Decision.SILENCE, SILENCE_LABEL),
            (Decision.SUSPEND, "Suspend the person who wrote it for some days"),
        ]
    return actions


SILENCE_LABEL = "Silence the person who wrote it for some days (they can read, not post)"


def person_actions_for(session: Session, item: ModerationItem) -> list[tuple[Decision, str]]:
    """What can also happen to the person who wrote it, beside a decision on the thing."""
    return [(d, label) for d, label in moderation.actions_for(session, item) if d in PERSON_ACTIONS]


@dataclass(frozen=True)
class Author:
    """The person who wrote a reported thing, and what moderators decided about them before."""

    user: User
    sanctions: list[Sanction]
    reports_about: int


def author_of(session: Session, item: ModerationItem) -> Author | None:
    """Who wrote the thing a report item is about (when it has one writer who can be
    sanctioned), with their earlier sanctions, newest first, and how many reports there have
    been about things they were sanctioned for."""
    if item.item_type != reports.ITEM_REPORT:
        return None
    report = session.get(Report, item.item_id)
    kind = moderation.subject_kind(report.subject_type) if report else None
    if report is None or kind is None or not kind.warn_writer:
        return None
    owners, _ = _owners(session, report.subject_type, report.subject_id)
    if not owners:
        return None
    person = owners[0]
    earlier = list(
        session.scalars(
            select(Sanction)
            .where(Sanction.user_id == person.id)
            .order_by(Sanction.created_at.desc(), Sanction.id.desc())
        )
    )
    subjects = {(s.subject_type, s.subject_id) for s in earlier}
    reported = sum(
        len(
            session.scalars(
                select(Report.id).where(Report.subject_type == t, Report.subject_id == i)
            ).all()
        )
        for t, i in subjects
    )
    return Author(person, earlier, reported)


def _owners(session: Session, subject_type: str, subject_id: int) -> tuple[list[User], str]:
    owners, what = reports._owners(session, subject_type, subject_id)  # noqa: SLF001
    return [o for o in owners if o.erased_at is None], what


def _set_content(session: Session, sanction: Sanction, reason: str, restore: bool) -> None:
    """Apply a hide / ask-to-edit / remove decision to the thing, or undo it on appeal."""
    kind = moderation.subject_kind(sanction.subject_type)
    if kind is None:
        return
    if kind.apply_sanction is not None:
        obj = kind.load(session, sanction.subject_id)
        if obj is not None:
            kind.apply_sanction(session, obj, Decision(sanction.action), reason, restore)
        return
    reports._set_hidden(  # noqa: SLF001
        session, sanction.subject_type, sanction.subject_id, None if restore else utcnow()
    )


@dataclass(frozen=True)
class Notice:
    """An email to send after the commit."""

    to: str
    subject: str
    body: str
    # The decision the person can appeal: the link is added when the email is sent.
    sanction_id: int | None = None


def decide(
    session: Session,
    moderator: User,
    item: ModerationItem,
    decision: Decision,
    reason: str,
    days: int | None = None,
    also: Decision | None = None,
    also_reason: str = "",
) -> list[Notice]:
    """Any decision on a queue item. New actions make Sanctions; returns emails to send.

    also: an action on the person who wrote it (warn, silence, suspend) made together with
    the decision on the thing (remove it and suspend its writer), with its own reason; each
    is its own sanction, told and appealable on its own.
    """
    if also is not None:
        if also not in {d for d, _ in person_actions_for(session, item)}:
            raise DomainError("Choose one of the actions offered", field="also")
        if decision in PERSON_ACTIONS:
            raise DomainError(
                "You have already chosen what happens to the person: choose it once",
                field="also",
            )
        if not (also_reason or "").strip():
            raise DomainError("Say why, so the person understands", field="also_reason")
    if (decision in TIMED_ACTIONS or also in TIMED_ACTIONS) and (
        days is None or not MIN_DAYS <= days <= MAX_DAYS
    ):
        raise DomainError(f"Enter a number of days from {MIN_DAYS} to {MAX_DAYS}", field="days")
    reporters = reporter_outcomes.reporters_waiting(session, item)
    moderation.decide(session, moderator, item, decision, reason)
    notices = _sanction(session, moderator, item, decision, reason, days)
    if also is not None:
        notices += _sanction(session, moderator, item, also, also_reason, days)
        audit.record(
            session,
            moderator.id,
            f"moderation.{also.value}",
            item.item_type,
            item.item_id,
            also_reason.strip(),
        )
    return notices + [
        Notice(n.to, n.subject, n.body)
        for n in reporter_outcomes.notices_for(session, item, reporters)
    ]


def _sanction(
    session: Session,
    moderator: User,
    item: ModerationItem,
    decision: Decision,
    reason: str,
    days: int | None,
) -> list[Notice]:
    if decision not in ACTIONS:
        return []
    report = session.get(Report, item.item_id)
    assert report is not None  # noqa: S101 - the report handler checked it
    owners, what = _owners(session, report.subject_type, report.subject_id)
    until = utcnow() + timedelta(days=days or 0) if decision in TIMED_ACTIONS else None
    if not owners:
        return []
    # One decision, one sanction, one appeal: for a listing it names the first of its
    # provider's staff; every member of staff is told.
    person = owners[0]
    sanction = Sanction(
        queue_item_id=item.id,
        action=decision.value,
        subject_type=report.subject_type,
        subject_id=report.subject_id,
        user_id=person.id,
        moderator_id=moderator.id,
        reason=reason.strip(),
        until=until,
    )
    session.add(sanction)
    session.flush()
    if decision in CONTENT_ACTIONS:
        _set_content(session, sanction, reason.strip(), restore=False)
    if decision is Decision.SUSPEND:
        # A second suspension never shortens one already running.
        person.suspended_until = _latest(person.suspended_until, until)
        end_all_sessions(person)
    if decision is Decision.SILENCE:
        person.silenced_until = _latest(person.silenced_until, until)
    audit.record(
        session,
        moderator.id,
        f"sanction.{decision.value}",
        report.subject_type,
        report.subject_id,
        f"sanction {sanction.id} for user {person.id}: {reason.strip()}",
    )
    notices = [
        _decision_notice(owner, sanction, what, appealable=owner is person) for owner in owners
    ]
    return notices


def _latest(current: datetime | None, new: datetime | None) -> datetime | None:
    known = [as_utc(value) for value in (current, new) if value is not None]
    return max(known) if known else None


def _remaining_suspension(session: Session, person: User, overturned: Sanction) -> datetime | None:
    """When the person's other suspensions (or silences, for a silence) that were not
    overturned end; None if they have none left."""
    until: datetime | None = None
    for other in session.scalars(
        select(Sanction).where(
            Sanction.user_id == person.id,
            Sanction.action == overturned.action,
            Sanction.overturned_at.is_(None),
            Sanction.id != overturned.id,
        )
    ):
        until = _latest(until, other.until)
    if until is not None and until <= utcnow():
        return None
    return until


def _decision_notice(owner: User, sanction: Sanction, what: str, appealable: bool) -> Notice:
    outcome = ACTION_WORDS[sanction.action]
    about = what if sanction.action in {a.value for a in CONTENT_ACTIONS} else "something you wrote"
    lines = [
        f"Hello {owner.display_name},",
        "",
        f"A moderator has looked at {about}. The decision is: {outcome}.",
        "",
        f"Why: {sanction.reason}",
    ]
    if sanction.until is not None and sanction.action == Decision.SILENCE.value:
        lines += ["", f"You can post again from {sanction.until:%d %B %Y at %H:%M} UTC."]
    elif sanction.until is not None:
        lines += ["", f"You can sign in again from {sanction.until:%d %B %Y at %H:%M} UTC."]
    if appealable:
        lines += [
            "",
            "If you think this is wrong, you can ask a different moderator to look again, once:",
            APPEAL_LINK,
        ]
    else:
        lines += ["", "A colleague of yours has been sent a link to appeal, once, if you wish."]
    lines += [
        "",
        "If you are finding things hard right now, Samaritans are free on 116 123, any time.",
    ]
    return Notice(
        owner.email,
        "A moderator's decision about your account",
        "\n".join(lines),
        sanction.id if appealable else None,
    )


def send(notices: list[Notice]) -> None:
    """Send decision and appeal emails. Call after the commit."""
    for notice in notices:
        body = notice.body
        if notice.sanction_id is not None:
            link = url_for(
                "moderation.appeal",
                sanction_id=notice.sanction_id,
                t=appeal_token(notice.sanction_id),
                _external=True,
            )
            body = body.replace(APPEAL_LINK, link)
        send_email_or_log(notice.to, notice.subject, body, about="a moderation decision email")


# --- appeals --------------------------------------------------------------------------------

# The emailed link works without signing in (a suspended person cannot sign in) for this long.
APPEAL_LINK_MAX_AGE = timedelta(days=60)


def _signer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="moderation-appeal")


def appeal_token(sanction_id: int) -> str:
    """A signed token naming one sanction, for the link in the decision email."""
    return _signer().dumps(sanction_id)


def sanction_from_token(session: Session, sanction_id: int, token: str) -> Sanction:
    """The sanction the emailed link names, or NotAllowed (wrong, altered or too old)."""
    try:
        named = _signer().loads(token, max_age=int(APPEAL_LINK_MAX_AGE.total_seconds()))
    except BadSignature:
        raise NotAllowed("No such decision") from None
    sanction = session.get(Sanction, sanction_id)
    if named != sanction_id or sanction is None or sanction.user_id is None:
        raise NotAllowed("No such decision")
    return sanction


def sanction_for(session: Session, user: User, sanction_id: int) -> Sanction:
    """A sanction about this person, or NotAllowed."""
    sanction = session.get(Sanction, sanction_id)
    if sanction is None or sanction.user_id != user.id:
        raise NotAllowed("No such decision")
    return sanction


def appeal_of(session: Session, sanction: Sanction) -> Appeal | None:
    return session.scalar(select(Appeal).where(Appeal.sanction_id == sanction.id))


def appeal(session: Session, user: User, sanction: Sanction, text: str) -> Appeal:
    """The person's one appeal: a queue item for a different moderator."""
    if sanction.user_id != user.id:
        raise NotAllowed("No such decision")
    if appeal_of(session, sanction) is not None:
        raise DomainError("You have already appealed this decision", field="text")
    text = (text or "").strip()
    if not text:
        raise DomainError("Tell us why the decision should change", field="text")
    if len(text) > MAX_APPEAL:
        raise DomainError(f"Tell us in {MAX_APPEAL:,} characters or fewer", field="text")
    row = Appeal(sanction_id=sanction.id, user_id=user.id, text=text)
    session.add(row)
    session.flush()
    original = (
        session.get(ModerationItem, sanction.queue_item_id) if sanction.queue_item_id else None
    )
    moderation.submit(
        session,
        ITEM_APPEAL,
        row.id,
        f"Appeal against: {ACTION_WORDS[sanction.action]}",
        user,
        original.councils if original else [],
        conflict_orgs=original.conflict_orgs if original else (),
    )
    audit.record(session, user.id, "appeal.made", "sanction", sanction.id, f"appeal {row.id}")
    return row


MODERATOR_WORDS = {
    Decision.HIDE.value: "Hidden from other people",
    Decision.ASK_EDIT.value: "Sent back to the owner to change",
    Decision.WARN.value: "A warning",
    Decision.SUSPEND.value: "Account suspended",
    Decision.SILENCE.value: "Made read-only (silenced)",
    Decision.REMOVE.value: "Removed for good",
}


def appealed_decision(session: Session, sanction: Sanction) -> dict[str, object]:
    """The decision under appeal in words a second moderator can judge: what was done, and
    the thing it was about (its text, even if hidden, because they must see it to decide)."""
    subject = reports.subject_for_moderator(session, sanction.subject_type, sanction.subject_id)
    return {
        "action": MODERATOR_WORDS.get(sanction.action, sanction.action),
        "subject_title": subject.title if subject else "something that no longer exists",
        "subject_text": subject.text if subject else "",
        "subject": subject,  # so the page can audit reading it, if it is private
    }


def _appeal_sanction(session: Session, item: ModerationItem) -> Sanction:
    row = session.get(Appeal, item.item_id)
    sanction = session.get(Sanction, row.sanction_id) if row else None
    if row is None or sanction is None:
        raise DomainError("This appeal no longer exists")
    return sanction


def _excluded(session: Session, item: ModerationItem) -> set[int]:
    try:
        sanction = _appeal_sanction(session, item)
    except DomainError:
        return set()
    return {sanction.moderator_id} if sanction.moderator_id else set()


def _decide_appeal(session: Session, item: ModerationItem, decision: Decision, reason: str) -> None:
    sanction = _appeal_sanction(session, item)
    row = session.get(Appeal, item.item_id)
    assert row is not None  # noqa: S101 - checked above
    row.outcome = decision.value
    if decision is not Decision.OVERTURN:
        return
    sanction.overturned_at = utcnow()
    if sanction.action in {a.value for a in CONTENT_ACTIONS}:
        _set_content(session, sanction, "", restore=True)
    if sanction.action == Decision.SUSPEND.value and sanction.user_id:
        person = session.get(User, sanction.user_id)
        if person is not None:
            person.suspended_until = _remaining_suspension(session, person, sanction)
    if sanction.action == Decision.SILENCE.value and sanction.user_id:
        person = session.get(User, sanction.user_id)
        if person is not None:
            person.silenced_until = _remaining_suspension(session, person, sanction)
    # The moderator who decided the appeal (services.decide sets it before this runs).
    audit.record(
        session, item.decided_by_id, "sanction.overturned", "sanction", sanction.id, reason
    )


def _appeal_actions(session: Session, item: ModerationItem) -> list[tuple[Decision, str]]:
    return [
        (Decision.UPHOLD, "Uphold the decision"),
        (Decision.OVERTURN, "Overturn it and undo its effect"),
    ]


def appeal_outcome_notice(session: Session, item: ModerationItem) -> list[Notice]:
    """Tell the person how their appeal went (after a decision on an appeal item)."""
    if item.item_type != ITEM_APPEAL or item.decision is None:
        return []
    row = session.get(Appeal, item.item_id)
    person = session.get(User, row.user_id) if row and row.user_id else None
    if person is None or person.erased_at is not None:
        return []
    outcome = (
        "changed the decision and undone it"
        if item.decision == Decision.OVERTURN.value
        else "kept the decision"
    )
    body = (
        f"Hello {person.display_name},\n\nA different moderator looked at your appeal and "
        f"{outcome}.\n\nWhy: {item.reason or ''}\n"
    )
    return [Notice(person.email, "Your appeal has been looked at", body)]


def register() -> None:
    """Teach the queue about appeals, and give reports their decisions (after
    reports.register)."""
    moderation.register_kind(ITEM_APPEAL, "Appeal", _decide_appeal)
    moderation.extend_kind(ITEM_APPEAL, _appeal_actions, _excluded, approve_reject=False)
    moderation.extend_kind(reports.ITEM_REPORT, _report_actions)


# --- data-protection rights -----------------------------------------------------------------


def _export(session: Session, user: User) -> list[dict[str, Any]]:
    """Decisions about this person, and their appeals, in their own words."""
    rows = []
    for sanction in session.scalars(
        select(Sanction).where(Sanction.user_id == user.id).order_by(Sanction.id)
    ):
        appealed = appeal_of(session, sanction)
        rows.append(
            {
                "decision": ACTION_WORDS.get(sanction.action, sanction.action),
                "reason": sanction.reason,
                "until": sanction.until.isoformat() if sanction.until else None,
                "made_at": sanction.created_at.isoformat(),
                "overturned_at": (
                    sanction.overturned_at.isoformat() if sanction.overturned_at else None
                ),
                "appeal": appealed.text if appealed else None,
                "appeal_outcome": appealed.outcome if appealed else None,
            }
        )
    return rows


def _erase(session: Session, user: User) -> None:
    """Remove the person's words from their appeals and unlink them; the decisions stay
    (with no person) for accountability."""
    for row in session.scalars(select(Appeal).where(Appeal.user_id == user.id)):
        row.text = "(erased)"
        row.user_id = None
    for sanction in session.scalars(select(Sanction).where(Sanction.user_id == user.id)):
        sanction.user_id = None


def register_privacy() -> None:
    """Add decisions about the person to "Your data", and to erasure."""
    privacy.register_exporter("moderation_decisions", _export)
    privacy.register_eraser(_erase)
