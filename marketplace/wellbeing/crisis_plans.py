"""Crisis plans: written when well, acted on when a break starts.

The person names whom to tell (only people they already have: their carers, their buddy, a
staff contact at a user-led organisation they belong to) and, optionally, one person who may
act for them for N days. That person's carer grant belongs to the plan and stays dormant
(expires_at in the past, so `carers.authorise` refuses it) until a break starts; then it
switches on until N days later or the break's end, whichever is first, and off again when the
break ends. Only the person and the people they named may read the plan, and every reading
is written to the audit log. Moderators get no special access.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from flask import current_app, url_for
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from marketplace import audit
from marketplace.auth.models import User
from marketplace.auth.services import find_user_by_email, normalise_email
from marketplace.buddies.models import BuddyMatch, MatchStatus
from marketplace.carers import services as carers
from marketplace.carers.models import SCOPE_LABELS, CarerGrant, CarerScope, GrantStatus
from marketplace.db import as_utc, utcnow
from marketplace.email import ACTION, send_email
from marketplace.errors import DomainError, NotAllowed
from marketplace.memberships.models import Membership, MembershipStatus
from marketplace.organisations.models import ApprovalStatus, OrganisationStaff
from marketplace.privacy import services as privacy
from marketplace.web.template_globals import format_datetime
from marketplace.wellbeing import breaks
from marketplace.wellbeing.crisis_plan_models import (
    DAYS_MAX,
    MESSAGE_MAX,
    ContactRelation,
    CrisisPlan,
    CrisisPlanContact,
)
from marketplace.wellbeing.models import Break

SUBJECT_TYPE = "crisis_plan"
NO_DELEGATE = ""
BY_EMAIL = "email"

RELATION_WORDS = {
    ContactRelation.CARER: "your carer",
    ContactRelation.BUDDY: "your budget buddy",
    ContactRelation.ULO: "staff",
}


@dataclass(frozen=True)
class Candidate:
    """Someone the person may name, with how they know them (shown by display name only)."""

    user: User
    relation: ContactRelation
    label: str


@dataclass
class PlanInput:
    """What the plan form sends. `delegate` is "", a carer's user id, or "email"."""

    tell: list[int] = field(default_factory=list)
    pause_buddies: bool = True
    pause_emails: bool = True
    delegate: str = NO_DELEGATE
    delegate_email: str = ""
    scopes: list[str] = field(default_factory=list)
    days: int | None = None
    message: str = ""


# --- whom the person may name -------------------------------------------------------------------


def _ordinary_grants(session: Session, user: User) -> list[CarerGrant]:
    return [
        grant
        for grant in carers.grants_given(session, user)
        if grant.expires_at is None and grant.is_live() and grant.carer is not None
    ]


def delegate_choices(session: Session, user: User) -> list[User]:
    """The person's carers: who may be given extra rights during a break."""
    seen: dict[int, User] = {}
    for grant in _ordinary_grants(session, user):
        if grant.carer is not None and grant.carer.erased_at is None:
            seen.setdefault(grant.carer.id, grant.carer)
    return list(seen.values())


def candidates(session: Session, user: User) -> list[Candidate]:
    """Everyone the person may ask us to tell: people they already have, nobody else."""
    found: dict[int, Candidate] = {}

    def add(other: User, relation: ContactRelation, label: str) -> None:
        if other.id != user.id and other.erased_at is None:
            found.setdefault(other.id, Candidate(other, relation, label))

    for carer in delegate_choices(session, user):
        add(carer, ContactRelation.CARER, f"{carer.display_name} (your carer)")
    matches = session.scalars(
        select(BuddyMatch)
        .where(
            or_(BuddyMatch.seeker_id == user.id, BuddyMatch.buddy_user_id == user.id),
            BuddyMatch.status.in_([MatchStatus.ACTIVE.value, MatchStatus.PAUSED.value]),
        )
        .order_by(BuddyMatch.id)
    )
    for match in matches:
        other = match.buddy_user if match.seeker_id == user.id else match.seeker
        add(other, ContactRelation.BUDDY, f"{other.display_name} (your budget buddy)")
    staff = session.scalars(
        select(OrganisationStaff)
        .join(Membership, Membership.organisation_id == OrganisationStaff.organisation_id)
        .where(
            Membership.user_id == user.id,
            Membership.status != MembershipStatus.ENDED.value,
            OrganisationStaff.status == ApprovalStatus.APPROVED.value,
        )
        .order_by(OrganisationStaff.id)
    )
    for record in staff:
        add(
            record.user,
            ContactRelation.ULO,
            f"{record.user.display_name} at {record.organisation.name}",
        )
    return list(found.values())


