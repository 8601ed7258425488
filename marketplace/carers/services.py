"""Rules for carer access: invite, accept, change, revoke, check, and record actions."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from marketplace.auth.models import Role, User
from marketplace.auth.services import grant_role, normalise_email
from marketplace.carers.models import CarerAction, CarerGrant, CarerScope, GrantStatus
from marketplace.db import as_utc, utcnow
from marketplace.errors import DomainError, NotAllowed
from marketplace.tokens import hash_token, new_token


def scopes_text(scopes: Iterable[CarerScope]) -> str:
    """How a grant stores its scopes: each once, in a fixed order."""
    chosen = sorted({CarerScope(s) for s in scopes})
    if not chosen:
        raise DomainError("Choose at least one thing your carer may do", field="scopes")
    return ",".join(s.value for s in chosen)


def invite_carer(
    session: Session,
    holder: User,
    email: str,
    scopes: Iterable[CarerScope],
    ttl_seconds: int,
) -> tuple[CarerGrant, str]:
    """Invite someone by email to act for this holder; returns the grant and the raw token."""
    email = normalise_email(email)
    if email == holder.email:
        raise DomainError("Enter the email address of the person who helps you", field="email")
    live = session.scalars(
        select(CarerGrant).where(
            CarerGrant.holder_id == holder.id,
            CarerGrant.invited_email == email,
            CarerGrant.status != GrantStatus.REVOKED.value,
            CarerGrant.expires_at.is_(None),  # a crisis plan's grant does not count
        )
    ).first()
    if live is not None:
        raise DomainError("You have already invited this person", field="email")
    raw, digest = new_token()
    grant = CarerGrant(
        holder_id=holder.id,
        invited_email=email,
        scopes=scopes_text(scopes),
        token_hash=digest,
        invite_expires_at=utcnow() + timedelta(seconds=ttl_seconds),
    )
    session.add(grant)
    session.flush()  # the invitation email links to the grant's id
    return grant, raw


def find_invitation(session: Session, raw_token: str) -> CarerGrant | None:
    """The unexpired, unaccepted invitation for this token, if any."""
    grant = session.scalars(
        select(CarerGrant).where(CarerGrant.token_hash == hash_token(raw_token))
    ).first()
    if grant is None or grant.status != GrantStatus.INVITED.value:
        return None
    if grant.invite_expires_at is None or as_utc(grant.invite_expires_at) <= utcnow():
        return None
    return grant


def accept_invitation(session: Session, carer: User, raw_token: str) -> CarerGrant:
    """The invited person accepts; the link works once, and only for the invited address."""
    grant = find_invitation(session, raw_token)
    if grant is None:
        raise DomainError("This invitation has expired, been withdrawn or already been used")
    if carer.email != grant.invited_email:
        raise NotAllowed(
            "This invitation was sent to a different email address. Sign in with that address"
        )
    if carer.id == grant.holder_id:
        raise NotAllowed("You cannot be your own carer")
    grant.carer_id = carer.id
    grant.status = GrantStatus.ACTIVE.value
    grant.accepted_at = utcnow()
    grant.token_hash = None
    grant_role(session, carer, Role.CARER)
    return grant


def _holders_grant(session: Session, holder: User, grant_id: int) -> CarerGrant:
    grant = session.get(CarerGrant, grant_id)
    if grant is None or grant.holder_id != holder.id:
        raise NotAllowed("That is not one of your carers")
    return grant


def change_scopes(
    session: Session, holder: User, grant_id: int, scopes: Iterable[CarerScope]
) -> CarerGrant:
    """The holder changes what a carer may do."""
    grant = _holders_grant(session, holder, grant_id)
    if grant.status == GrantStatus.REVOKED.value:
        raise DomainError("This carer's access has ended. Invite them again")
    grant.scopes = scopes_text(scopes)
    return grant


def revoke(session: Session, holder: User, grant_id: int) -> CarerGrant:
    """The holder ends a carer's access (or withdraws an invitation), at once."""
    grant = _holders_grant(session, holder, grant_id)
    end_grant(grant)
    return grant


def end_grant(grant: CarerGrant, now: datetime | None = None) -> None:
    """The grant stops working now, and its invitation link with it."""
    grant.status = GrantStatus.REVOKED.value
    grant.revoked_at = now or utcnow()
    grant.token_hash = None


def grants_given(session: Session, holder: User) -> list[CarerGrant]:
    """The holder's carers and invitations, newest first."""
    return list(
        session.scalars(
            select(CarerGrant)
            .where(CarerGrant.holder_id == holder.id)
            .order_by(CarerGrant.created_at.desc(), CarerGrant.id.desc())
        )
    )


def grants_held(session: Session, carer: User) -> list[CarerGrant]:
    """The live grants that let this person act for others."""
    rows = session.scalars(
        select(CarerGrant)
        .where(CarerGrant.carer_id == carer.id, CarerGrant.status == GrantStatus.ACTIVE.value)
        .order_by(CarerGrant.accepted_at)
    )
    return [grant for grant in rows if grant.is_live()]


def people_i_act_for(session: Session, carer: User, scope: CarerScope) -> list[User]:
    """Holders who let this person act for them in this part of the site (a live grant with
    `scope`), never an erased account."""
    return [
        g.holder
        for g in grants_held(session, carer)
        if g.allows(scope) and g.holder.erased_at is None
    ]


def authorise(
    session: Session,
    carer: User,
    holder_id: int,
    scope: CarerScope,
    now: datetime | None = None,
) -> CarerGrant:
    """The live grant letting this carer act for this holder in this scope, or NotAllowed."""
    # A carer can hold an ordinary grant and a time-limited one from a crisis plan: any fits.
    grants = session.scalars(
        select(CarerGrant)
        .where(
            CarerGrant.carer_id == carer.id,
            CarerGrant.holder_id == holder_id,
            CarerGrant.status == GrantStatus.ACTIVE.value,
        )
        .order_by(CarerGrant.id)
    )
    grant = next((g for g in grants if g.allows(scope, now)), None)
    if grant is None:
        raise NotAllowed("You do not have permission to do this for this person")
    return grant


def act_for(
    session: Session, carer: User, holder_id: int, scope: CarerScope, description: str
) -> CarerGrant:
    """Check the grant and record the action as "by <carer> for <holder>"; features call this."""
    grant = authorise(session, carer, holder_id, scope)
    session.add(
        CarerAction(
            grant_id=grant.id,
            carer_id=carer.id,
            holder_id=holder_id,
            scope=scope.value,
            description=description,
        )
    )
    return grant


def actions_for_holder(session: Session, holder: User, limit: int = 100) -> list[CarerAction]:
    """What carers have done for this holder, newest first."""
    return list(
        session.scalars(
            select(CarerAction)
            .where(CarerAction.holder_id == holder.id)
            .order_by(CarerAction.created_at.desc(), CarerAction.id.desc())
            .limit(limit)
        )
    )
