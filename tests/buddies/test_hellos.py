"""One short hello before asking: once per buddy, emailed without its words, answered once or
not, reportable, with crisis signposting for the writer."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from marketplace.buddies import hellos
from marketplace.buddies.models import BuddyHello, BuddyRequest
from marketplace.carers import services as carers
from marketplace.carers.models import CarerScope
from marketplace.errors import DomainError
from marketplace.notifications import preferences
from marketplace.notifications.models import DigestItem, Frequency
from tests.buddies.builders import confirmed_buddy, seeker_request
from tests.factories import UserFactory
from tests.helpers import post, sign_in

HELLO = "Hi Bea, did you find a PA through an agency? <i>x</i>"
ESCAPED = "Hi Bea, did you find a PA through an agency? &lt;i&gt;x&lt;/i&gt;"
SIGNPOST = "If you need help now</h2>"


def text(response) -> str:
    return response.get_data(as_text=True)


def signed_in(app, user):
    client = app.test_client()
    sign_in(client, user)
    return client


@pytest.fixture
def suggested(db_session, council, moderator):
    buddy, profile = confirmed_buddy(db_session, council, moderator)
    seeker, request = seeker_request(db_session, council)
    db_session.commit()
    return seeker, request, buddy, profile


def body_of(email) -> str:
    return email.get_payload(decode=True).decode()


def test_a_seeker_says_hello_once_and_the_buddy_answers_once(app, db_session, suggested, mailbox):
    seeker, request, buddy, profile = suggested
    request_id, profile_id = request.id, profile.id
    client = signed_in(app, seeker)
    page = text(client.get(f"/buddies/requests/{request.id}"))
    assert f"Say hello to {buddy.display_name} first" in page
    say = f"/buddies/requests/{request.id}/hello/{profile.id}"
    page = text(client.get(say))
    promise = (
        f"We email {buddy.display_name} to say there is a hello, without your words. "
        "They can answer once, or not"
    )
    assert promise in page
    response = post(client, say, {"body": HELLO})
    assert response.status_code == 302
    email = mailbox.last_to(buddy.email)
    assert email["Subject"] == "Someone said hello"
    assert "agency" not in body_of(email) and seeker.display_name not in email["Subject"]
    (hello,) = db_session.scalars(select(BuddyHello)).all()
    assert f"/buddies/hellos/{hello.id}" in body_of(email)

    # A second hello to the same buddy is refused, with a clear message.
    page = text(client.get(f"/buddies/requests/{request.id}"))
    assert "You said hello on" in page
    page = text(post(client, say, {"body": "Hello again"}))
    assert f"You have already said hello to {buddy.display_name}" in page
    again = db_session.get(BuddyRequest, request_id)
    with pytest.raises(DomainError, match="already said hello"):
        hellos.say_hello(db_session, again.seeker, again, profile_id, "Hello again")
    db_session.rollback()
    assert db_session.query(BuddyHello).count() == 1

    buddy_client = signed_in(app, buddy)
    assert f"Hello from {seeker.display_name}" in text(buddy_client.get("/buddies"))
    page = text(buddy_client.get(f"/buddies/hellos/{hello.id}"))
    assert ESCAPED in page and HELLO not in page
    assert "You can answer once. You do not have to answer." in page
    response = post(buddy_client, f"/buddies/hellos/{hello.id}", {"body": "Yes, a local one."})
    assert response.status_code == 302
    email = mailbox.last_to(seeker.email)
    assert email["Subject"] == "Your hello has an answer"
    assert "local one" not in body_of(email)
    page = text(client.get(f"/buddies/hellos/{hello.id}"))
    assert "Yes, a local one." in page
    # Once: the form is gone, and a second answer is refused.
    page = text(buddy_client.get(f"/buddies/hellos/{hello.id}"))
    assert "Send answer" not in page
    page = text(post(buddy_client, f"/buddies/hellos/{hello.id}", {"body": "And another"}))
    assert "You have already answered this hello" in page
    # The seeker cannot answer their own hello.
    assert post(client, f"/buddies/hellos/{hello.id}", {"body": "Me"}).status_code == 403


def test_a_hello_is_only_to_a_current_suggestion_and_seen_only_by_the_two(
    app, db_session, suggested, council, moderator
):
    seeker, request, buddy, profile = suggested
    other, other_profile = confirmed_buddy(db_session, council, moderator, languages=("Polish",))
    db_session.commit()
    with app.test_request_context():
        with pytest.raises(DomainError, match="no longer available"):
            hellos.say_hello(db_session, seeker, request, other_profile.id, "Hello")
        hello = hellos.say_hello(db_session, seeker, request, profile.id, "Hello")
        db_session.commit()
    stranger = signed_in(app, UserFactory())
    assert stranger.get(f"/buddies/hellos/{hello.id}").status_code == 404
    assert stranger.get(f"/buddies/requests/{request.id}/hello/{profile.id}").status_code == 404


def test_hello_length_and_crisis_signpost_for_the_writer(app, db_session, suggested):
    seeker, request, buddy, profile = suggested
    client = signed_in(app, seeker)
    say = f"/buddies/requests/{request.id}/hello/{profile.id}"
    page = text(post(client, say, {"body": "x" * 301}))
    assert "Your hello must be 300 characters or fewer" in page and 'id="body-error"' in page
    response = post(client, say, {"body": "Some days I want to die, is that normal?"})
    page = text(client.get(response.headers["Location"]))
    assert SIGNPOST in page
    buddy_page = text(signed_in(app, buddy).get(response.headers["Location"]))
    assert SIGNPOST not in buddy_page


def test_hellos_and_answers_are_reportable_by_the_one_who_received_them(app, db_session, suggested):
    seeker, request, buddy, profile = suggested
    with app.test_request_context():
        hello = hellos.say_hello(db_session, seeker, request, profile.id, "Hello")
        db_session.commit()
    hello_id = hello.id
    buddy_client = signed_in(app, buddy)
    assert "Report this hello" in text(buddy_client.get(f"/buddies/hellos/{hello.id}"))
    assert buddy_client.get(f"/report/buddy_hello/{hello.id}").status_code == 200
    seeker_client = signed_in(app, seeker)
    assert seeker_client.get(f"/report/buddy_hello/{hello.id}").status_code == 404
    with app.test_request_context():
        hello = db_session.get(BuddyHello, hello_id)
        hellos.answer(db_session, hello.buddy_user, hello, "Hi")
        db_session.commit()
    assert "Report this answer" in text(seeker_client.get(f"/buddies/hellos/{hello.id}"))
    assert seeker_client.get(f"/report/buddy_hello_answer/{hello.id}").status_code == 200
    assert buddy_client.get(f"/report/buddy_hello_answer/{hello.id}").status_code == 404


def test_the_hello_email_follows_the_buddys_email_choices(app, db_session, suggested, mailbox):
    seeker, request, buddy, profile = suggested
    preferences.set_frequency(db_session, buddy, Frequency.WEEKLY_DIGEST.value)
    db_session.commit()
    mailbox.clear()
    post(
        signed_in(app, seeker),
        f"/buddies/requests/{request.id}/hello/{profile.id}",
        {"body": "Hello"},
    )
    assert [m for m in mailbox.messages if m["To"] == buddy.email] == []
    kept = db_session.scalars(select(DigestItem).where(DigestItem.user_id == buddy.id)).all()
    assert [item.subject for item in kept] == ["Someone said hello"]


def test_a_carer_says_hello_for_the_holder_and_reads_the_answer(app, db_session, suggested):
    seeker, request, buddy, profile = suggested
    carer = UserFactory()
    _, token = carers.invite_carer(db_session, seeker, carer.email, [CarerScope.BUDDYING], 3600)
    carers.accept_invitation(db_session, carer, token)
    db_session.commit()
    client = signed_in(app, carer)
    response = post(
        client, f"/buddies/requests/{request.id}/hello/{profile.id}", {"body": "Hello from Sam"}
    )
    page = text(client.get(response.headers["Location"]))
    assert "Your hello to" in page and "Hello from Sam" in page
    (action,) = carers.actions_for_holder(db_session, seeker)
    assert action.description == "Said hello to a suggested budget buddy"
