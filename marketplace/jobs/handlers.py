"""The built-in job kinds: the periodic jobs that used to be cron commands, emails, search.

Each handler is the same code path as its CLI command (`flask pools charge-due`,
`flask memberships run-jobs`, `flask buddies resume-due`), so both stay usable.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import current_app
from sqlalchemy.orm import Session

from marketplace.jobs.registry import handler

log = logging.getLogger(__name__)


# pools.charge_due and pools.fund are registered by the pools package (marketplace/pools/jobs.py).


@handler("memberships.run_jobs", commits=True)
def memberships_run_jobs(session: Session, _payload: dict[str, Any]) -> None:
    """Basis switches, finished pauses, lapses and payment reminders. It commits after each new
    Stripe subscription (so it runs leased); every step is safe to run again."""
    from marketplace.memberships import services

    report = services.run_jobs(session)
    log.info("memberships.run_jobs: %s", report)


@handler("buddies.resume_due")
def buddies_resume_due(session: Session, _payload: dict[str, Any]) -> None:
    """Resume buddy pairings whose pause has run out."""
    from marketplace.buddies import conversations

    count = conversations.resume_due(session)
    log.info("buddies.resume_due: resumed %s", count)


@handler("wellbeing.end_due_breaks")
def wellbeing_end_due_breaks(session: Session, _payload: dict[str, Any]) -> None:
    """End timed breaks whose end has come, resuming what each paused."""
    from marketplace.wellbeing import breaks

    count = breaks.end_due_breaks(session)
    log.info("wellbeing.end_due_breaks: ended %s", count)


@handler("email.send")
def send_email(_session: Session, payload: dict[str, Any]) -> None:
    """Deliver one queued email: {to, subject, body}. SMTP is not transactional: if the commit
    after a successful send fails, the email is sent again on the retry (at least once)."""
    from marketplace.email import deliver

    deliver(str(payload["to"]), str(payload["subject"]), str(payload["body"]))


@handler("notifications.send_digests", commits=True)
def notifications_send_digests(session: Session, _payload: dict[str, Any]) -> None:
    """The weekly digest: one email per person with emails kept for them. It commits after each
    person (so it runs leased); a person is sent their digest at least once."""
    from marketplace.notifications import digest

    log.info("notifications.send_digests: sent %s", digest.send_digests(session))


@handler("notifications.send_digest", commits=True)
def notifications_send_digest(session: Session, payload: dict[str, Any]) -> None:
    """One person's kept emails, now: {user_id, after_break} (enqueued when a break ends)."""
    from marketplace.notifications import digest

    digest.send_digest(session, int(payload["user_id"]), bool(payload.get("after_break")))


@handler("search.index_listings")
def index_listings(session: Session, payload: dict[str, Any]) -> None:
    """Bring these listings' search documents in line with the database: {ids: [...]}. Indexing
    is idempotent, so a retried run does no harm. The index is this worker's SEARCH_INDEX_DIR:
    queue index updates only where workers share the index the web servers read."""
    from marketplace.providers.indexing import EXTENSION_KEY, sync_listings

    index = current_app.extensions[EXTENSION_KEY]
    sync_listings(index, session.connection(), [int(i) for i in payload.get("ids", [])])
