"""The commitments page through the test client, for every role: anonymous, the person, a carer
with the "view" grant, a carer without it, another holder, ULO staff and an admin."""

from __future__ import annotations

import html
import re

import pytest

from marketplace.carers import services as carers
from marketplace.carers.models import CarerScope
from marketplace.commitments import services
from marketplace.pools.models import Pool
from tests.commitments.builders import asked_for_help, carer_of, gathering_pool, giving_time_ulo
from tests.factories import UserFactory
from tests.helpers import sign_in
from tests.listing_helpers import ulo_moderator
from tests.pools.builders import join_by_invoice, running_pool


def text(response) -> str:
    return response.get_data(as_text=True)


def signed_in(app, user):
    client = app.test_client()
    sign_in(client, user)
    return client


def shown(page: str, element_id: str) -> str:
    match = re.search(rf'id="{element_id}">(.*?)</dd>', page, re.S)
    assert match, f"no #{element_id} on the page"
    return html.unescape(match.group(1)).strip()


@pytest.fixture
def holder_with_things(db_session, council, moderator, provider):
    """A holder in a gathering pool (with two others) and a running pool, giving time to a
    ULO and asking it for help; and a carer they let see what they have joined."""
    holder = UserFactory(display_name="Hana Holder")
    gathering, _offer = gathering_pool(db_session, council, moderator, provider, holder)
    others = join_by_invoice(db_session, gathering, 2)
    running, _members, _waiting = running_pool(
        db_session, council, moderator, provider, members=[holder, UserFactory(), UserFactory()]
    )
    _staff, org = giving_time_ulo(db_session)
    from marketplace.memberships import services as memberships

    memberships.join(db_session, holder, org, "reciprocity")
    asked_for_help(db_session, holder, org)
    carer = carer_of(db_session, holder)
    db_session.commit()
    return holder, carer, gathering, running, others


def test_anonymous_people_are_asked_to_sign_in(client):
    response = client.get("/commitments")
    assert response.status_code == 302
    assert "/sign-in" in response.headers["Location"]


def test_the_person_sees_every_commitment_with_what_is_due(app, db_session, holder_with_things):
    holder, _carer, gathering, running, others = holder_with_things
    client = signed_in(app, holder)
    page = text(client.get("/commitments"))
    assert '<h1 class="govuk-heading-l">Your commitments</h1>' in page
    found = services.commitments_of(db_session, holder)
    for item in found.pools:
        assert shown(page, f"pool-{item.pool_id}-due") == item.due_words
        assert f'href="/pools/{item.pool_id}"' in page
    for item in found.memberships:
        assert shown(page, f"membership-{item.membership_id}-due") == item.due_words
    (asked,) = found.help
    assert f'href="/help/{asked.request_id}"' in page
    assert "Help filling in my council&#39;s form" in page
    # Nothing private of other people: the other members are never named.
    for other in others:
        assert other.display_name not in page and other.email not in page
    # The menu and the account page lead here.
    assert 'href="/commitments"' in text(client.get("/"))
    assert 'href="/commitments"' in text(client.get("/account"))


def test_nothing_due_is_said_plainly(app, db_session):
    person = UserFactory()
    db_session.commit()
    page = text(signed_in(app, person).get("/commitments"))
    assert "You have not joined anything yet. Nothing is due." in page
    assert "Whose commitments" not in page  # they help nobody: no choice to make


def test_a_carer_with_the_view_grant_sees_them_and_the_look_is_recorded(
    app, db_session, holder_with_things
):
    holder, carer, gathering, running, _others = holder_with_things
    client = signed_in(app, carer)
    own = text(client.get("/commitments"))
    assert "Whose commitments do you want to see?" in own and "Hana Holder" in own
    response = client.get(f"/commitments?for_whom={holder.id}")
    assert response.status_code == 200
    page = text(response)
    assert "Hana Holder's commitments</h1>" in page
    assert "On this page, “you” means Hana Holder" in page
    holder = db_session.get(type(holder), holder.id)
    seen = services.commitments_of(db_session, holder, viewer=carer)
    for item in seen.pools:
        assert shown(page, f"pool-{item.pool_id}-due") == item.due_words
    # Only pages the carer may open are linked: an open pool is public, a running one is not.
    assert f'href="/pools/{gathering.id}"' in page
    assert f'href="/pools/{running.id}"' not in page
    (action, *_rest) = carers.actions_for_holder(db_session, holder)
    assert action.description == "Looked at your commitments"
    assert action.carer_id == carer.id


def test_a_carer_without_the_view_grant_gets_404(app, db_session):
    holder = UserFactory()
    carer = carer_of(db_session, holder, scopes=(CarerScope.POOLS,))
    db_session.commit()
    client = signed_in(app, carer)
    assert client.get(f"/commitments?for_whom={holder.id}").status_code == 404
    assert carers.actions_for_holder(db_session, holder) == []


def test_a_revoked_grant_stops_working_at_once(app, db_session):
    holder = UserFactory()
    carer = carer_of(db_session, holder)
    (grant,) = carers.grants_given(db_session, holder)
    carers.revoke(db_session, holder, grant.id)
    db_session.commit()
    client = signed_in(app, carer)
    assert client.get(f"/commitments?for_whom={holder.id}").status_code == 404


@pytest.mark.parametrize("role", ["holder", "ulo_staff", "admin"])
def test_nobody_else_can_see_someone_elses_commitments(
    app, db_session, council, holder_with_things, role
):
    holder = holder_with_things[0]
    if role == "holder":
        other = UserFactory()
    elif role == "ulo_staff":
        # Staff of a ULO covering the holder's pools (moderating them is not seeing the person).
        other = ulo_moderator(council, second_factor=False)
    else:
        other = UserFactory(roles=["admin"])
    db_session.commit()
    client = signed_in(app, other)
    assert client.get(f"/commitments?for_whom={holder.id}").status_code == 404
    # Their own page shows none of the holder's pools.
    page = text(client.get("/commitments"))
    for pool in db_session.query(Pool).filter(Pool.proposer_id != other.id):
        assert f'id="pool-{pool.id}"' not in page


@pytest.mark.parametrize("value", ["abc", "-1", "1.5"])
def test_a_bad_choice_is_404_not_a_500(app, db_session, value):
    person = UserFactory()
    db_session.commit()
    assert signed_in(app, person).get(f"/commitments?for_whom={value}").status_code == 404


def test_choosing_myself_is_the_persons_own_page(app, db_session):
    person = UserFactory()
    db_session.commit()
    client = signed_in(app, person)
    assert client.get("/commitments?for_whom=me").status_code == 200
    assert client.get(f"/commitments?for_whom={person.id}").status_code == 200
