"""The break pages: choose, check what will happen (nothing changes yet), confirm, come back."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from marketplace.buddies import services as buddies
from marketplace.buddies.models import BuddyMatch, MatchStatus
from marketplace.carers import services as carers
from marketplace.carers.models import CarerScope
from marketplace.wellbeing import breaks
from tests.buddies.builders import confirmed_buddy, seeker_request
from tests.factories import UserFactory
from tests.helpers import post, sign_in


@pytest.fixture
def paired(db_session, council, moderator):
    """A seeker (Robin) in an active pairing with a buddy."""
    buddy, profile = confirmed_buddy(db_session, council, moderator)
    seeker, request = seeker_request(db_session, council)
    seeker.display_name = "Robin"
    match = buddies.propose(db_session, request, profile)
    buddies.accept(db_session, buddy, match)
    db_session.commit()
    return seeker, buddy, match


def status_of(db_session, match) -> str:
    """The pairing's status as the database has it now (the views use their own session)."""
    return db_session.scalar(select(BuddyMatch.status).where(BuddyMatch.id == match.id))


def test_signed_out_people_are_sent_to_sign_in(client):
    for path in ("/break", "/break/check?length=week", "/break/started"):
        response = client.get(path)
        assert response.status_code == 302 and "/sign-in" in response.location
    assert client.post("/break/end").status_code in (302, 400)


def test_the_navigation_offers_a_break(client, db_session):
    person = UserFactory()
    db_session.commit()
    sign_in(client, person)
    page = client.get("/account").get_data(as_text=True)
    assert "Take a break" in page and "on a break" not in page


def test_choosing_nothing_puts_the_error_beside_the_field(client, db_session):
    person = UserFactory()
    db_session.commit()
    sign_in(client, person)
    response = post(client, "/break", {})
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Error: Take a break" in page
    assert 'href="#length"' in page and "Choose how long your break will be" in page
    assert 'id="length-error"' in page


def test_check_shows_the_summary_and_nothing_changes_before_confirming(client, db_session, paired):
    seeker, buddy, match = paired
    sign_in(client, seeker)
    response = post(client, "/break", {"length": "month"})
    assert response.status_code == 302 and response.location.endswith("/break/check?length=month")

    page = client.get(response.location).get_data(as_text=True)
    assert "Check what will happen" in page
    assert f"Budget buddy pairing with {buddy.display_name}" in page
    assert "Robin is taking a break and will be back in touch." in page
    assert "Only emails about money that is due" in page
    assert not breaks.is_on_break(db_session, seeker.id)
    assert status_of(db_session, match) == MatchStatus.ACTIVE.value

    response = post(client, "/break/check", {"length": "month"}, token_from="/break")
    assert response.status_code == 302 and response.location.endswith("/break/started")
    assert "Your break has started" in client.get("/break/started").get_data(as_text=True)
    assert breaks.is_on_break(db_session, seeker.id)
    assert status_of(db_session, match) == MatchStatus.PAUSED.value

    page = client.get("/break").get_data(as_text=True)
    assert "You are taking a break" in page and "You're on a break" in page
    response = post(client, "/break/end", token_from="/break")
    assert response.status_code == 302
    assert "Everything is as you left it" in client.get("/break").get_data(as_text=True)
    assert not breaks.is_on_break(db_session, seeker.id)
    assert status_of(db_session, match) == MatchStatus.ACTIVE.value


def test_the_other_person_sees_only_the_neutral_message(client, db_session, paired):
    seeker, buddy, match = paired
    breaks.start_break(db_session, seeker, "week")
    db_session.commit()
    sign_in(client, buddy)
    page = client.get(f"/buddies/pairings/{match.id}").get_data(as_text=True)
    assert "Robin is taking a break and will be back in touch." in page
    assert page.count("taking a break") == 1  # that message, and nothing more


def test_an_unknown_length_goes_back_to_the_choice(client, db_session):
    person = UserFactory()
    db_session.commit()
    sign_in(client, person)
    response = client.get("/break/check?length=fortnight")
    assert response.status_code == 302 and response.location.endswith("/break")


def test_the_buddy_is_emailed_as_for_any_message_and_the_email_says_nothing_more(
    client, db_session, paired, mailbox
):
    seeker, buddy, _match = paired
    sign_in(client, seeker)
    post(client, "/break/check", {"length": "open"}, token_from="/break")
    email = mailbox.last_to(buddy.email)
    assert email["Subject"] == "You have a new message from your budget buddy"
    assert "break" not in email.get_payload(decode=True).decode().lower()


