"""The moderation queue: submit, list by area, claim, decide. Every decision is audited.

Each kind of item registers a handler that applies the decision to the item itself
(a listing is published or rejected, a review is shown, ...), so the queue stays general.
Each kind of thing people can report registers a subject (register_subject): how to load
it, name it, find its areas, hide it and find who wrote it. Features register both from
their own moderation_subject.py, so moderation never imports a feature.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from marketplace import audit
from marketplace.auth.models import Role, User
from marketplace.db import as_utc, utcnow
from marketplace.errors import DomainError, NotAllowed
from marketplace.moderation.models import Decision, ModerationItem, QueueState

# Urgent (safeguarding) items still waiting after this long are highlighted.
URGENT_WITHIN = timedelta(hours=24)

DecisionHandler = Callable[[Session, ModerationItem, Decision, str], None]
# Extra decisions for a particular item (hide, warn, ...) beyond approve and reject.
ActionsFor = Callable[[Session, ModerationItem], list[tuple[Decision, str]]]
# Who may not handle a particular item (an appeal: the moderator who made the decision).
ExcludedFor = Callable[[Session, ModerationItem], set[int]]
# Template values for the moderator's page about one queue item ({"listing": ...}).
ItemView = Callable[[Session, ModerationItem], dict[str, object]]


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
    view: ItemView | None = None
    # The item page shows private content (a concern about a pairing): each viewing is audited.
    private: bool = False


_kinds: dict[str, ItemKind] = {}


def register_kind(
    item_type: str,
    label: str,
    apply: DecisionHandler,
    approve_label: str = "Approve and publish",
    reject_label: str = "Send back with a reason",
    view: ItemView | None = None,
    private: bool = False,
) -> None:
    """Teach the queue about a kind of item (registering again replaces it).

    The labels are the moderator's two choices: "publish" fits a listing, not a concern.
    view gives the moderator's item page what it shows to decide; private says that what it
    shows is private, so every viewing is audited (record_viewing).
    """
    earlier = _kinds.get(item_type)
    _kinds[item_type] = ItemKind(
        label,
        apply,
        approve_label,
        reject_label,
        # Kept when a feature's init_app registers again for another app.
        earlier.extra_actions if earlier else None,
        earlier.excluded if earlier else None,
        earlier.approve_reject if earlier else True,
        view,
        private,
    )


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
        kind.view,
        kind.private,
    )


def item_view(session: Session, item: ModerationItem) -> dict[str, object]:
    """What the moderator's page shows about this item, from its kind (empty if none)."""
    kind = _kinds.get(item.item_type)
    if kind is None or kind.view is None:
        return {}
    return kind.view(session, item)


# --- subjects: things people can report -----------------------------------------------------


@dataclass(frozen=True)
class Subject:
    """The thing reported, as the report form and the moderator see it."""

    type: str
    id: int
    title: str  # "the service Calm Walks", for the reporter
    text: str  # what a moderator reads: the message or review itself
    areas: frozenset[str]
    back_endpoint: str
    back_args: tuple[tuple[str, int], ...]
    # Private to the people in it (a buddy message): a moderator reading it is audited.
    private: bool = False


# The feature's own object (a Listing, a PoolMessage, ...): moderation never looks inside.
Loader = Callable[[Session, int], Any]
Describe = Callable[[Session, Any], str]
Areas = Callable[[Session, Any], Iterable[str]]
# The page to go back to after reporting: an endpoint and its arguments.
Page = Callable[[Session, Any], tuple[str, dict[str, int]]]
# May this person see it, and so report it? (Not their own message, not a draft, ...)
Visible = Callable[[Session, User, Any], bool]
# Hide it (a moment) or show it again (None); False if there was nothing to change.
SetHidden = Callable[[Session, Any, datetime | None], bool]
# Who wrote it (to tell them, warn or suspend them) and how to name it to them.
Owners = Callable[[Session, Any], tuple[list[User], str]]
# A hide / ask-to-edit / remove decision applied (restore=True: undone on appeal).
ApplySanction = Callable[[Session, Any, Decision, str, bool], None]


@dataclass(frozen=True)
class SubjectKind:
    """What moderation needs to know about one kind of reportable thing."""

    load: Loader
    title: Describe
    text: Describe
    areas: Areas
    page: Page
    visible_to: Visible
    set_hidden: SetHidden | None = None
    owners: Owners | None = None
    warn_writer: bool = True
    apply_sanction: ApplySanction | None = None
    private: bool = False

    @property
    def hideable(self) -> bool:
        return self.set_hidden is not None


