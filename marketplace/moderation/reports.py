""" "Report this": reports about listings, reviews, pools, messages and organisations.

A report goes into the one moderation queue (kind "report") with the council areas of the
thing reported; a safeguarding or illegal-content reason makes the queue item urgent. One open
report per person per thing. When three different people have reported something and no
moderator has acted on their reports for 12 hours, it is hidden until a moderator reviews it
(one or two reports never hide anything: a lone flag must not be a weapon), and its owner is
told it is under review.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from marketplace import audit
from marketplace.auth.models import User
from marketplace.db import as_utc, utcnow
from marketplace.email import send_email_or_log
from marketplace.errors import DomainError, NotAllowed
from marketplace.moderation import services as moderation
from marketplace.moderation.models import (
    Decision,
    ModerationItem,
    QueueState,
    Report,
    ReportReason,
)
from marketplace.privacy import services as privacy

ITEM_REPORT = "report"
MAX_DETAILS = 2000
AUTO_HIDE_REPORTERS = 3
AUTO_HIDE_AFTER = timedelta(hours=12)


Reason = ReportReason


REASON_LABELS = {
    Reason.SPAM.value: "Spam or advertising",
    Reason.ABUSE.value: "Rude or abusive",
    Reason.FALSE.value: "False or misleading",
    Reason.PRIVACY.value: "Shares someone's personal details",
    Reason.OTHER.value: "Something else",
    Reason.ILLEGAL.value: "Illegal content (for example selling drugs, fraud, threats or hate)",
    Reason.RISK_TO_PERSON.value: "Safeguarding: someone may be at risk of harm",
    Reason.RISK_FROM_OTHER.value: "Safeguarding: someone is at risk from another person",
    Reason.MONEY_MISUSE.value: "Safeguarding: money is being misused",
}
# Which reasons make a report urgent is decided in one place: moderation.URGENT_REASONS.


# What can be reported (listings, reviews, pools, messages, help requests, organisations)
# is registered by each feature with moderation.register_subject.
Subject = moderation.Subject


def load_subject(
    session: Session, user: User | None, subject_type: str, subject_id: int
) -> Subject:
    """The thing, if this person can see it (and so report it); NotAllowed otherwise.

    With user None (a moderator's view) visibility is not checked.
    """
    return moderation.load_subject(session, user, subject_type, subject_id)


def subject_for_moderator(session: Session, subject_type: str, subject_id: int) -> Subject | None:
    """The thing as a moderator sees it (hidden or not), or None if it no longer exists."""
    try:
        return load_subject(session, None, subject_type, subject_id)
    except NotAllowed:
        return None


def open_reports(session: Session, subject_type: str, subject_id: int) -> list[Report]:
    """Reports about one thing that no moderator has decided yet, oldest first."""
    return list(
        session.scalars(
            select(Report)
            .where(
                Report.subject_type == subject_type,
                Report.subject_id == subject_id,
                Report.closed_at.is_(None),
            )
            .order_by(Report.created_at, Report.id)
        )
    )


@dataclass(frozen=True)
class UnderReview:
    """An email to send after the commit: something of yours is hidden while it is reviewed."""

    to: str
    name: str
    what: str


def submit_report(
    session: Session,
    reporter: User,
    subject_type: str,
    subject_id: int,
    reason: str,
    details: str,
    now: datetime | None = None,
) -> tuple[Report, list[UnderReview]]:
    """Report something: a queue item in its areas (urgent for safeguarding or illegal
    content, moderation.is_urgent), never shown to staff of the organisation it is about.
    Checks auto-hide."""
    now = now or utcnow()
    if reason not in REASON_LABELS:
        raise DomainError("Choose why you are reporting this", field="reason")
    details = (details or "").strip()
    if len(details) > MAX_DETAILS:
        raise DomainError(f"Tell us in {MAX_DETAILS:,} characters or fewer", field="details")
    if reason == Reason.OTHER.value and not details:
        raise DomainError("Tell us what is wrong", field="details")
    subject = load_subject(session, reporter, subject_type, subject_id)
    already = [
        r for r in open_reports(session, subject.type, subject.id) if r.reporter_id == reporter.id
    ]
    if already:
        raise DomainError(
            "You have already reported this. A moderator will look at your report",
            field="reason",
        )
    report = Report(
        reporter_id=reporter.id,
        subject_type=subject.type,
        subject_id=subject.id,
        reason=reason,
        details=details,
        created_at=now,
    )
    session.add(report)
    session.flush()  # the queue item names the report
    moderation.submit(
        session,
        ITEM_REPORT,
        report.id,
        f"Report ({REASON_LABELS[reason]}): {subject.title}",
        reporter,
        subject.areas,
        reason=reason,
        conflict_orgs=subject.organisations,
        now=now,
    )
    notices = []
    hideable = subject.type in moderation.hideable_subjects()
    if hideable and _auto_hide_due(session, subject.type, subject.id, now):
        notices = _hide(session, subject.type, subject.id, now)
    return report, notices


# --- auto-hide ------------------------------------------------------------------------------


def _report_items(session: Session, reports: list[Report]) -> list[ModerationItem]:
    if not reports:
        return []
    return list(
        session.scalars(
            select(ModerationItem).where(
                ModerationItem.item_type == ITEM_REPORT,
                ModerationItem.item_id.in_([r.id for r in reports]),
            )
        )
    )


def _auto_hide_due(session: Session, subject_type: str, subject_id: int, now: datetime) -> bool:
    """Three different people reported it, the first 12+ hours ago, and no moderator has
    claimed or decided any of those reports."""
    reports = open_reports(session, subject_type, subject_id)
    if any(r.auto_hidden_at is not None for r in reports):
        return False
    reporters = {r.reporter_id for r in reports if r.reporter_id is not None}
    if len(reporters) < AUTO_HIDE_REPORTERS:
        return False
    if as_utc(now) - as_utc(reports[0].created_at) < AUTO_HIDE_AFTER:
        return False
    items = _report_items(session, reports)
    return not any(
        item.claimed_by_id is not None or item.state == QueueState.DECIDED.value for item in items
    )


def _owners(session: Session, subject_type: str, subject_id: int) -> tuple[list[User], str]:
    """Who wrote the thing (to tell them) and how to name it to them; nobody if its kind
    has no writer or it no longer exists."""
    kind = moderation.subject_kind(subject_type)
    if kind is None or kind.owners is None:
        return [], ""
    obj = kind.load(session, subject_id)
    return kind.owners(session, obj) if obj is not None else ([], "")


def _set_hidden(
    session: Session, subject_type: str, subject_id: int, hidden_at: datetime | None
) -> bool:
    """Hide (or show again) the thing itself; False if there was nothing to change."""
    kind = moderation.subject_kind(subject_type)
    if kind is None or kind.set_hidden is None:
        return False
    obj = kind.load(session, subject_id)
    return obj is not None and kind.set_hidden(session, obj, hidden_at)


def _hide(session: Session, subject_type: str, subject_id: int, now: datetime) -> list[UnderReview]:
    reports = open_reports(session, subject_type, subject_id)
    for report in reports:
        report.auto_hidden_at = now
    if not _set_hidden(session, subject_type, subject_id, now):
        return []
    audit.record(
        session,
        None,
        "report.auto_hidden",
        subject_type,
        subject_id,
        f"reported by {AUTO_HIDE_REPORTERS} or more people; no moderator acted for 12 hours",
    )
    owners, what = _owners(session, subject_type, subject_id)
    return [
        UnderReview(owner.email, owner.display_name, what)
        for owner in owners
        if owner.erased_at is None
    ]


def hide_after_reports(session: Session, now: datetime | None = None) -> list[UnderReview]:
    """Hide everything reported by three people that no moderator has acted on for 12 hours
    (the `flask moderation hide-reported` job). Returns the emails to send after the commit."""
    now = now or utcnow()
    subjects = session.execute(
        select(Report.subject_type, Report.subject_id)
        .where(
            Report.closed_at.is_(None),
            Report.auto_hidden_at.is_(None),
            Report.subject_type.in_(sorted(moderation.hideable_subjects())),
            Report.created_at <= now - AUTO_HIDE_AFTER,
        )
        .distinct()
    ).all()
    notices: list[UnderReview] = []
    for subject_type, subject_id in subjects:
        if _auto_hide_due(session, subject_type, subject_id, now):
            notices.extend(_hide(session, subject_type, subject_id, now))
    return notices


def send_under_review(notices: list[UnderReview]) -> None:
    """Tell owners their content is hidden while a moderator looks at it. Call after commit."""
    for notice in notices:
        body = (
            f"Hello {notice.name},\n\n"
            f"Several people have reported {notice.what}. It is hidden from other people "
            'while a moderator reviews it. You can still see it, marked "under review".\n\n'
            "You do not need to do anything now.\n"
        )
        send_email_or_log(
            notice.to, "Something you posted is under review", body, about="an under-review notice"
        )


# --- the moderator's decision ---------------------------------------------------------------


def _decide_report(session: Session, item: ModerationItem, decision: Decision, reason: str) -> None:
    """Close every open report about the same thing; "nothing wrong" shows it again if
    reports had hidden it."""
    report = session.get(Report, item.item_id)
    if report is None:
        raise DomainError("This report no longer exists")
    now = utcnow()
    reports = open_reports(session, report.subject_type, report.subject_id) or [report]
    was_auto_hidden = any(r.auto_hidden_at is not None for r in reports)
    for other in reports:
        other.closed_at = now
    for other_item in _report_items(session, reports):
        if other_item.id != item.id and other_item.state == QueueState.OPEN.value:
            other_item.state = QueueState.DECIDED.value
            other_item.decision = decision.value
            other_item.reason = reason or None
            other_item.decided_at = now
    if decision is Decision.APPROVE and was_auto_hidden:
        _set_hidden(session, report.subject_type, report.subject_id, None)


def report_for_item(session: Session, item: ModerationItem) -> dict[str, object]:
    """Template values for the moderation item page (empty for other kinds)."""
    if item.item_type != ITEM_REPORT:
        return {}
    report = session.get(Report, item.item_id)
    if report is None:
        return {}
    return {
        "report": report,
        "report_subject": subject_for_moderator(session, report.subject_type, report.subject_id),
        "report_reason": REASON_LABELS.get(report.reason, report.reason),
        "report_count": len(open_reports(session, report.subject_type, report.subject_id)),
        # The other open reports about the same thing: one decision closes them all.
        "other_reports": [
            (REASON_LABELS.get(r.reason, r.reason), r.details)
            for r in open_reports(session, report.subject_type, report.subject_id)
            if r.id != report.id
        ],
    }


def _same_subject(session: Session, item: ModerationItem) -> tuple[object, ...] | None:
    report = session.get(Report, item.item_id)
    return ("report", report.subject_type, report.subject_id) if report else None


def reasons_of(session: Session, items: tuple[ModerationItem, ...]) -> list[str]:
    """The different reasons given in a group of reports, in plain words."""
    found: list[str] = []
    for item in items:
        report = session.get(Report, item.item_id) if item.item_type == ITEM_REPORT else None
        label = REASON_LABELS.get(report.reason, report.reason) if report else None
        if label and label not in found:
            found.append(label)
    return found


def register() -> None:
    """Teach the queue about reports (moderation's init_app)."""
    moderation.register_group_key(ITEM_REPORT, _same_subject)
    moderation.register_kind(
        ITEM_REPORT,
        "Report",
        _decide_report,
        approve_label="Nothing wrong: close the report (and show it again if reports hid it)",
        reject_label="Report upheld: close it with a note (it stays as it is)",
        view=report_for_item,
    )


# --- data-protection rights -----------------------------------------------------------------


def _export(session: Session, user: User) -> list[dict[str, Any]]:
    """The reports this person made, in their own words."""
    return [
        {
            "about": r.subject_type,
            "reason": REASON_LABELS.get(r.reason, r.reason),
            "details": r.details,
            "made_at": r.created_at.isoformat(),
            "closed_at": r.closed_at.isoformat() if r.closed_at else None,
        }
        for r in session.scalars(
            select(Report).where(Report.reporter_id == user.id).order_by(Report.id)
        )
    ]


def _erase(session: Session, user: User) -> None:
    """Unlink the person from their reports; the report itself stays for the moderators."""
    for report in session.scalars(select(Report).where(Report.reporter_id == user.id)):
        report.reporter_id = None


def register_privacy() -> None:
    """Add reports to "Your data": what they export and what erasure removes."""
    privacy.register_exporter("reports", _export)
    privacy.register_eraser(_erase)
