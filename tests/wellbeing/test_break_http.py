"""The break pages: choose, check what will happen (nothing changes yet), confirm, come back."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from marketplace.buddies import services as buddies
from marketplace.buddies.models import BuddyMatch, BuddyMessage, MatchStatus
from marketplace.carers import services as carers
from marketplace.carers.models import CarerScope
from marketplace.errors import NotAllowed
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


def test_the_buddy_is_told_the_pairing_is_paused_and_the_email_says_nothing_more(
    client, db_session, paired, mailbox
):
    seeker, buddy, _match = paired
    sign_in(client, seeker)
    post(client, "/break/check", {"length": "open"}, token_from="/break")
    email = mailbox.last_to(buddy.email)
    assert email["Subject"] == "Your budget buddy pairing is paused"
    body = email.get_payload(decode=True).decode()
    assert "break" not in body.lower()
    assert breaks.break_notice(seeker) in body


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


def test_only_the_person_on_the_break_can_lift_its_pause(app, db_session, paired):
    """Rosa (the buddy) sees Robin's pairing paused with no "Resume", cannot resume it on the
    server or message him; Robin can; the break's end lifts it."""
    seeker, buddy, match = paired
    breaks.start_break(db_session, seeker, "week")
    db_session.commit()
    pairing = f"/buddies/pairings/{match.id}"

    rosa = app.test_client()
    sign_in(rosa, buddy)
    page = rosa.get(pairing).get_data(as_text=True)
    assert "Resume the pairing" not in page
    assert "The pairing is paused until Robin is back. Messages wait until then" in page
    assert post(rosa, f"{pairing}/resume", token_from=pairing).status_code == 403
    assert status_of(db_session, match) == MatchStatus.PAUSED.value
    response = post(rosa, f"{pairing}/messages", {"body": "Are you there?"}, token_from=pairing)
    assert "You can send messages again when they are back" in response.get_data(as_text=True)
    with pytest.raises(NotAllowed):
        buddies.resume(db_session, buddy, match)
    db_session.rollback()

    robin = app.test_client()
    sign_in(robin, seeker)
    page = robin.get(pairing).get_data(as_text=True)
    assert "Your break paused this pairing. It picks up again when you come back" in page
    assert "Resume the pairing" in page

    breaks.end_break(db_session, seeker)  # "picks up again when they are back"
    db_session.commit()
    assert status_of(db_session, match) == MatchStatus.ACTIVE.value
    assert "Resume the pairing" not in rosa.get(pairing).get_data(as_text=True)


def test_the_person_on_the_break_may_pick_the_pairing_up_early(client, db_session, paired):
    seeker, _buddy, match = paired
    breaks.start_break(db_session, seeker, "open")
    db_session.commit()
    sign_in(client, seeker)
    pairing = f"/buddies/pairings/{match.id}"
    assert post(client, f"{pairing}/resume", token_from=pairing).status_code == 302
    assert status_of(db_session, match) == MatchStatus.ACTIVE.value


def test_a_pause_without_a_break_may_be_lifted_by_either_person(client, db_session, paired):
    seeker, buddy, match = paired
    buddies.pause(db_session, seeker, match)
    db_session.commit()
    sign_in(client, buddy)
    pairing = f"/buddies/pairings/{match.id}"
    page = client.get(pairing).get_data(as_text=True)
    assert "Either of you can pick it up again." in page and "Resume the pairing" in page
    assert post(client, f"{pairing}/resume", token_from=pairing).status_code == 302
    assert status_of(db_session, match) == MatchStatus.ACTIVE.value


def test_the_break_notice_shows_as_a_site_notice_that_nobody_can_report(client, db_session, paired):
    seeker, buddy, match = paired
    breaks.start_break(db_session, seeker, "week")
    db_session.commit()
    (notice,) = db_session.scalars(
        select(BuddyMessage).where(BuddyMessage.match_id == match.id)
    ).all()
    assert notice.is_notice
    sign_in(client, buddy)
    page = client.get(f"/buddies/pairings/{match.id}").get_data(as_text=True)
    assert "Notice from Budget Marketplace" in page
    assert "Report this message" not in page
    assert client.get(f"/report/buddy_message/{notice.id}").status_code == 404


def test_the_check_page_says_who_the_crisis_plan_emails_and_who_may_act_and_it_happens(
    app, client, db_session, paired, mailbox
):
    from marketplace.carers.models import CarerGrant
    from marketplace.db import as_utc
    from marketplace.wellbeing import crisis_plans
    from marketplace.wellbeing.crisis_plans import PlanInput

    seeker, buddy, _match = paired
    buddy.display_name = "Rosa"
    carer = UserFactory(display_name="Sam")
    _grant, token = carers.invite_carer(
        db_session, seeker, carer.email, [CarerScope.VIEW], ttl_seconds=3600
    )
    carers.accept_invitation(db_session, carer, token)
    with app.app_context():
        plan, _ = crisis_plans.save_plan(
            db_session,
            seeker,
            PlanInput(
                tell=[buddy.id], delegate=str(carer.id), scopes=[CarerScope.POOLS.value], days=10
            ),
            3600,
        )
        db_session.commit()
    sign_in(client, seeker)
    page = client.get("/break/check?length=week").get_data(as_text=True)
    assert "We will email Rosa and Sam to say you have started a break." in page
    assert "Sam may act for you for up to 10 days, until" in page
    assert "or until you come back if that is sooner." in page
    mailbox.clear()

    response = post(client, "/break/check", {"length": "week"}, token_from="/break")
    assert response.location.endswith("/break/started")
    told = {m["To"] for m in mailbox.messages if m["Subject"] == "Robin has started a break"}
    assert told == {buddy.email, carer.email}
    grant = db_session.scalars(select(CarerGrant).where(CarerGrant.id == plan.grant_id)).one()
    db_session.refresh(grant)
    brk = breaks.current_break(db_session, seeker.id)
    assert as_utc(grant.expires_at) == as_utc(brk.ends_at)  # a week, sooner than 10 days

    page = client.get("/break/started").get_data(as_text=True)
    assert "We have emailed Rosa and Sam to say you have started a break" in page
    assert "Sam may act for you until" in page


def test_without_a_crisis_plan_the_pages_promise_no_emails_to_anyone(client, db_session, paired):
    seeker, _buddy, _match = paired
    sign_in(client, seeker)
    assert "We will email" not in client.get("/break/check?length=week").get_data(as_text=True)
    post(client, "/break/check", {"length": "week"}, token_from="/break")
    assert "We have emailed" not in client.get("/break/started").get_data(as_text=True)
