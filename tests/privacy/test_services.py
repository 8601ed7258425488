"""Export and erasure of a person's data, without HTTP."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from marketplace.audit import AuditEntry
from marketplace.auth.services import authenticate
from marketplace.carers import services as carers
from marketplace.carers.models import CarerGrant, CarerScope
from marketplace.errors import DomainError
from marketplace.privacy import services
from tests.factories import PASSWORD, StaffFactory, UserFactory


def test_export_holds_own_data_as_json(db_session):
    user = UserFactory(email="me@example.org", support_needs="Anxious on the phone")
    StaffFactory(user=user)
    carer = UserFactory(email="carer@example.org")
    _, token = carers.invite_carer(db_session, user, carer.email, [CarerScope.VIEW], 3600)
    carers.accept_invitation(db_session, carer, token)
    data = services.export_user_data(db_session, user)
    json.dumps(data)  # must be serialisable
    assert data["account"]["email"] == "me@example.org"
    assert data["account"]["support_needs"] == "Anxious on the phone"
    assert len(data["organisations"]) == 1
    assert data["carers"]["carers_i_gave_access_to"][0]["carer"] == carer.display_name
    # The carer's export names the holder by display name only, never the holder's email.
    assert "me@example.org" not in json.dumps(services.export_user_data(db_session, carer))


def test_erase_removes_personal_data_and_keeps_an_anonymous_row(db_session):
    user = UserFactory(email="me@example.org", display_name="Robin", support_needs="private")
    carer = UserFactory(email="carer@example.org")
    carers.invite_carer(db_session, user, carer.email, [CarerScope.VIEW], 3600)
    with pytest.raises(DomainError):
        services.erase_account(db_session, user, "wrong password!")
    services.erase_account(db_session, user, PASSWORD)
    db_session.flush()
    assert user.email.endswith("@erased.invalid")
    assert user.display_name == "Former member"
    assert user.support_needs is None
    assert not user.is_active
    assert db_session.scalars(select(CarerGrant)).all() == []
    assert authenticate(db_session, "me@example.org", PASSWORD) is None
    assert db_session.scalars(select(AuditEntry).where(AuditEntry.action == "account.erased")).one()
