"""The moderation queue: submit, list by area, claim, decide. Every decision is audited.

Each kind of item registers a handler that applies the decision to the item itself
(a listing is published or rejected, a review is shown, ...), so the queue stays general.
Each kind of thing people can report registers a subject (register_subject): how to load
it, name it, find its areas, hide it and find who wrote it. Features register both from
their own moderation_subject.py, so moderation never imports a feature.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import current_app, has_app_context, url_for
from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from marketplace import audit
from marketplace.auth.models import Role, User, UserRole
from marketplace.db import as_utc, utcnow
from marketplace.email import SAFEGUARDING, send_email
from marketplace.errors import DomainError, NotAllowed
from marketplace.moderation.models import Decision, ModerationItem, QueueState, ReportReason

# Urgent (safeguarding) items still waiting after this long are highlighted.
URGENT_WITHIN = timedelta(hours=24)
# Defaults; MODERATION_CLAIM_LAPSE_MINUTES and MODERATION_ESCALATE_MINUTES change them.
CLAIM_LAPSES_AFTER = timedelta(hours=2)
ESCALATE_AFTER = timedelta(hours=4)
WATCH_JOB = "moderation.watch"
WATCH_EVERY = timedelta(minutes=15)

# The one urgency rule, decided when an item is submitted: a report with one of these reasons,
# or an item of a kind registered as urgent (a concern about a buddy pairing).
URGENT_REASONS = frozenset(
    {
        ReportReason.RISK_TO_PERSON,
        ReportReason.RISK_FROM_OTHER,
        ReportReason.MONEY_MISUSE,
        ReportReason.ILLEGAL,
    }
)
# Audit entries about the queue item itself (claims, alerts, escalation) use this type.
QUEUE_ITEM = "moderation_item"


def _minutes(setting: str, default: timedelta) -> timedelta:
    if has_app_context() and current_app.config.get(setting):
        return timedelta(minutes=int(current_app.config[setting]))
    return default


def claim_lapses_after() -> timedelta:
    """How long a claim holds with no decision before anyone may take the item."""
    return _minutes("MODERATION_CLAIM_LAPSE_MINUTES", CLAIM_LAPSES_AFTER)


def escalate_after() -> timedelta:
    """How long an urgent item may wait untouched before it goes to the admins."""
    return _minutes("MODERATION_ESCALATE_MINUTES", ESCALATE_AFTER)


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
    # Every item of this kind is about someone's safety (see is_urgent).
    urgent: bool = False


_kinds: dict[str, ItemKind] = {}


def register_kind(
    item_type: str,
    label: str,
    apply: DecisionHandler,
    approve_label: str = "Approve and publish",
    reject_label: str = "Send back with a reason",
    view: ItemView | None = None,
    private: bool = False,
    urgent: bool = False,
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
        urgent,
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
        kind.urgent,
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
    # The organisations it belongs to, whose staff may not judge it.
    organisations: frozenset[int] = frozenset()


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
# The organisations a thing belongs to (a listing: its provider): their staff may not judge it.
Organisations = Callable[[Session, Any], Iterable[int]]


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
    organisations: Organisations | None = None

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
    organisations: Organisations | None = None,
) -> None:
    """Teach moderation about a kind of thing people can report (registering again
    replaces it, so a feature's register() may run once per app).

    private: it is meant only for the people in a conversation, so every time a moderator
    is shown it the viewing is audited (record_viewing).

    set_hidden makes it hideable (by three reporters, or a moderator's decision); owners
    names who wrote it, who can then be warned or suspended unless warn_writer is False
    (a listing: its provider's staff are told, not sanctioned). apply_sanction replaces
    set_hidden for a moderator's hide / ask-to-edit / remove decision.
    organisations names the organisations it belongs to: a report about it never goes to
    their own staff (a conflict of interest).
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
        organisations,
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
        frozenset(registered.organisations(session, obj))
        if registered.organisations
        else frozenset(),
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
# The organisations a person is staff of (for conflicts of interest), and the ULO staff who
# moderate any of some council areas (to alert them): registered by organisations too.
StaffOf = Callable[[Session, User], set[int]]
_staff_of: list[StaffOf] = []
AreaModerators = Callable[[Session, set[str]], list[User]]
_area_moderators: list[AreaModerators] = []


def register_moderator_areas(
    areas: ModeratorAreas,
    staff_of: StaffOf | None = None,
    area_moderators: AreaModerators | None = None,
) -> None:
    """Say which council areas a ULO staff member moderates, which organisations a person is
    staff of, and who moderates some areas (each replaces any earlier one)."""
    _moderator_areas[:] = [areas]
    _staff_of[:] = [staff_of] if staff_of else []
    _area_moderators[:] = [area_moderators] if area_moderators else []


def organisations_of(session: Session, user: User) -> set[int]:
    """The organisations this person is staff of."""
    return {org for staff_of in _staff_of for org in staff_of(session, user)}


def has_conflict(session: Session, user: User, item: ModerationItem) -> bool:
    """The item is about an organisation this person works for: they may not see or judge it."""
    conflicts = item.conflict_orgs
    return bool(conflicts) and bool(conflicts & organisations_of(session, user))


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


def is_urgent(item_type: str, reason: str | None = None) -> bool:
    """The one urgency rule: a kind that is always about safety, or an urgent report reason."""
    kind = _kinds.get(item_type)
    return (kind is not None and kind.urgent) or reason in URGENT_REASONS


def submit(
    session: Session,
    item_type: str,
    item_id: int,
    summary: str,
    submitted_by: User | None,
    council_codes: Iterable[str],
    reason: str | None = None,
    conflict_orgs: Iterable[int] = (),
    now: datetime | None = None,
) -> ModerationItem:
    """Put an item in the queue, replacing any earlier open entry for the same item.

    reason (a report's) decides with the item's kind whether it is urgent (is_urgent); an
    urgent item is emailed at once to everyone who may handle it. conflict_orgs: the
    organisations it is about, whose staff may not see it.
    """
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
        urgent=is_urgent(item_type, reason),
        conflict_org_ids=",".join(str(o) for o in sorted(set(conflict_orgs))),
        submitted_at=now or utcnow(),
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
    if item.urgent:
        alert_moderators(session, item)
    return item


# --- alerts and escalation ----------------------------------------------------------------


def _admins(session: Session) -> list[User]:
    return list(
        session.scalars(
            select(User)
            .join(UserRole, UserRole.user_id == User.id)
            .where(UserRole.role == Role.ADMIN.value, User.erased_at.is_(None))
            .order_by(User.id)
        )
    )


def area_moderators(session: Session, item: ModerationItem) -> list[User]:
    """The ULO staff who may handle this item in its areas (not those with a conflict)."""
    found = {
        user.id: user
        for moderators in _area_moderators
        for user in moderators(session, set(item.councils))
        if user.erased_at is None
    }
    return [u for _, u in sorted(found.items()) if may_handle(session, u, item)]


def item_link(item: ModerationItem) -> str:
    """The item's page, as a full link for an email."""
    try:
        return url_for("moderation.item", item_id=item.id, _external=True)
    except RuntimeError:  # outside the app (a script or test): a path still helps
        return f"/moderation/items/{item.id}"


def _tell(
    session: Session, people: list[User], subject: str, lead: str, item: ModerationItem
) -> None:
    # Never the content, the reason or who is involved: only that something needs a moderator.
    link = item_link(item)
    for person in people:
        send_email(
            person.email,
            subject,
            f"Hello {person.display_name},\n\n{lead}\n\nSign in to see it:\n{link}\n",
            user_id=person.id,
            kind=SAFEGUARDING,
            session=session,
            about="a moderation alert",
        )


def alert_moderators(session: Session, item: ModerationItem) -> list[User]:
    """Email everyone who moderates the item's areas that something urgent has arrived (the
    admins when no ULO covers them). Audited with who was told."""
    people = area_moderators(session, item)
    if not people:
        people = [a for a in _admins(session) if may_handle(session, a, item)]
    _tell(
        session,
        people,
        "Something urgent is waiting in the moderation queue",
        "Something urgent has arrived in the moderation queue for your area. "
        "Please look at it as soon as you can.",
        item,
    )
    audit.record(
        session,
        None,
        "moderation.alerted",
        QUEUE_ITEM,
        item.id,
        "emailed users " + ", ".join(str(p.id) for p in people) if people else "nobody to email",
    )
    return people


def escalate_untouched(session: Session, now: datetime | None = None) -> list[ModerationItem]:
    """Send to every admin each urgent item nobody has been dealing with for
    escalate_after() since it arrived (the moderation.watch job). Once per item; audited."""
    now = as_utc(now or utcnow())
    waiting = session.scalars(
        select(ModerationItem)
        .where(
            ModerationItem.state == QueueState.OPEN.value,
            ModerationItem.urgent.is_(True),
            ModerationItem.escalated_at.is_(None),
            ModerationItem.submitted_at <= now - escalate_after(),
        )
        .order_by(ModerationItem.id)
    )
    escalated = []
    for item in waiting:
        if claim_holder(item, now) is not None:
            continue
        admins = [a for a in _admins(session) if may_handle(session, a, item)]
        item.escalated_at = now
        _tell(
            session,
            admins,
            "An urgent moderation item has waited too long",
            f"An urgent item in the moderation queue has waited more than "
            f"{duration_words(escalate_after())} with no moderator dealing with it. "
            "Please deal with it or make sure someone does.",
            item,
        )
        audit.record(
            session,
            None,
            "moderation.escalated",
            QUEUE_ITEM,
            item.id,
            "emailed admins " + ", ".join(str(a.id) for a in admins),
        )
        escalated.append(item)
    return escalated


def duration_words(span: timedelta) -> str:
    """A span in plain words: "2 hours", "90 minutes"."""
    minutes = int(span.total_seconds() // 60)
    if minutes % 60:
        return f"{minutes} minutes"
    return "1 hour" if minutes == 60 else f"{minutes // 60} hours"


def lapse_claims(session: Session, now: datetime | None = None) -> list[ModerationItem]:
    """Release every claim held for claim_lapses_after() with no decision (the
    moderation.watch job), so a concern is never locked by someone who is away. Audited."""
    now = as_utc(now or utcnow())
    lapsed = []
    for item in session.scalars(
        select(ModerationItem)
        .where(
            ModerationItem.state == QueueState.OPEN.value,
            ModerationItem.claimed_by_id.is_not(None),
            or_(
                ModerationItem.claimed_at.is_(None),
                ModerationItem.claimed_at <= now - claim_lapses_after(),
            ),
        )
        .order_by(ModerationItem.id)
    ):
        audit.record(
            session,
            None,
            "moderation.claim_lapsed",
            QUEUE_ITEM,
            item.id,
            f"user {item.claimed_by_id} decided nothing for {duration_words(claim_lapses_after())}",
        )
        item.claimed_by_id = None
        item.claimed_at = None
        lapsed.append(item)
    return lapsed


def watch(session: Session, now: datetime | None = None) -> tuple[int, int]:
    """The periodic moderation.watch job: lapse old claims, then escalate untouched urgent
    items. Returns (claims lapsed, items escalated)."""
    return len(lapse_claims(session, now)), len(escalate_untouched(session, now))


def counts_for(session: Session, user: User) -> tuple[int, int]:
    """(queue rows, of which urgent) this person may moderate: for the navigation."""
    rows = queue_rows(session, user)
    return len(rows), sum(1 for r in rows if r.urgent)


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
    """Admins moderate everything; ULO staff moderate items in the areas their ULO covers.
    Nobody moderates an item about an organisation they work for."""
    if has_conflict(session, user, item):
        return False
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
    own = organisations_of(session, user)  # once, not per item: the nav asks on every page
    return [
        i
        for i in items
        if (areas is None or areas.intersection(i.councils)) and not (i.conflict_orgs & own)
    ]


# Items about the same thing share a key (three reports on one message): one queue row.
GroupKey = Callable[[Session, ModerationItem], tuple[object, ...] | None]
_group_keys: dict[str, GroupKey] = {}


def register_group_key(item_type: str, key: GroupKey) -> None:
    """Show this kind's items that share a key as one row of the queue."""
    _group_keys[item_type] = key


@dataclass(frozen=True)
class QueueRow:
    """One row of the queue: the item to open (the most pressing) and every item about the
    same thing, with their summaries."""

    item: ModerationItem
    items: tuple[ModerationItem, ...]

    @property
    def urgent(self) -> bool:
        return any(i.urgent for i in self.items)

    @property
    def count(self) -> int:
        return len(self.items)


def queue_rows(session: Session, user: User) -> list[QueueRow]:
    """The queue grouped: items about the same thing in one row, urgent rows first, then the
    oldest."""
    groups: dict[object, list[ModerationItem]] = {}
    for item in queue_for(session, user):
        key_of = _group_keys.get(item.item_type)
        key = key_of(session, item) if key_of else None
        groups.setdefault(key if key is not None else ("item", item.id), []).append(item)
    return [QueueRow(items[0], tuple(items)) for items in groups.values()]


def is_overdue(item: ModerationItem, now: datetime | None = None) -> bool:
    """An urgent item waiting more than a day: highlighted on the queue."""
    return item.urgent and as_utc(now or utcnow()) - as_utc(item.submitted_at) > URGENT_WITHIN


def get_for_moderator(session: Session, user: User, item_id: int) -> ModerationItem:
    """A queue item this person may see, or NotAllowed."""
    item = session.get(ModerationItem, item_id)
    if item is None or not can_moderate(session, user, item):
        raise NotAllowed("You cannot moderate this item")
    return item


def claim_holder(item: ModerationItem, now: datetime | None = None) -> int | None:
    """Who is dealing with the item, if their claim has not lapsed."""
    if item.claimed_by_id is None or item.claimed_at is None:
        return None
    if as_utc(now or utcnow()) - as_utc(item.claimed_at) >= claim_lapses_after():
        return None
    return item.claimed_by_id


def claim_lapses_at(item: ModerationItem) -> datetime | None:
    """When the current claim lapses unless it is renewed or the item decided."""
    if item.claimed_at is None:
        return None
    return as_utc(item.claimed_at) + claim_lapses_after()


def claim(
    session: Session, moderator: User, item: ModerationItem, now: datetime | None = None
) -> None:
    """Mark an item as being handled by this moderator, so nobody handles it twice; the
    holder claiming again renews the claim.

    One conditional UPDATE (... WHERE nobody holds a live claim): of two moderators claiming
    at once, exactly one succeeds, even in separate transactions.
    """
    if not may_handle(session, moderator, item):
        raise NotAllowed("You cannot moderate this item")
    now = now or utcnow()
    before = item.claimed_by_id
    result = session.execute(
        update(ModerationItem)
        .where(
            ModerationItem.id == item.id,
            ModerationItem.state == QueueState.OPEN.value,
            or_(
                ModerationItem.claimed_by_id.is_(None),
                ModerationItem.claimed_by_id == moderator.id,
                ModerationItem.claimed_at.is_(None),
                ModerationItem.claimed_at <= now - claim_lapses_after(),
            ),
        )
        .values(claimed_by_id=moderator.id, claimed_at=now)
        .execution_options(synchronize_session=False)
    )
    session.refresh(item)
    if result.rowcount != 1:  # type: ignore[attr-defined]
        if item.state != QueueState.OPEN.value:
            raise DomainError("This item has already been dealt with")
        raise DomainError("Another moderator is already dealing with this")
    detail = (
        "renewed"
        if before == moderator.id
        else (f"after user {before}'s claim lapsed" if before else "claimed")
    )
    audit.record(session, moderator.id, "moderation.claimed", QUEUE_ITEM, item.id, detail)


def release(session: Session, moderator: User, item: ModerationItem) -> None:
    """The holder gives the item back to the queue, for someone else to take."""
    if item.state != QueueState.OPEN.value:
        raise DomainError("This item has already been dealt with")
    if claim_holder(item) != moderator.id:
        raise DomainError("You are not dealing with this")
    item.claimed_by_id = None
    item.claimed_at = None
    audit.record(session, moderator.id, "moderation.released", QUEUE_ITEM, item.id)


MAX_TAKE_OVER_REASON = 500


def take_over(session: Session, moderator: User, item: ModerationItem, reason: str) -> User | None:
    """An admin, or a moderator of the item's areas, takes a claimed item from its holder,
    with a reason. Audited; the first moderator is told by email (without the reason or
    content). Returns the person it was taken from."""
    if not may_handle(session, moderator, item):
        raise NotAllowed("You cannot moderate this item")
    if item.state != QueueState.OPEN.value:
        raise DomainError("This item has already been dealt with")
    holder_id = claim_holder(item)
    if holder_id is None or holder_id == moderator.id:
        raise DomainError("Nobody else is dealing with this: say you will deal with it instead")
    reason = (reason or "").strip()
    if not reason:
        raise DomainError("Say why you are taking this over", field="reason")
    if len(reason) > MAX_TAKE_OVER_REASON:
        raise DomainError(f"Keep the reason to {MAX_TAKE_OVER_REASON} characters", field="reason")
    item.claimed_by_id = moderator.id
    item.claimed_at = utcnow()
    audit.record(
        session,
        moderator.id,
        "moderation.taken_over",
        QUEUE_ITEM,
        item.id,
        f"from user {holder_id}: {reason}",
    )
    first = session.get(User, holder_id)
    if first is not None and first.erased_at is None:
        send_email(
            first.email,
            "Someone else is now dealing with a moderation item",
            f"Hello {first.display_name},\n\n{moderator.display_name} has taken over a "
            "moderation item you were dealing with, so you do not need to do any more on it. "
            f"Their reason is on the item's page:\n{item_link(item)}\n",
            user_id=first.id,
            kind=SAFEGUARDING,
            session=session,
            about="a take-over notice",
        )
    return first


_USER = re.compile(r"user (\d+)")


def _name(session: Session, user_id: int | str | None) -> str:
    person = session.get(User, int(user_id)) if user_id else None
    return person.display_name if person is not None else "a former moderator"


def history(session: Session, item: ModerationItem) -> list[tuple[datetime, str]]:
    """What has happened to this queue item (alerts, claims, take-overs, escalation), in
    words, oldest first: read from the audit log, so the page shows what was logged."""
    lines = []
    for entry in audit.entries_for(session, QUEUE_ITEM, item.id):
        actor = _name(session, entry.actor_id)
        named = _USER.search(entry.detail or "")
        other = _name(session, named.group(1)) if named else "a moderator"
        words = {
            "moderation.alerted": "Everyone who moderates the area was emailed"
            if entry.detail != "nobody to email"
            else "Nobody could be emailed: no moderator covers the area",
            "moderation.claimed": f"{actor} kept dealing with it"
            if entry.detail == "renewed"
            else f"{actor} said they would deal with it",
            "moderation.released": f"{actor} gave it back to the queue",
            "moderation.claim_lapsed": f"{other}'s claim lapsed: they decided nothing in time",
            "moderation.taken_over": f"{actor} took it over from {other}. Reason: "
            + (entry.detail or "").partition(": ")[2],
            "moderation.escalated": "Sent to every admin: nobody had dealt with it in time",
        }.get(entry.action, entry.action)
        lines.append((entry.created_at, words))
    return lines


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
    if claim_holder(item) not in (None, moderator.id):
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
