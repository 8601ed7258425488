"""The ask and offer forms as question pages: one question a page, Back, Continue, answers
kept in the session, "Check your answers" with Change links, then one send."""

from __future__ import annotations

import re

from marketplace.buddies import services
from marketplace.buddies.models import BuddyProfile, BuddyRequest
from marketplace.carers import services as carers
from marketplace.carers.models import CarerScope
from tests.buddies.builders import confirmed_buddy
from tests.buddies.questions import answer_pages, ask_pages, path_of
from tests.factories import UserFactory
from tests.helpers import post, sign_in


def text(response) -> str:
    return response.get_data(as_text=True)


def signed_in(app, user):
    client = app.test_client()
    sign_in(client, user)
    return client


def test_each_question_is_the_page_heading_with_back_and_continue(app, db_session, council):
    client = signed_in(app, UserFactory())
    assert path_of(client.get("/buddies/ask")) == "/buddies/ask/help"
    page = text(client.get("/buddies/ask/help"))
    # The question is the legend, and the legend is the page's only heading.
    assert re.search(
        r'<legend class="govuk-fieldset__legend govuk-fieldset__legend--l">\s*'
        r'<h1 class="govuk-fieldset__heading">\s*What would you like help with\?',
        page,
    )
    assert page.count("<h1") == 1
    assert "<title>What would you like help with?" in page
    assert 'class="govuk-back-link">Back</a>' in page and 'href="/buddies"' in page
    assert ">\n  Continue\n</button>" in page or "Continue</button>" in page

    path = path_of(post(client, "/buddies/ask/help", {"wants": ["ideas"]}))
    assert path == "/buddies/ask/council"
    page = text(client.get(path))
    assert '<label class="govuk-label govuk-label--l" for="council_id">' in page
    assert 'href="/buddies/ask/help"' in page  # Back goes to the question before
    # The answer is kept: going back shows it ticked.
    assert re.search(r'value="ideas"\s+checked', text(client.get("/buddies/ask/help")))


def test_empty_required_question_is_refused_beside_the_field(app, db_session, council):
    client = signed_in(app, UserFactory())
    client.get("/buddies/ask")
    response = post(client, "/buddies/ask/help", {})
    assert response.status_code == 200
    page = text(response)
    assert "<title>Error: What would you like help with?" in page
    assert 'href="#wants"' in page
    assert "Choose at least one thing you would like help with" in page


def test_check_your_answers_change_links_come_back_to_the_check_page(app, db_session, council):
    client = signed_in(app, UserFactory())
    check = answer_pages(client, "ask", ask_pages(council))
    assert check == "/buddies/ask/check"
    page = text(client.get(check))
    assert "Check your answers before asking for a buddy" in page
    assert "Finding and employing a personal assistant" in page and "Evenings" in page
    change = 'href="/buddies/ask/times">Change<span class="govuk-visually-hidden"> when suits you'
    assert change in page
    # Changing one answer goes straight back to the check page, which shows the new answer.
    response = post(client, "/buddies/ask/times", {"times": ["weekends"]})
    assert path_of(response) == "/buddies/ask/check"
    page = text(client.get(check))
    assert "Weekends" in page and "Evenings" not in page
    assert db_session.query(BuddyRequest).count() == 0  # nothing is saved before sending


def test_asking_with_nobody_to_suggest_does_not_say_here_are_the_people(app, db_session, council):
    seeker = UserFactory()
    db_session.commit()
    client = signed_in(app, seeker)
    check = answer_pages(client, "ask", ask_pages(council))
    response = post(client, check)
    page = text(client.get(response.headers["Location"]))
    assert "You have asked for a buddy" in page
    assert "Here are the people we suggest" not in page
    assert "Nobody who fits is free just now" in page
    # The answers are gone once sent: asking again starts afresh.
    assert path_of(client.get("/buddies/ask")) == "/buddies/ask/help"


def test_a_carer_is_asked_who_it_is_for_first(app, db_session, council):
    holder, carer = UserFactory(), UserFactory()
    _, token = carers.invite_carer(db_session, holder, carer.email, [CarerScope.BUDDYING], 3600)
    carers.accept_invitation(db_session, carer, token)
    db_session.commit()
    client = signed_in(app, carer)
    assert path_of(client.get("/buddies/ask")) == "/buddies/ask/who"
    check = answer_pages(client, "ask", ask_pages(council, who={"for_whom": str(holder.id)}))
    assert f"for {holder.display_name}" in text(client.get(check))
    post(client, check)
    (made,) = services.requests_of(db_session, holder.id)
    assert made.seeker_id == holder.id
    # Coming from "ask for a buddy for ..." answers the first question already.
    assert path_of(client.get(f"/buddies/ask?for={holder.id}")) == "/buddies/ask/help"


def test_changing_an_offer_opens_at_check_your_answers(app, db_session, council, moderator):
    user, profile = confirmed_buddy(db_session, council, moderator)
    db_session.commit()
    client = signed_in(app, user)
    assert path_of(client.get("/buddies/offer")) == "/buddies/offer/check"
    page = text(client.get("/buddies/offer/check"))
    assert "Change your buddy offer" in page and "Save changes" in page
    assert path_of(post(client, "/buddies/offer/times", {"times": ["weekends"]})) == (
        "/buddies/offer/check"
    )
    response = post(client, "/buddies/offer/check")
    assert path_of(response) == "/buddies"
    assert "Your changes are saved" in text(client.get("/buddies"))
    saved = db_session.get(BuddyProfile, profile.id, populate_existing=True)
    assert saved.time_set == {"weekends"} and saved.status == "confirmed"