# --- reading ------------------------------------------------------------------------------------


def plan_of(session: Session, user_id: int) -> CrisisPlan | None:
    """The person's plan, if they wrote one. Not audited: for internal use only."""
    return session.scalars(select(CrisisPlan).where(CrisisPlan.user_id == user_id)).first()


def delegate_of(plan: CrisisPlan) -> CarerGrant | None:
    """The plan's grant while it still names someone (not ended from the carers page)."""
    grant = plan.grant
    if grant is None or grant.status == GrantStatus.REVOKED.value:
        return None
    return grant


def named_user_ids(plan: CrisisPlan) -> set[int]:
    """The people the plan names: they, and the person, may read it."""
    named = {contact.user_id for contact in plan.contacts}
    grant = delegate_of(plan)
    if grant is not None and grant.carer_id is not None:
        named.add(grant.carer_id)
    return named


def _audit_view(session: Session, viewer: User, plan: CrisisPlan) -> None:
    whose = "own" if viewer.id == plan.user_id else "named"
    audit.record(session, viewer.id, "crisis_plan.viewed", SUBJECT_TYPE, plan.id, whose)


def view_own(session: Session, user: User) -> CrisisPlan | None:
    """The person opens their own plan; audited like any other view."""
    plan = plan_of(session, user.id)
    if plan is not None:
        _audit_view(session, user, plan)
    return plan


def view_plan(session: Session, viewer: User, plan_id: int) -> CrisisPlan:
    """Someone opens a plan by id: NotAllowed unless it is theirs or names them. Audited."""
    plan = session.get(CrisisPlan, plan_id)
    if (
        plan is None
        or plan.user.erased_at is not None
        or (viewer.id != plan.user_id and viewer.id not in named_user_ids(plan))
    ):
        raise NotAllowed("You cannot see this plan")
    _audit_view(session, viewer, plan)
    return plan


def plans_named_in(session: Session, user: User) -> list[CrisisPlan]:
    """Plans that name this person (listing only; opening one is audited)."""
    by_contact = select(CrisisPlanContact.plan_id).where(CrisisPlanContact.user_id == user.id)
    by_grant = (
        select(CrisisPlan.id)
        .join(CarerGrant, CarerGrant.id == CrisisPlan.grant_id)
        .where(CarerGrant.carer_id == user.id, CarerGrant.status != GrantStatus.REVOKED.value)
    )
    rows = session.scalars(
        select(CrisisPlan)
        .where(or_(CrisisPlan.id.in_(by_contact), CrisisPlan.id.in_(by_grant)))
        .order_by(CrisisPlan.id)
    )
    return [plan for plan in rows if plan.user.erased_at is None]


# --- writing ------------------------------------------------------------------------------------


def _days(value: int | None) -> int:
    if value is None or not 1 <= value <= DAYS_MAX:
        raise DomainError(f"Enter a number of days from 1 to {DAYS_MAX}", field="days")
    return value


def _scope_values(values: Iterable[str]) -> list[CarerScope]:
    try:
        return [CarerScope(v) for v in values]
    except ValueError:
        raise DomainError("Choose what they may do from the list", field="scopes") from None


def _contacts(session: Session, user: User, tell: Iterable[int]) -> dict[int, str]:
    """The chosen people's ids and how the person knows them; only candidates are allowed."""
    allowed = {c.user.id: c for c in candidates(session, user)}
    chosen = {}
    for user_id in dict.fromkeys(tell):
        candidate = allowed.get(user_id)
        if candidate is None:
            raise DomainError("Choose people from the list", field="tell")
        chosen[user_id] = candidate.relation.value
    return chosen


