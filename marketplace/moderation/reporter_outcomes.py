"""Telling people who reported something what happened to their report.

The reporter learns what was done to the thing they reported, in general words: never the
moderator's note (it may say things about the other person) and never the detail of a warning
or suspension, which is between the moderator and the person sanctioned.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from marketplace.auth.models import User
from marketplace.moderation import reports
from marketplace.moderation.models import Decision, ModerationItem, QueueState, Report

OUTCOME_WORDS = {
    Decision.APPROVE.value: "A moderator looked at it and found that it does not break our rules, "
    "so it stays",
    Decision.REJECT.value: "A moderator agreed that something was wrong and has dealt with it",
    Decision.HIDE.value: "A moderator agreed, and it is now hidden from other people",
    Decision.REMOVE.value: "A moderator agreed, and it has been removed",
    Decision.ASK_EDIT.value: "A moderator agreed, and the person who posted it has been asked "
    "to change it",
    Decision.WARN.value: "A moderator agreed, and has acted on it with the person who wrote it",
    Decision.SUSPEND.value: "A moderator agreed, and has acted on it with the person who wrote it",
    Decision.SILENCE.value: "A moderator agreed, and has acted on it with the person who wrote it",
}
WAITING = "Waiting for a moderator"


@dataclass(frozen=True)
class ReporterNotice:
    """An email for one reporter, to send after the commit."""

    to: str
    subject: str
    body: str


def reporters_waiting(session: Session, item: ModerationItem) -> list[User]:
    """Everyone with an open report about the same thing as this report item (call before
    the decision closes them)."""
    if item.item_type != reports.ITEM_REPORT:
        return []
    report = session.get(Report, item.item_id)
    if report is None:
        return []
    waiting = reports.open_reports(session, report.subject_type, report.subject_id) or [report]
    people = {r.reporter_id for r in waiting if r.reporter_id is not None}
    return [
        person
        for person in (session.get(User, person_id) for person_id in sorted(people))
        if person is not None and person.erased_at is None
    ]


def notices_for(
    session: Session, item: ModerationItem, reporters: list[User]
) -> list[ReporterNotice]:
    """Emails telling each reporter the outcome of the decision just made on `item`."""
    if item.decision not in OUTCOME_WORDS:
        return []
    report = session.get(Report, item.item_id)
    title = _title(session, report) if report else "something you reported"
    outcome = OUTCOME_WORDS[item.decision]
    return [
        ReporterNotice(
            person.email,
            "What happened to your report",
            f"Hello {person.display_name},\n\n"
            f"Thank you for reporting {title}. {outcome}.\n\n"
            "You can see your reports and what happened to them on the site, under "
            '"Your reports".\n\n'
            "If you are finding things hard right now, Samaritans are free on 116 123, any time.\n",
        )
        for person in reporters
    ]


def _title(session: Session, report: Report) -> str:
    subject = reports.subject_for_moderator(session, report.subject_type, report.subject_id)
    return subject.title if subject else "something that has since been removed"


@dataclass(frozen=True)
class ReportSummary:
    """One of a person's own reports, as their "Your reports" page shows it."""

    title: str
    reason: str
    made_at: datetime
    outcome: str
    decided_at: datetime | None


def reports_of(session: Session, user: User) -> list[ReportSummary]:
    """A person's reports, newest first, with what happened to each."""
    rows = session.execute(
        select(Report, ModerationItem)
        .join(
            ModerationItem,
            (ModerationItem.item_type == reports.ITEM_REPORT)
            & (ModerationItem.item_id == Report.id),
            isouter=True,
        )
        .where(Report.reporter_id == user.id)
        .order_by(Report.created_at.desc(), Report.id.desc())
    ).all()
    summaries = []
    for report, item in rows:
        decided = item is not None and item.state == QueueState.DECIDED.value
        summaries.append(
            ReportSummary(
                title=_title(session, report),
                reason=reports.REASON_LABELS.get(report.reason, report.reason),
                made_at=report.created_at,
                outcome=OUTCOME_WORDS.get(item.decision or "", "Closed")
                if decided and item is not None
                else WAITING,
                decided_at=item.decided_at if decided and item is not None else None,
            )
        )
    return summaries