def test_a_carer_with_the_wellbeing_grant_starts_and_ends_a_break_for_the_holder(
    client, db_session, paired
):
    seeker, _buddy, match = paired
    carer = UserFactory(email="carer@example.org")
    grant, token = carers.invite_carer(
        db_session, seeker, carer.email, [CarerScope.WELLBEING], ttl_seconds=3600
    )
    carers.accept_invitation(db_session, carer, token)
    db_session.commit()
    sign_in(client, carer)

    page = client.get("/break").get_data(as_text=True)
    assert f"Take a break for {seeker.display_name}" in page
    path = f"/break?for={seeker.id}"
    assert f"Take a break for {seeker.display_name}" in client.get(path).get_data(as_text=True)
    response = post(client, path, {"length": "week"})
    assert response.location.endswith(f"/break/check?length=week&for={seeker.id}")
    assert "For Robin" in client.get(response.location).get_data(as_text=True)
    response = post(client, f"/break/check?for={seeker.id}", {"length": "week"}, token_from=path)
    assert response.location.endswith(f"/break/started?for={seeker.id}")
    assert breaks.is_on_break(db_session, seeker.id)
    assert not breaks.is_on_break(db_session, carer.id)
    assert status_of(db_session, match) == MatchStatus.PAUSED.value

    page = client.get(path).get_data(as_text=True)
    assert "Robin is taking a break" in page and "End the break for Robin" in page
    post(client, f"/break/end?for={seeker.id}", token_from=path)
    assert not breaks.is_on_break(db_session, seeker.id)
    assert status_of(db_session, match) == MatchStatus.ACTIVE.value

    # Without the grant, someone else's break pages do not exist.
    carers.change_scopes(db_session, seeker, grant.id, [CarerScope.BUDDYING])
    db_session.commit()
    assert client.get(path).status_code == 404
    assert client.get(f"/break?for={UserFactory().id}").status_code == 404


def test_the_started_page_points_to_the_persons_own_crisis_plan(client, db_session):
    from marketplace.wellbeing import crisis_plans

    person = UserFactory()
    db_session.commit()
    sign_in(client, person)
    post(client, "/break/check", {"length": "week"}, token_from="/break")
    assert "Read your crisis plan" not in client.get("/break/started").get_data(as_text=True)
    post(client, "/break/end", {}, token_from="/break")

    crisis_plans.save_plan(
        db_session, person, crisis_plans.PlanInput(message="Call my sister"), 3600
    )
    db_session.commit()
    post(client, "/break/check", {"length": "week"}, token_from="/break")
    page = client.get("/break/started").get_data(as_text=True)
    assert "Read your crisis plan" in page
    assert "Call my sister" not in page  # reading it is their choice (and an audited view)


def test_a_running_pool_place_can_be_offered_to_the_waiting_list(
    app, client, db_session, council, moderator, provider
):
    from tests.wellbeing.test_break_pool_places import full_running_pool

    with app.app_context():  # funding reads the app's config; the client's requests must not
        pool, members, waiting = full_running_pool(db_session, council, moderator, provider)
        db_session.commit()
    # Open-ended: the pool's months start on its quote's start date (tomorrow here), so a
    # break of a month from today would end before month two starts and lend nothing.
    away = members[0]
    sign_in(client, away)
    page = client.get("/break").get_data(as_text=True)
    assert "what should happen to your place in a running pool?" in page
    response = post(client, "/break", {"length": "open", "places": "lend"})
    assert response.location.endswith("/break/check?length=open&places=lend")
    page = client.get(response.location).get_data(as_text=True)
    assert "Offered to the first person on the waiting list" in page
    response = post(
        client, "/break/check", {"length": "open", "places": "lend"}, token_from="/break"
    )
    assert response.status_code == 302
    from marketplace.pools.models import PlaceLoan

    loan = db_session.scalars(select(PlaceLoan)).one()
    assert loan.borrower.user_id == waiting.id and loan.lender.user_id == away.id


def test_the_navigation_reads_the_break_with_the_person_in_one_query(client, db_session, app):
    """Every signed-in page says "Take a break" or "You're on a break": that must not cost a
    query of its own on each page."""
    from sqlalchemy import event

    from marketplace.extensions import db

    person = UserFactory()
    db_session.commit()
    sign_in(client, person)
    with app.app_context():
        engine = db.engine
    statements: list[str] = []

    def note(_conn, _cursor, statement, *_args):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", note)

    def about_breaks(path: str) -> tuple[str, list[str]]:
        statements.clear()
        page = client.get(path).get_data(as_text=True)
        return page, [s for s in statements if "wellbeing_breaks" in s]

    try:
        page, queries = about_breaks("/")
        assert "Take a break" in page
        assert len(queries) == 1 and "FROM users" in queries[0]
        breaks.start_break(db_session, person, "week")
        db_session.commit()
        page, queries = about_breaks("/")
        assert "You're on a break" in page
        assert len(queries) == 1 and "FROM users" in queries[0]
    finally:
        event.remove(engine, "before_cursor_execute", note)
