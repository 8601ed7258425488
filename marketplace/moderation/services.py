"""The moderation queue: submit, list by area, claim, decide. Every decision is audited.

Each kind of item registers a handler that applies the decision to the item itself
(a listing is published or rejected, a review is shown, ...), so the queue stays general.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from marketplace import audit
from marketplace.auth.models import Role, User
from marketplace.db import as_utc, utcnow
from marketplace.errors import DomainError, NotAllowed
from marketplace.moderation.models import Decision, ModerationItem, QueueState
from marketplace.organisations.models import (
    ApprovalStatus,
    Organisation,
    OrganisationKind,
    OrganisationStaff,
)

# Urgent (safeguarding) items still waiting after this long are highlighted.
URGENT_WITHIN = timedelta(hours=24)

DecisionHandler = Callable[[Session, ModerationItem, Decision, str], None]
# Extra decisions for a particular item (hide, warn, ...) beyond approve and reject.
ActionsFor = Callable[[Session, ModerationItem], list[tuple[Decision, str]]]
# Who may not handle a particular item (an appeal: the moderator who made the decision).
ExcludedFor = Callable[[Session, ModerationItem], set[int]]


@dataclass(frozen=True)
class ItemKind:
    """How one kind of item is described and decided."""

    label: str
    apply: DecisionHandler
    approve_label: str = "Approve and publish"
    reject_label: str = "Send back with a reason"
    extra_actions: ActionsFor | None = None
    excluded: ExcludedFor | None = None
    # False for kinds whose two outcomes are not approve/reject (appeals).
    approve_reject: bool = True


_kinds: dict[str, ItemKind] = {}


def register_kind(
    item_type: str,
    label: str,
    apply: DecisionHandler,
    approve_label: str = "Approve and publish",
    reject_label: str = "Send back with a reason",
) -> None:
    """Teach the queue about a kind of item (called once per kind at import time).

    The labels are the moderator's two choices: "publish" fits a listing, not a concern.
    """
    _kinds[item_type] = ItemKind(label, apply, approve_label, reject_label)


def extend_kind(
    item_type: str,
    extra_actions: ActionsFor | None = None,
    excluded: ExcludedFor | None = None,
    approve_reject: bool = True,
) -> None:
    """Give a registered kind more decisions, or moderators who may not handle its items."""
    kind = _kinds[item_type]
    _kinds[item_type] = ItemKind(
        kind.label,
        kind.apply,
        kind.approve_label,
        kind.reject_label,
        extra_actions,
        excluded,
        approve_reject,
    )


def actions_for(session: Session, item: ModerationItem) -> list[tuple[Decision, str]]:
    """The decisions that make sense for this item, with the moderator's wording."""
    kind = _kinds.get(item.item_type)
    if kind is None:
        return []
    actions = (
        [(Decision.APPROVE, kind.approve_label), (Decision.REJECT, kind.reject_label)]
        if kind.approve_reject
        else []
    )
    if kind.extra_actions is not None:
        actions.extend(kind.extra_actions(session, item))
    return actions


def may_handle(session: Session, moderator: User, item: ModerationItem) -> bool:
    """In the moderator's areas, and not someone excluded from this item."""
    if not can_moderate(session, moderator, item):
        return False
    kind = _kinds.get(item.item_type)
    return kind is None or kind.excluded is None or moderator.id not in kind.excluded(session, item)


def decision_labels(item_type: str) -> tuple[str, str]:
    """The approve and reject wording for this kind of item."""
    kind = _kinds.get(item_type)
    if kind is None:
        return ("Approve and publish", "Send back with a reason")
    return (kind.approve_label, kind.reject_label)


def kind_label(item_type: str) -> str:
    """The plain-English name of a kind of item."""
    kind = _kinds.get(item_type)
    return kind.label if kind else item_type


def submit(
    session: Session,
    item_type: str,
    item_id: int,
    summary: str,
    submitted_by: User | None,
    council_codes: Iterable[str],
) -> ModerationItem:
    """Put an item in the queue, replacing any earlier open entry for the same item."""
    if item_type not in _kinds:
        raise ValueError(f"unknown moderation item type {item_type!r}")
    for earlier in open_entries_for(session, item_type, item_id):
        earlier.state = QueueState.WITHDRAWN.value
    item = ModerationItem(
        item_type=item_type,
        item_id=item_id,
        summary=summary[:255],
        council_codes=",".join(sorted(set(council_codes))),
        submitted_by_id=submitted_by.id if submitted_by else None,
    )
    session.add(item)
    session.flush()  # the audit entry names the queue item
    audit.record(
        session,
        submitted_by.id if submitted_by else None,
        "moderation.submitted",
        item_type,
        item_id,
        f"queue item {item.id}",
    )
    return item


