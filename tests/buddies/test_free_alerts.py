""" "Tell me when a buddy who fits becomes free": one email, from the hourly job, when the
matcher finds someone who fits; never twice; stoppable."""

from __future__ import annotations

from marketplace.buddies import free_alerts
from marketplace.jobs.services import enqueue, run_next
from tests.buddies.builders import confirmed_buddy, seeker_request
from tests.helpers import post, sign_in

BUTTON = "Tell me when a buddy who fits becomes free"


def text(response) -> str:
    return response.get_data(as_text=True)


def signed_in(app, user):
    client = app.test_client()
    sign_in(client, user)
    return client


def _emails_to(mailbox, address: str) -> list:
    return [m for m in mailbox.messages if m["To"] == address]


def _run_job(app, db_session) -> list[str]:
    """Run the hourly job as the worker does, inside the app."""
    with app.app_context():
        enqueue(db_session, "buddies.tell_when_free")
        db_session.commit()
        ran = []
        while outcome := run_next(db_session, "test"):
            ran.append(f"{outcome.kind}:{outcome.outcome}")
    return ran


def test_one_email_when_a_buddy_who_fits_becomes_free(app, db_session, council, moderator, mailbox):
    seeker, request = seeker_request(db_session, council)
    db_session.commit()
    client = signed_in(app, seeker)
    page = text(client.get(f"/buddies/requests/{request.id}"))
    assert "Nobody who fits is free just now" in page and BUTTON in page
    response = post(
        client,
        f"/buddies/requests/{request.id}/tell-when-free",
        token_from=f"/buddies/requests/{request.id}",
    )
    page = text(client.get(response.headers["Location"]))
    assert "We will email you once when a buddy who fits becomes free. We look every hour." in page
    assert "Stop: do not email me" in page

    # Someone who does not fit (no language in common) is not a reason to email.
    confirmed_buddy(db_session, council, moderator, languages=("Polish",))
    db_session.commit()
    assert _run_job(app, db_session) == ["buddies.tell_when_free:done"]
    assert _emails_to(mailbox, seeker.email) == []

    buddy, _ = confirmed_buddy(db_session, council, moderator)
    db_session.commit()
    assert _run_job(app, db_session) == ["buddies.tell_when_free:done"]
    (email,) = _emails_to(mailbox, seeker.email)
    assert email["Subject"] == "A budget buddy who fits you is free"
    body = email.get_payload(decode=True).decode()
    assert f"/buddies/requests/{request.id}" in body
    assert "We will not email you about this again." in body
    assert buddy.display_name not in body  # who it is waits behind the sign-in

    # Once only: the next hour's run sends nothing more.
    assert _run_job(app, db_session) == ["buddies.tell_when_free:done"]
    assert free_alerts.tell_when_free(db_session) == 0
    assert len(_emails_to(mailbox, seeker.email)) == 1


def test_stopping_means_no_email(app, db_session, council, moderator, mailbox):
    seeker, request = seeker_request(db_session, council)
    db_session.commit()
    client = signed_in(app, seeker)
    post(
        client,
        f"/buddies/requests/{request.id}/tell-when-free",
        token_from=f"/buddies/requests/{request.id}",
    )
    response = post(
        client,
        f"/buddies/requests/{request.id}/tell-when-free/stop",
        token_from=f"/buddies/requests/{request.id}",
    )
    page = text(client.get(response.headers["Location"]))
    assert "We will not email you when a buddy becomes free" in page and BUTTON in page
    confirmed_buddy(db_session, council, moderator)
    db_session.commit()
    assert free_alerts.tell_when_free(db_session) == 0
    assert _emails_to(mailbox, seeker.email) == []


def test_not_offered_when_there_are_suggestions(app, db_session, council, moderator):
    confirmed_buddy(db_session, council, moderator)
    seeker, request = seeker_request(db_session, council)
    db_session.commit()
    client = signed_in(app, seeker)
    assert BUTTON not in text(client.get(f"/buddies/requests/{request.id}"))
    response = post(
        client,
        f"/buddies/requests/{request.id}/tell-when-free",
        token_from=f"/buddies/requests/{request.id}",
    )
    assert "There are buddies who fit you now" in text(client.get(response.headers["Location"]))