def _replace_contacts(plan: CrisisPlan, chosen: dict[int, str]) -> None:
    # Keep the rows of people still named: the unit of work inserts before it deletes, so a
    # fresh row for the same person would break the (plan, user) uniqueness.
    existing = {contact.user_id: contact for contact in plan.contacts}
    rows = []
    for user_id, relation in chosen.items():
        row = existing.get(user_id) or CrisisPlanContact(user_id=user_id)
        row.relation = relation
        rows.append(row)
    plan.contacts = rows


def _end_grant(grant: CarerGrant | None, now: datetime) -> None:
    if grant is not None and grant.status != GrantStatus.REVOKED.value:
        carers.end_grant(grant, now)


def _dormant_grant_for(
    session: Session, user: User, carer: User, scopes: list[CarerScope], now: datetime
) -> CarerGrant:
    # A second grant beside their ordinary one, so ending either leaves the other as it was.
    grant = CarerGrant(
        holder_id=user.id,
        carer_id=carer.id,
        invited_email=carer.email,
        scopes=carers.scopes_text(scopes),
        status=GrantStatus.ACTIVE.value,
        accepted_at=now,
        expires_at=now,
    )
    session.add(grant)
    return grant


def _set_delegate(
    session: Session,
    user: User,
    plan: CrisisPlan,
    data: PlanInput,
    invite_ttl_seconds: int,
    now: datetime,
) -> str | None:
    """Point the plan's grant at the chosen person; returns an invitation token to email."""
    current = delegate_of(plan)
    if data.delegate == NO_DELEGATE:
        _end_grant(current, now)
        plan.grant = None
        return None
    plan.delegate_days = _days(data.days)
    scopes = _scope_values(data.scopes)
    if not scopes:
        raise DomainError("Choose at least one thing they may do", field="scopes")
    carer: User | None = None
    email = ""
    if data.delegate == BY_EMAIL:
        email = normalise_email(data.delegate_email)
        if not email:
            raise DomainError("Enter their email address", field="delegate_email")
        # Someone who is already their carer needs no new invitation.
        known = find_user_by_email(session, email)
        if known is not None and known in delegate_choices(session, user):
            carer = known
    else:
        carer = next(
            (c for c in delegate_choices(session, user) if str(c.id) == data.delegate), None
        )
        if carer is None:
            raise DomainError("Choose someone from the list", field="delegate")
    same = current is not None and (
        (carer is not None and current.carer_id == carer.id)
        or (carer is None and current.carer_id is None and current.invited_email == email)
    )
    if same and current is not None:
        current.scopes = carers.scopes_text(scopes)
        return None
    _end_grant(current, now)
    if carer is not None:
        plan.grant = _dormant_grant_for(session, user, carer, scopes, now)
        return None
    grant, token = carers.invite_carer(session, user, email, scopes, invite_ttl_seconds)
    grant.expires_at = now  # dormant even once accepted, until a break switches it on
    plan.grant = grant
    return token


def save_plan(
    session: Session,
    user: User,
    data: PlanInput,
    invite_ttl_seconds: int,
    now: datetime | None = None,
) -> tuple[CrisisPlan, str | None]:
    """Create or replace the person's plan. Returns it and, when someone new was named to
    act for them by email, the invitation token to send them."""
    now = now or utcnow()
    if len(data.message) > MESSAGE_MAX:
        raise DomainError(
            f"What you want others to know must be {MESSAGE_MAX:,} characters or fewer",
            field="message",
        )
    contacts = _contacts(session, user, data.tell)
    plan = plan_of(session, user.id)
    if plan is None:
        plan = CrisisPlan(user_id=user.id, created_at=now)
        session.add(plan)
    plan.pause_buddies = data.pause_buddies
    plan.pause_emails = data.pause_emails
    plan.message = data.message.strip()
    plan.updated_at = now
    before = delegate_of(plan)
    try:
        token = _set_delegate(session, user, plan, data, invite_ttl_seconds, now)
    except DomainError as error:
        if error.field == "email":  # from the carer invitation: our field has another name
            error.field = "delegate_email"
        raise
    _replace_contacts(plan, contacts)
    session.flush()
    live = breaks.current_break(session, user.id, now)
    if live is not None and delegate_of(plan) is not before:
        # Someone newly named during a break starts now; an unchanged grant keeps its end.
        _switch_on(session, plan, live, now)
    audit.record(session, user.id, "crisis_plan.saved", SUBJECT_TYPE, plan.id)
    return plan, token


