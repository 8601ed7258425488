"""Each one-click action end to end: the real email arrives, the link is followed without
signing in, and the feature's own service does the change."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from marketplace.buddies.models import BuddyMatch, MatchStatus
from marketplace.memberships import services as memberships
from marketplace.memberships.models import Basis, LogStatus, TimeLog
from marketplace.memberships.services import OfferData
from marketplace.pools.models import Vote
from tests.buddies.builders import confirmed_buddy, seeker_request
from tests.factories import UserFactory
from tests.helpers import post, sign_in
from tests.memberships.conftest import KINDS, make_ulo
from tests.notifications.helpers import body_of, do_paths, follow, text
from tests.pools.builders import approved_pool, join_by_invoice, quote


def signed_in(app, user):
    client = app.test_client()
    sign_in(client, user)
    return client


def _match(db_session, match_id: int) -> BuddyMatch:
    return db_session.get(BuddyMatch, match_id, populate_existing=True)


def test_accept_a_buddy_request_then_pause_from_the_emails(
    app, db_session, council, moderator, mailbox
):
    buddy, profile = confirmed_buddy(db_session, council, moderator)
    seeker, request = seeker_request(db_session, council)
    db_session.commit()
    response = post(
        signed_in(app, seeker),
        f"/buddies/requests/{request.id}/ask/{profile.id}",
        token_from=f"/buddies/requests/{request.id}",
    )
    assert response.status_code == 302
    match_id = db_session.scalars(select(BuddyMatch.id)).one()

    asked = mailbox.last_to(buddy.email)
    accept_path, fewer_path = do_paths(asked)  # say yes, and the footer's fewer emails
    assert "To say yes now with one click" in body_of(asked)
    client = app.test_client()  # not signed in: another device, straight from the email
    page = client.get(accept_path)
    assert "Say yes to being a budget buddy" in text(page)
    assert seeker.display_name not in text(page)
    assert _match(db_session, match_id).status == MatchStatus.PROPOSED.value  # GET did nothing

    done = follow(client, accept_path)
    assert done.status_code == 200 and "You are now buddies" in text(done)
    assert _match(db_session, match_id).status == MatchStatus.ACTIVE.value

    told = mailbox.last_to(seeker.email)
    assert told["Subject"] == "You have a budget buddy"
    pause_path = do_paths(told)[0]
    done = follow(app.test_client(), pause_path)
    assert done.status_code == 200 and "paused" in text(done)
    assert _match(db_session, match_id).status == MatchStatus.PAUSED.value
    assert fewer_path != accept_path


def test_saying_yes_on_the_site_also_sends_the_seeker_a_pause_link(
    app, db_session, council, moderator, mailbox
):
    from marketplace.buddies import services as buddies

    buddy, profile = confirmed_buddy(db_session, council, moderator)
    seeker, request = seeker_request(db_session, council)
    match = buddies.propose(db_session, request, profile)
    db_session.commit()
    response = post(
        signed_in(app, buddy),
        f"/buddies/pairings/{match.id}/accept",
        token_from=f"/buddies/pairings/{match.id}",
    )
    assert response.status_code == 302
    pause_path = do_paths(mailbox.last_to(seeker.email))[0]
    assert "pause your budget buddy pairing" in text(app.test_client().get(pause_path)).lower()


def test_a_link_cannot_be_used_by_someone_else_to_act_on_another_pairing(
    app, db_session, council, moderator, mailbox
):
    # The link acts as the person it was emailed to; the service refuses anyone else's
    # pairing, so guessing match ids in params (which are never in the URL) gets nowhere.
    from marketplace.notifications import links

    buddy, profile = confirmed_buddy(db_session, council, moderator)
    seeker, request = seeker_request(db_session, council)
    from marketplace.buddies import services as buddies

    match = buddies.propose(db_session, request, profile)
    stranger = UserFactory()
    db_session.commit()
    with app.test_request_context():
        url = links.make_link(db_session, stranger, "accept_buddy", {"match_id": match.id})
        db_session.commit()  # before the context ends and takes the session with it
    response = follow(app.test_client(), url[url.index("/do/") :])
    assert response.status_code == 410
    assert _match(db_session, match.id).status == MatchStatus.PROPOSED.value


def test_vote_for_a_quote_from_the_vote_email(app, db_session, council, moderator, mailbox):
    from marketplace.organisations.models import OrganisationKind
    from tests.factories import OrganisationFactory, StaffFactory

    org = OrganisationFactory(kind=OrganisationKind.PROVIDER.value)
    org.councils.append(council)
    staff = UserFactory(roles=["provider_staff"])
    StaffFactory(organisation=org, user=staff)
    pool = approved_pool(db_session, council, moderator)
    members = join_by_invoice(db_session, pool, 3)
    offer = quote(db_session, (staff, org), pool)
    db_session.commit()

    response = post(
        signed_in(app, pool.proposer),
        f"/pools/{pool.id}/vote/open",
        {"days": "7"},
        token_from=f"/pools/{pool.id}",
    )
    assert response.status_code == 302
    email = mailbox.last_to(members[0].email)
    assert email["Subject"] == "Please vote: choose a quote for your pool"
    vote_path = do_paths(email)[0]
    client = app.test_client()
    page = text(client.get(vote_path))
    assert f"Vote for {org.name}&#39;s quote" in page and "does not take any money" in page
    assert db_session.scalars(select(Vote)).first() is None  # GET did nothing

    done = follow(client, vote_path)
    assert done.status_code == 200 and "Your vote" in text(done)
    (ballot,) = db_session.scalars(select(Vote)).all()
    assert (ballot.user_id, ballot.quote_id) == (members[0].id, offer.id)
    assert client.get(vote_path).status_code == 410  # used


def test_confirm_logged_hours_from_the_email_to_ulo_staff(app, db_session, mailbox):
    staff, org = make_ulo(db_session)
    memberships.set_offer(db_session, staff, org, OfferData(None, 240, KINDS))
    giver = UserFactory()
    membership = memberships.join(db_session, giver, org, Basis.RECIPROCITY.value)
    db_session.commit()
    today = date.today()  # noqa: DTZ011 - the form's own "today"
    response = post(
        signed_in(app, giver),
        f"/memberships/{membership.id}/time/new",
        {
            "kind": "events",
            "recipient": "ulo",
            "given_on": [str(today.day), str(today.month), str(today.year)],
            "hours": "2",
            "minutes": "30",
            "description": "Helped at the open day",
        },
    )
    assert response.status_code == 302
    entry = db_session.scalars(select(TimeLog)).one()

    email = mailbox.last_to(staff.email)
    assert email["Subject"] == "Please confirm hours given"
    assert f"{giver.display_name} says they gave 2 hours 30 minutes" in body_of(email)
    client = app.test_client()
    assert "Confirm that" in text(client.get(do_paths(email)[0]))
    done = follow(client, do_paths(email)[0])
    assert done.status_code == 200 and "confirmed" in text(done)
    entry = db_session.get(TimeLog, entry.id, populate_existing=True)
    assert entry.status == LogStatus.CONFIRMED.value and entry.decided_by_id == staff.id