def open_entries_for(session: Session, item_type: str, item_id: int) -> list[ModerationItem]:
    """Open queue entries for one item (normally zero or one)."""
    return list(
        session.scalars(
            select(ModerationItem).where(
                ModerationItem.item_type == item_type,
                ModerationItem.item_id == item_id,
                ModerationItem.state == QueueState.OPEN.value,
            )
        )
    )


def withdraw(session: Session, item_type: str, item_id: int) -> None:
    """Take an item out of the queue (its owner withdrew or changed it)."""
    for entry in open_entries_for(session, item_type, item_id):
        entry.state = QueueState.WITHDRAWN.value


def moderated_council_codes(session: Session, user: User) -> set[str] | None:
    """Council codes this person moderates; None means every area (admins)."""
    if user.has_role(Role.ADMIN):
        return None
    if not user.has_role(Role.ULO_STAFF):
        return set()
    orgs = session.scalars(
        select(Organisation)
        .join(OrganisationStaff, OrganisationStaff.organisation_id == Organisation.id)
        .where(
            OrganisationStaff.user_id == user.id,
            OrganisationStaff.status == ApprovalStatus.APPROVED.value,
            Organisation.kind == OrganisationKind.ULO.value,
            Organisation.status == ApprovalStatus.APPROVED.value,
        )
    )
    return {council.code for org in orgs for council in org.councils}


def can_moderate(session: Session, user: User, item: ModerationItem) -> bool:
    """Admins moderate everything; ULO staff moderate items in the areas their ULO covers."""
    areas = moderated_council_codes(session, user)
    if areas is None:
        return True
    return bool(areas.intersection(item.councils))


def queue_for(session: Session, user: User) -> list[ModerationItem]:
    """Open items this person may moderate: urgent (safeguarding) first, then oldest first."""
    items = session.scalars(
        select(ModerationItem)
        .where(ModerationItem.state == QueueState.OPEN.value)
        .order_by(ModerationItem.urgent.desc(), ModerationItem.submitted_at, ModerationItem.id)
    )
    areas = moderated_council_codes(session, user)
    return [i for i in items if areas is None or areas.intersection(i.councils)]


def is_overdue(item: ModerationItem, now: datetime | None = None) -> bool:
    """An urgent item waiting more than a day: highlighted on the queue."""
    return item.urgent and as_utc(now or utcnow()) - as_utc(item.submitted_at) > URGENT_WITHIN


def get_for_moderator(session: Session, user: User, item_id: int) -> ModerationItem:
    """A queue item this person may see, or NotAllowed."""
    item = session.get(ModerationItem, item_id)
    if item is None or not can_moderate(session, user, item):
        raise NotAllowed("You cannot moderate this item")
    return item


def claim(session: Session, moderator: User, item: ModerationItem) -> None:
    """Mark an item as being handled by this moderator, so nobody handles it twice.

    One conditional UPDATE (... WHERE claimed_by_id IS NULL): of two moderators claiming at
    once, exactly one succeeds, even in separate transactions.
    """
    if not may_handle(session, moderator, item):
        raise NotAllowed("You cannot moderate this item")
    result = session.execute(
        update(ModerationItem)
        .where(
            ModerationItem.id == item.id,
            ModerationItem.state == QueueState.OPEN.value,
            or_(
                ModerationItem.claimed_by_id.is_(None),
                ModerationItem.claimed_by_id == moderator.id,
            ),
        )
        .values(claimed_by_id=moderator.id)
        .execution_options(synchronize_session=False)
    )
    session.refresh(item)
    if result.rowcount != 1:  # type: ignore[attr-defined]
        if item.state != QueueState.OPEN.value:
            raise DomainError("This item has already been dealt with")
        raise DomainError("Another moderator is already dealing with this")
    audit.record(session, moderator.id, "moderation.claimed", item.item_type, item.item_id)


def decide(
    session: Session, moderator: User, item: ModerationItem, decision: Decision, reason: str
) -> None:
    """Decide an item; the item's own handler applies it. Audited."""
    if not may_handle(session, moderator, item):
        raise NotAllowed("You cannot moderate this item")
    if decision not in {d for d, _ in actions_for(session, item)}:
        raise DomainError("Choose one of the decisions offered", field="decision")
    if item.state != QueueState.OPEN.value:
        raise DomainError("This item has already been dealt with")
    if item.claimed_by_id not in (None, moderator.id):
        raise DomainError("Another moderator is already dealing with this")
    reason = reason.strip()
    if decision is not Decision.APPROVE and not reason:
        raise DomainError("Say why, so the person can put it right", field="reason")
    _kinds[item.item_type].apply(session, item, decision, reason)
    item.state = QueueState.DECIDED.value
    item.decision = decision.value
    item.reason = reason or None
    item.decided_by_id = moderator.id
    item.decided_at = utcnow()
    audit.record(
        session,
        moderator.id,
        f"moderation.{decision.value}",
        item.item_type,
        item.item_id,
        reason,
    )
