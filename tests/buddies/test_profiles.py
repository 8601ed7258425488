"""A buddy's "about me", the topics they like to help with and when they are free, shown with
the suggestions a seeker sees; the words only once the local ULO has read them."""

from __future__ import annotations

import pytest

from marketplace.buddies import profiles, services
from marketplace.buddies.models import BuddyProfile
from marketplace.errors import DomainError
from marketplace.moderation import services as moderation
from marketplace.moderation.models import Decision
from tests.buddies.builders import confirmed_buddy, offer, seeker_request
from tests.buddies.questions import answer_pages, offer_pages
from tests.factories import UserFactory
from tests.helpers import post, sign_in

WORDS = "I was scared of employing a PA. <b>Now</b> I help others."
ESCAPED = "I was scared of employing a PA. &lt;b&gt;Now&lt;/b&gt; I help others."


def text(response) -> str:
    return response.get_data(as_text=True)


def signed_in(app, user):
    client = app.test_client()
    sign_in(client, user)
    return client


def _suggestions_page(app, db_session, council, **asked) -> str:
    seeker, request = seeker_request(db_session, council, **asked)
    db_session.commit()
    return text(signed_in(app, seeker).get(f"/buddies/requests/{request.id}"))


def test_about_me_is_read_by_the_ulo_with_the_offer_then_shown_with_suggestions(
    app, db_session, council, moderator
):
    user = UserFactory()
    db_session.commit()
    client = signed_in(app, user)
    client.get("/buddies/offer")
    page = text(client.get("/buddies/offer/about-me"))
    sentence = "Your local user-led organisation reads it before anyone else sees it."
    assert sentence in page
    check = answer_pages(client, "offer", offer_pages(council, **{"about-me": {"about_me": WORDS}}))
    assert ESCAPED in text(client.get(check))
    post(client, check)
    profile = services.profile_of(db_session, user.id)
    assert profile.about_me is None and profile.about_me_pending == WORDS  # shown to nobody

    (item,) = moderation.open_entries_for(db_session, services.ITEM_BUDDY_OFFER, profile.id)
    staff = signed_in(app, moderator)
    page = text(staff.get(f"/moderation/items/{item.id}"))
    assert ESCAPED in page and WORDS not in page
    assert "if the words are not right to show, do not confirm" in page
    post(staff, f"/moderation/items/{item.id}", {"decision": "approve", "reason": ""})

    page = _suggestions_page(app, db_session, council, times=("weekends",))
    assert user.display_name in page
    assert ESCAPED in page and WORDS not in page
    assert "Likes to help with" in page and "Ideas for using the budget" in page
    assert "Free" in page and "Weekends" in page


def test_refusing_the_offer_shows_the_words_to_nobody(app, db_session, council, moderator):
    user = UserFactory()
    profile = services.offer_to_be_buddy(db_session, user, offer(council, about_me=WORDS))
    (item,) = moderation.open_entries_for(db_session, services.ITEM_BUDDY_OFFER, profile.id)
    moderation.decide(db_session, moderator, item, Decision.REJECT, "Please leave out names")
    db_session.commit()
    assert profiles.shown(profile) is None


def test_a_confirmed_buddys_new_words_wait_for_the_ulo_and_a_refusal_keeps_the_old(
    app, db_session, council, moderator
):
    user, profile = confirmed_buddy(db_session, council, moderator, about_me="First words")
    db_session.commit()
    assert profile.about_me == "First words"
    profile_id = profile.id
    client = signed_in(app, user)
    client.get("/buddies/offer")
    post(client, "/buddies/offer/about-me", {"about_me": "Second words"})
    post(client, "/buddies/offer/check")
    profile = db_session.get(BuddyProfile, profile_id)
    assert profile.status == "confirmed"  # still suggested, with the words already read
    page = _suggestions_page(app, db_session, council)
    assert "First words" in page and "Second words" not in page
    note = "Your new words are waiting for your local user-led organisation to read them."
    client.get("/buddies/offer")
    assert note in text(client.get("/buddies/offer/about-me"))

    (item,) = moderation.open_entries_for(db_session, profiles.ITEM_BUDDY_ABOUT_ME, profile_id)
    staff = signed_in(app, moderator)
    page = text(staff.get(f"/moderation/items/{item.id}"))
    assert "Second words" in page and "Show these words with their suggestions" in page
    post(staff, f"/moderation/items/{item.id}", {"decision": "approve", "reason": ""})
    page = _suggestions_page(app, db_session, council)
    assert "Second words" in page

    client.get("/buddies/offer")
    post(client, "/buddies/offer/about-me", {"about_me": "Call me on 07700 900000"})
    post(client, "/buddies/offer/check")
    (item,) = moderation.open_entries_for(db_session, profiles.ITEM_BUDDY_ABOUT_ME, profile_id)
    post(
        staff,
        f"/moderation/items/{item.id}",
        {"decision": "reject", "reason": "Please keep contact details for your buddy"},
    )
    assert "Second words" in _suggestions_page(app, db_session, council)
    client.get("/buddies/offer")
    page = text(client.get("/buddies/offer/about-me"))
    assert "The organisation did not show your last words: Please keep contact details" in page


def test_about_me_is_limited_with_the_error_beside_the_field(app, db_session, council):
    client = signed_in(app, UserFactory())
    client.get("/buddies/offer")
    response = post(client, "/buddies/offer/about-me", {"about_me": "x" * 501})
    assert response.status_code == 200
    page = text(response)
    assert 'id="about_me-error"' in page
    assert "About you must be 500 characters or fewer" in page
    # The service refuses too, for anyone posting round the form.
    with pytest.raises(DomainError) as refused:
        profiles.clean("x" * 501)
    assert refused.value.field == "about_me"


def test_removing_the_words_needs_nobodys_say(app, db_session, council, moderator):
    user, profile = confirmed_buddy(db_session, council, moderator, about_me="Some words")
    services.update_profile(db_session, user, offer(council, about_me=""))
    assert profile.about_me is None and profile.about_me_pending is None
    assert moderation.open_entries_for(db_session, profiles.ITEM_BUDDY_ABOUT_ME, profile.id) == []
    assert isinstance(profile, BuddyProfile)


def test_private_answers_are_not_shown_with_the_suggestions(app, db_session, council, moderator):
    """The offer's check page says which answers stay private; the suggestion shows none."""
    user = UserFactory()
    db_session.commit()
    client = signed_in(app, user)
    check = answer_pages(
        client,
        "offer",
        offer_pages(
            council,
            gender={"gender": "Nonbinary"},
            experiences={"lived_experience_topics": ["psychosis"], "share_lived_experience": "y"},
        ),
    )
    page = text(client.get(check))
    assert (
        "People we suggest you to see your display name and these answers, except your "
        "postcode, your gender and your experiences: those stay private and are only used "
        "for matching."
    ) in page
    post(client, check)
    profile = services.profile_of(db_session, user.id)
    (item,) = moderation.open_entries_for(db_session, services.ITEM_BUDDY_OFFER, profile.id)
    moderation.decide(db_session, moderator, item, Decision.APPROVE, "")
    db_session.commit()
    page = _suggestions_page(app, db_session, council, times=("weekends",))
    assert user.display_name in page
    assert "Nonbinary" not in page and "psychosis" not in page.lower()