def delete_plan(session: Session, user: User, now: datetime | None = None) -> None:
    """The person removes their plan; the grant it held ends too."""
    plan = plan_of(session, user.id)
    if plan is None:
        return
    _end_grant(delegate_of(plan), now or utcnow())
    audit.record(session, user.id, "crisis_plan.deleted", SUBJECT_TYPE, plan.id)
    session.delete(plan)


# --- breaks -------------------------------------------------------------------------------------


def delegate_for_break(plan: CrisisPlan) -> CarerGrant | None:
    """The grant a break switches on: None when nobody is named, or the invitation is not
    accepted yet (the one rule for the break's check page and for _switch_on)."""
    grant = delegate_of(plan)
    if grant is None or grant.status != GrantStatus.ACTIVE.value or grant.carer_id is None:
        return None
    return grant


def acting_until(plan: CrisisPlan, starts_at: datetime, ends_at: datetime | None) -> datetime:
    """Until when the plan's person may act for a break starting then: N days, or the
    break's end if that is sooner."""
    until = as_utc(starts_at) + timedelta(days=plan.delegate_days)
    return until if ends_at is None else min(until, as_utc(ends_at))


def people_told(plan: CrisisPlan, acting: User | None) -> list[User]:
    """Who is emailed when a break starts: the people the plan names and the person who may
    act for them, once each, never an erased account."""
    people = {contact.user.id: contact.user for contact in plan.contacts}
    if acting is not None:
        people.setdefault(acting.id, acting)
    return [person for person in people.values() if person.erased_at is None]


def _names(people: list[User]) -> str:
    names = [p.display_name for p in people]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def break_plan_items(
    session: Session, user: User, starts_at: datetime, ends_at: datetime | None
) -> list[breaks.PlanItem]:
    """What the break's check page says the crisis plan will do (true in code: _tell emails
    exactly people_told, _switch_on gives delegate_for_break until acting_until)."""
    plan = plan_of(session, user.id)
    if plan is None:
        return []
    grant = delegate_for_break(plan)
    acting = grant.carer if grant is not None else None
    items = []
    told = people_told(plan, acting)
    if told:
        items.append(
            breaks.PlanItem(
                "People in your crisis plan",
                f"We will email {_names(told)} to say you have started a break. "
                "They are not told why.",
            )
        )
    if acting is not None:
        until = acting_until(plan, starts_at, ends_at)
        days = plan.delegate_days
        items.append(
            breaks.PlanItem(
                "Someone to act for you",
                f"{acting.display_name} may act for you for up to {days} "
                f"day{'s' if days != 1 else ''}, until {format_datetime(until)} (UTC), or "
                "until you come back if that is sooner.",
            )
        )
    return items


@dataclass(frozen=True)
class Told:
    """For "Your break has started": who was emailed, and who may act for them until when."""

    people: list[User] = field(default_factory=list)
    acting: User | None = None
    acting_until: datetime | None = None


def told_about(session: Session, user: User) -> Told:
    """What the plan did when this person's live break started (as _tell and _switch_on)."""
    plan = plan_of(session, user.id)
    if plan is None:
        return Told()
    grant = delegate_of(plan)
    acting = grant.carer if grant is not None and grant.is_live() else None
    until = grant.expires_at if grant is not None and acting is not None else None
    return Told(people_told(plan, acting), acting, until)


def _switch_on(session: Session, plan: CrisisPlan, brk: Break, now: datetime) -> None:
    grant = delegate_for_break(plan)
    if grant is None:
        return  # nobody named, or an invitation not yet accepted
    until = acting_until(plan, now, brk.ends_at)
    grant.expires_at = until
    audit.record(
        session, None, "crisis_plan.grant_on", SUBJECT_TYPE, plan.id, as_utc(until).isoformat()
    )


