"""Display names that could pass for the site or its staff are refused, however they are typed."""

from __future__ import annotations

import pytest

from marketplace.auth import services
from marketplace.auth.display_names import display_name_problem
from marketplace.auth.models import UsageIntent
from marketplace.errors import DomainError
from tests.factories import OrganisationFactory, UserFactory
from tests.helpers import post, sign_in


@pytest.mark.parametrize(
    "name",
    [
        "Site administrator",
        "ADMIN",
        "Ａdmin",  # full-width A: NFKC
        "аdmin",  # Cyrillic а
        "adm1n",
        "The moderator",
        "Leeds coordinator",
        "Staff",
        "budget marketplace",
        "Budget-Marketplace team",
        "robin@example.org",
        "robin＠example.org",
        "07700 900123",
        "+44 113 496 0000",
        "Leeds Mind Together",  # an organisation's name below
        "leeds mind together helper",
    ],
)
def test_names_that_look_like_staff_the_site_or_contact_details_are_refused(db_session, name):
    OrganisationFactory(name="Leeds Mind Together")
    assert display_name_problem(db_session, name) is not None


@pytest.mark.parametrize("name", ["Robin", "Sam Renamed", "Badminton fan", "Pat (carer)", "Jo 2"])
def test_ordinary_names_are_accepted(db_session, name):
    OrganisationFactory(name="Leeds Mind Together")
    assert display_name_problem(db_session, name) is None


def test_register_and_change_use_the_same_rule(db_session):
    with pytest.raises(DomainError) as error:
        services.register(
            db_session,
            services.Registration(
                "Moderator", "m@example.org", "a long password", UsageIntent.HOLDER
            ),
        )
    assert error.value.field == "display_name"
    user = UserFactory()
    with pytest.raises(DomainError) as error:
        services.change_details(db_session, user, "Site admin", None)
    assert error.value.field == "display_name"


def test_the_refusal_is_shown_beside_the_field(client):
    sign_in(client, UserFactory(email="me@example.org"))
    response = post(
        client, "/account/details", {"display_name": "Admin", "email": "me@example.org"}
    )
    html = response.get_data(as_text=True)
    assert 'id="display_name-error"' in html
    assert "does not sound like the site&#39;s staff" in html
