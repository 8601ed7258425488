"""Organisation approval and staff, without HTTP."""

from __future__ import annotations

import pytest

from marketplace.audit import entries_for
from marketplace.auth.models import Role
from marketplace.errors import DomainError, NotAllowed
from marketplace.moderation import services as moderation
from marketplace.moderation.models import Decision
from marketplace.organisations import services
from marketplace.organisations.models import ApprovalStatus, OrganisationKind, StaffRole
from tests.factories import CouncilFactory, OrganisationFactory, UserFactory
from tests.listing_helpers import ulo_moderator


def details(council_ids, name="Leeds Peer Voices", kind=OrganisationKind.ULO):
    return services.OrganisationDetails(
        name=name,
        kind=kind,
        description="Peer support",
        website=None,
        public_email=None,
        public_phone=None,
        council_ids=tuple(council_ids),
    )


def test_new_organisation_waits_and_its_creator_owns_it(db_session):
    council = CouncilFactory()
    owner = UserFactory()
    org = services.create_organisation(db_session, owner, details([council.id]))
    assert org.status == ApprovalStatus.PENDING.value
    assert services.is_owner(db_session, owner, org)
    assert not services.is_staff(db_session, owner, org)  # not until approved
    assert not owner.has_role(Role.ULO_STAFF)
    assert org in services.pending_organisations(db_session)


def test_duplicate_name_and_unknown_council_are_refused(db_session):
    council = CouncilFactory()
    services.create_organisation(db_session, UserFactory(), details([council.id]))
    with pytest.raises(DomainError) as error:
        services.create_organisation(db_session, UserFactory(), details([council.id]))
    assert error.value.field == "name"
    with pytest.raises(DomainError) as error:
        services.create_organisation(db_session, UserFactory(), details([99999], name="Other"))
    assert error.value.field == "council_ids"


def test_admin_approval_makes_owner_staff_and_is_audited(db_session):
    council = CouncilFactory()
    owner = UserFactory()
    admin = UserFactory(roles=["admin"])
    org = services.create_organisation(db_session, owner, details([council.id]))
    services.decide_organisation(db_session, admin, org, approve=True)
    assert org.is_approved
    assert owner.has_role(Role.ULO_STAFF)
    assert [e.action for e in entries_for(db_session, "organisation", org.id)] == [
        "organisation.requested",
        "moderation.submitted",
        "organisation.approved",
    ]
    # Decided on the admin page: its entry in the one queue is closed too.
    assert moderation.open_entries_for(db_session, services.ITEM_ORGANISATION, org.id) == []


def test_organisations_wait_in_the_one_queue_for_admins_only(db_session):
    council = CouncilFactory()
    owner = UserFactory()
    org = services.create_organisation(db_session, owner, details([council.id]))
    (item,) = moderation.open_entries_for(db_session, services.ITEM_ORGANISATION, org.id)
    local_moderator = ulo_moderator(council)
    assert item not in moderation.queue_for(db_session, local_moderator)
    with pytest.raises(NotAllowed):
        moderation.decide(db_session, local_moderator, item, Decision.APPROVE, "")
    admin = UserFactory(roles=["admin"])
    assert item in moderation.queue_for(db_session, admin)
    with pytest.raises(DomainError):
        moderation.decide(db_session, admin, item, Decision.REJECT, "")  # a reason is needed
    moderation.decide(db_session, admin, item, Decision.APPROVE, "")
    assert org.is_approved
    assert owner.has_role(Role.ULO_STAFF)
    with pytest.raises(DomainError):
        services.decide_organisation(db_session, admin, org, approve=False, reason="Too late")
    with pytest.raises(DomainError):
        services.decide_organisation(db_session, admin, org, approve=False, reason="late")


def test_rejection_needs_a_reason_and_only_admins_decide(db_session):
    org = OrganisationFactory(status=ApprovalStatus.PENDING.value)
    with pytest.raises(NotAllowed):
        services.decide_organisation(db_session, UserFactory(), org, approve=True)
    admin = UserFactory(roles=["admin"])
    with pytest.raises(DomainError) as error:
        services.decide_organisation(db_session, admin, org, approve=False, reason=" ")
    assert error.value.field == "reason"
    services.decide_organisation(db_session, admin, org, approve=False, reason="Not a real charity")
    assert org.status == ApprovalStatus.REJECTED.value
    assert org.rejection_reason == "Not a real charity"


def test_owner_approves_staff_who_ask_to_join(db_session):
    council = CouncilFactory()
    owner = UserFactory()
    admin = UserFactory(roles=["admin"])
    org = services.create_organisation(
        db_session, owner, details([council.id], name="Harbour PAs", kind=OrganisationKind.PROVIDER)
    )
    newcomer = UserFactory()
    with pytest.raises(DomainError):
        services.request_to_join(db_session, newcomer, org)  # not approved yet
    services.decide_organisation(db_session, admin, org, approve=True)
    record = services.request_to_join(db_session, newcomer, org)
    db_session.flush()
    with pytest.raises(DomainError):
        services.request_to_join(db_session, newcomer, org)
    with pytest.raises(NotAllowed):
        services.decide_staff_request(db_session, newcomer, record, approve=True)
    services.decide_staff_request(db_session, owner, record, approve=True)
    assert record.role == StaffRole.STAFF.value
    assert services.is_staff(db_session, newcomer, org)
    assert newcomer.has_role(Role.PROVIDER_STAFF)
    assert not services.is_owner(db_session, newcomer, org)
