"""The crisis plan pages: write it, read it as a named person, 404 for everyone else."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from marketplace.audit import AuditEntry
from marketplace.carers import services as carers
from marketplace.carers.models import CarerScope
from marketplace.wellbeing import crisis_plans
from tests.factories import UserFactory
from tests.helpers import post, sign_in


@pytest.fixture
def people(db_session):
    """Robin, with a carer (Sam); and someone else."""
    person = UserFactory(display_name="Robin")
    carer = UserFactory(display_name="Sam")
    _grant, token = carers.invite_carer(db_session, person, carer.email, [CarerScope.VIEW], 3600)
    carers.accept_invitation(db_session, carer, token)
    stranger = UserFactory(display_name="Kit")
    db_session.commit()
    return person, carer, stranger


def views(db_session) -> int:
    return db_session.scalar(
        select(func.count())
        .select_from(AuditEntry)
        .where(AuditEntry.action == "crisis_plan.viewed")
    )


def write_plan(client, person, carer, **extra):
    sign_in(client, person)
    data = {
        "tell": [str(carer.id)],
        "pause": ["buddies", "emails"],
        "delegate": str(carer.id),
        "scopes": ["pools"],
        "days": "14",
        "message": "Please text rather than call.",
        **extra,
    }
    return post(client, "/account/crisis-plan", data, token_from="/account")


def test_the_person_writes_their_plan_and_each_view_is_audited(client, db_session, people):
    person, carer, _ = people
    response = write_plan(client, person, carer)
    assert response.status_code == 302
    before = views(db_session)
    page = client.get("/account/crisis-plan").get_data(as_text=True)
    assert "Please text rather than call." in page and "Sam" in page
    assert "Delete my plan" in page
    assert views(db_session) == before + 1
    assert "Your crisis plan" in client.get("/account").get_data(as_text=True)


def test_mistakes_show_beside_the_field(client, db_session, people):
    person, carer, _ = people
    response = write_plan(client, person, carer, days="200", scopes=[])
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Error: Your crisis plan" in page
    assert 'id="days-error"' in page and "Enter a number from 1 to 90" in page


def test_a_person_not_in_the_list_cannot_be_named(client, db_session, people):
    person, carer, stranger = people
    response = write_plan(client, person, carer, tell=[str(stranger.id)])
    assert response.status_code == 200
    assert crisis_plans.plan_of(db_session, person.id) is None


def test_named_people_can_read_it_and_others_get_404(app, db_session, people):
    person, carer, stranger = people
    write_plan(app.test_client(), person, carer)
    plan = crisis_plans.plan_of(db_session, person.id)
    assert plan is not None

    named = app.test_client()
    sign_in(named, carer)
    listing = named.get("/account/crisis-plans").get_data(as_text=True)
    assert f"/crisis-plans/{plan.id}" in listing
    before = views(db_session)
    response = named.get(f"/crisis-plans/{plan.id}")
    assert response.status_code == 200
    assert "Please text rather than call." in response.get_data(as_text=True)
    assert views(db_session) == before + 1

    other = app.test_client()
    sign_in(other, stranger)
    assert other.get(f"/crisis-plans/{plan.id}").status_code == 404
    assert f"/crisis-plans/{plan.id}" not in other.get("/account/crisis-plans").get_data(
        as_text=True
    )
    assert views(db_session) == before + 1


def test_deleting_the_plan(client, db_session, people):
    person, carer, _ = people
    write_plan(client, person, carer)
    response = post(client, "/account/crisis-plan/delete", {}, token_from="/account")
    assert response.status_code == 302
    assert crisis_plans.plan_of(db_session, person.id) is None


def test_someone_named_by_email_is_invited_for_breaks_only(client, db_session, people, mailbox):
    person, carer, _ = people
    mailbox.clear()
    response = write_plan(client, person, carer, delegate="email", delegate_email="ali@example.org")
    assert response.status_code == 302
    message = mailbox.last_to("ali@example.org")
    body = message.get_payload(decode=True).decode()
    assert "named you in their crisis plan" in body and "up to 14 days" in body
    assert "/carer/invitation/" in body
    carers_page = client.get("/account/carers").get_data(as_text=True)
    assert "Invited (crisis plan)" in carers_page