_subjects: dict[str, SubjectKind] = {}


def register_subject(
    kind: str,
    *,
    load: Loader,
    title: Describe,
    text: Describe,
    areas: Areas,
    page: Page,
    visible_to: Visible,
    set_hidden: SetHidden | None = None,
    owners: Owners | None = None,
    warn_writer: bool = True,
    apply_sanction: ApplySanction | None = None,
    decide: DecisionHandler | None = None,
    label: str | None = None,
    approve_label: str = "Approve and publish",
    reject_label: str = "Send back with a reason",
    view: ItemView | None = None,
    private: bool = False,
) -> None:
    """Teach moderation about a kind of thing people can report (registering again
    replaces it, so a feature's register() may run once per app).

    private: it is meant only for the people in a conversation, so every time a moderator
    is shown it the viewing is audited (record_viewing).

    set_hidden makes it hideable (by three reporters, or a moderator's decision); owners
    names who wrote it, who can then be warned or suspended unless warn_writer is False
    (a listing: its provider's staff are told, not sanctioned). apply_sanction replaces
    set_hidden for a moderator's hide / ask-to-edit / remove decision.
    With decide (and label), the same kind is also a kind of queue item: see register_kind.
    """
    _subjects[kind] = SubjectKind(
        load,
        title,
        text,
        areas,
        page,
        visible_to,
        set_hidden,
        owners,
        warn_writer,
        apply_sanction,
        private,
    )
    if decide is not None:
        register_kind(kind, label or kind, decide, approve_label, reject_label, view)


def subject_kind(kind: str) -> SubjectKind | None:
    """The registered kind of reportable thing, or None."""
    return _subjects.get(kind)


def hideable_subjects() -> frozenset[str]:
    """Kinds of thing that reports or a moderator can hide."""
    return frozenset(name for name, kind in _subjects.items() if kind.hideable)


def load_subject(session: Session, user: User | None, kind: str, subject_id: int) -> Subject:
    """The thing, if this person can see it (and so report it); NotAllowed otherwise.

    With user None (a moderator's view) visibility is not checked.
    """
    registered = _subjects.get(kind)
    if registered is None:
        raise NotAllowed("Nothing to report")
    obj = registered.load(session, subject_id)
    if obj is None or (user is not None and not registered.visible_to(session, user, obj)):
        raise NotAllowed("Nothing to report")
    endpoint, args = registered.page(session, obj)
    return Subject(
        kind,
        subject_id,
        registered.title(session, obj),
        registered.text(session, obj),
        frozenset(registered.areas(session, obj)),
        endpoint,
        tuple(args.items()),
        registered.private,
    )


def record_viewing(
    session: Session, viewer: User, item: ModerationItem, shown: Iterable[Subject | None]
) -> None:
    """Audit that this moderator was shown private content on an item's page.

    Every showing counts, before or after a claim: reading someone's private words is a
    privileged act whether or not the reader then decides anything.
    """
    where = f"on queue item {item.id}"
    kind = _kinds.get(item.item_type)
    if kind is not None and kind.private:
        audit.record(session, viewer.id, "private.viewed", item.item_type, item.item_id, where)
    for subject in shown:
        if subject is not None and subject.private:
            audit.record(session, viewer.id, "private.viewed", subject.type, subject.id, where)


# --- who moderates where --------------------------------------------------------------------

# Council codes a ULO member of staff moderates: the organisations package knows, and
# registers it, because moderation must not import organisations.
ModeratorAreas = Callable[[Session, User], set[str]]
_moderator_areas: list[ModeratorAreas] = []


def register_moderator_areas(areas: ModeratorAreas) -> None:
    """Say which council areas a ULO staff member moderates (replaces any earlier one)."""
    _moderator_areas[:] = [areas]


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
    return {code for areas in _moderator_areas for code in areas(session, user)}


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
    # Set before the handler runs, so whatever it audits names the person deciding.
    item.decided_by_id = moderator.id
    _kinds[item.item_type].apply(session, item, decision, reason)
    item.state = QueueState.DECIDED.value
    item.decision = decision.value
    item.reason = reason or None
    item.decided_at = utcnow()
    audit.record(
        session,
        moderator.id,
        f"moderation.{decision.value}",
        item.item_type,
        item.item_id,
        reason,
    )
