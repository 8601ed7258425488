"""Carer grants and their scopes, without HTTP."""

from __future__ import annotations

from datetime import timedelta

import pytest

from marketplace.auth.models import Role
from marketplace.carers import services
from marketplace.carers.models import CarerAction, CarerScope, GrantStatus
from marketplace.db import utcnow
from marketplace.errors import DomainError, NotAllowed
from tests.factories import UserFactory


@pytest.fixture
def holder():
    return UserFactory(email="holder@example.org", roles=["holder"])


@pytest.fixture
def carer():
    return UserFactory(email="carer@example.org")


def invite(session, holder, scopes=(CarerScope.VIEW, CarerScope.POOLS), email="carer@example.org"):
    return services.invite_carer(session, holder, email, scopes, ttl_seconds=3600)


def test_invited_carer_accepts_and_gets_only_chosen_scopes(db_session, holder, carer):
    grant, token = invite(db_session, holder)
    services.accept_invitation(db_session, carer, token)
    assert grant.status == GrantStatus.ACTIVE.value
    assert carer.has_role(Role.CARER)
    assert services.authorise(db_session, carer, holder.id, CarerScope.POOLS) == grant
    with pytest.raises(NotAllowed):
        services.authorise(db_session, carer, holder.id, CarerScope.MEMBERSHIPS)


def test_invitation_works_once_and_only_for_the_invited_address(db_session, holder, carer):
    _, token = invite(db_session, holder)
    stranger = UserFactory(email="stranger@example.org")
    with pytest.raises(NotAllowed):
        services.accept_invitation(db_session, stranger, token)
    services.accept_invitation(db_session, carer, token)
    with pytest.raises(DomainError):
        services.accept_invitation(db_session, carer, token)


def test_expired_invitation_cannot_be_accepted(db_session, holder, carer):
    grant, token = invite(db_session, holder)
    grant.invite_expires_at = utcnow() - timedelta(minutes=1)
    with pytest.raises(DomainError):
        services.accept_invitation(db_session, carer, token)


def test_invite_needs_a_scope_and_not_yourself(db_session, holder):
    with pytest.raises(DomainError) as error:
        invite(db_session, holder, scopes=())
    assert error.value.field == "scopes"
    with pytest.raises(DomainError):
        invite(db_session, holder, email="HOLDER@example.org")


def test_revoke_ends_access_at_once(db_session, holder, carer):
    grant, token = invite(db_session, holder)
    services.accept_invitation(db_session, carer, token)
    services.revoke(db_session, holder, grant.id)
    with pytest.raises(NotAllowed):
        services.authorise(db_session, carer, holder.id, CarerScope.VIEW)


def test_only_the_holder_can_change_or_revoke(db_session, holder, carer):
    grant, token = invite(db_session, holder)
    services.accept_invitation(db_session, carer, token)
    with pytest.raises(NotAllowed):
        services.revoke(db_session, carer, grant.id)
    with pytest.raises(NotAllowed):
        services.change_scopes(db_session, carer, grant.id, [CarerScope.MEMBERSHIPS])


def test_change_scopes_takes_effect(db_session, holder, carer):
    grant, token = invite(db_session, holder, scopes=[CarerScope.VIEW])
    services.accept_invitation(db_session, carer, token)
    services.change_scopes(db_session, holder, grant.id, [CarerScope.BUDDYING])
    services.authorise(db_session, carer, holder.id, CarerScope.BUDDYING)
    with pytest.raises(NotAllowed):
        services.authorise(db_session, carer, holder.id, CarerScope.VIEW)


def test_act_for_records_by_carer_for_holder(db_session, holder, carer):
    _, token = invite(db_session, holder)
    services.accept_invitation(db_session, carer, token)
    services.act_for(db_session, carer, holder.id, CarerScope.POOLS, "Joined a pool")
    db_session.flush()
    [action] = services.actions_for_holder(db_session, holder)
    assert isinstance(action, CarerAction)
    assert (action.carer_id, action.holder_id, action.description) == (
        carer.id,
        holder.id,
        "Joined a pool",
    )


def test_act_for_without_grant_records_nothing(db_session, holder, carer):
    with pytest.raises(NotAllowed):
        services.act_for(db_session, carer, holder.id, CarerScope.POOLS, "Joined a pool")
    assert services.actions_for_holder(db_session, holder) == []