def _plan_link(plan: CrisisPlan) -> str:
    try:
        return url_for("crisis_plans.named", plan_id=plan.id, _external=True)
    except RuntimeError:  # outside a request and without SERVER_NAME: a path still helps
        return f"/crisis-plans/{plan.id}"


def _tell(session: Session, plan: CrisisPlan) -> None:
    # Sent once the break's transaction commits (marketplace/outbox.py). Calm and
    # neutral: never why, and the plan itself stays behind a sign-in. The person who may act
    # is told too, so they know their permission has started and until when.
    name = plan.user.display_name
    link = _plan_link(plan)
    grant = delegate_of(plan)
    acting = grant.carer if grant is not None and grant.is_live() else None
    acting_until = grant.expires_at if grant is not None and acting is not None else None
    template = current_app.jinja_env.get_template("emails/crisis_plan_break.txt")
    for person in people_told(plan, acting):
        until = acting_until if acting is not None and person.id == acting.id else None
        send_email(
            person.email,
            f"{name} has started a break",
            # The app's Jinja directly: breaks may start outside a request (a job, a test).
            template.render(
                name=name,
                link=link,
                until=f"{format_datetime(until)} (UTC)" if until else None,
            ),
            user_id=person.id,
            kind=ACTION,
            session=session,
        )


def on_break_started(session: Session, brk: Break) -> None:
    """Switch on the plan's grant and tell the people it names."""
    plan = plan_of(session, brk.user_id)
    if plan is None:
        return
    _switch_on(session, plan, brk, as_utc(brk.starts_at))
    _tell(session, plan)


def on_break_ended(session: Session, brk: Break) -> None:
    """Switch the plan's grant off, if the break ends before its N days do."""
    plan = plan_of(session, brk.user_id)
    grant = delegate_of(plan) if plan is not None else None
    if plan is None or grant is None or grant.expires_at is None:
        return
    ended = as_utc(brk.ended_at) if brk.ended_at is not None else utcnow()
    if as_utc(grant.expires_at) > ended:
        grant.expires_at = ended
        audit.record(session, None, "crisis_plan.grant_off", SUBJECT_TYPE, plan.id)


def reminder_for(session: Session, user: User) -> CrisisPlan | None:
    """The plan to show the person as a reminder when they start a break (audited)."""
    return view_own(session, user)


# --- your data ----------------------------------------------------------------------------------


def _iso(value: datetime | None) -> str | None:
    return as_utc(value).isoformat() if value else None


def _export(session: Session, user: User) -> dict[str, Any]:
    plan = plan_of(session, user.id)
    own = None
    if plan is not None:
        grant = delegate_of(plan)
        own = {
            "tell": [{"name": c.user.display_name, "relation": c.relation} for c in plan.contacts],
            "pause_buddies": plan.pause_buddies,
            "pause_emails": plan.pause_emails,
            "may_act_for_me": None
            if grant is None
            else {
                "name": grant.carer.display_name if grant.carer else None,
                "invited_email": grant.invited_email,
                "may": sorted(SCOPE_LABELS[s] for s in grant.scope_set),
                "days": plan.delegate_days,
                "active_until": _iso(grant.expires_at),
            },
            "what_i_want_others_to_know": plan.message,
            "created_at": _iso(plan.created_at),
            "updated_at": _iso(plan.updated_at),
        }
    named_in = [p.user.display_name for p in plans_named_in(session, user)]
    return {"my_plan": own, "plans_naming_me": named_in}


def _erase(session: Session, user: User) -> None:
    plan = plan_of(session, user.id)
    if plan is not None:
        session.delete(plan)
    for named in session.scalars(
        select(CrisisPlan)
        .join(CarerGrant, CarerGrant.id == CrisisPlan.grant_id)
        .where(CarerGrant.carer_id == user.id)
    ):
        named.grant = None  # the grant itself goes with the carer's other grants
    for contact in session.scalars(
        select(CrisisPlanContact).where(CrisisPlanContact.user_id == user.id)
    ):
        contact.plan.contacts.remove(contact)  # delete-orphan; keeps the loaded list true
    session.flush()


def register_privacy() -> None:
    """Add this package's part of "Your data": what it exports and what erasure removes."""
    privacy.register_exporter("crisis_plan", _export)
    privacy.register_eraser(_erase)
