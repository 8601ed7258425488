"""Shortlists, enquiries and reviews, without HTTP (emails through the real SMTP test server)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from sqlalchemy import select

from marketplace.carers import services as carers
from marketplace.carers.models import CarerAction, CarerScope
from marketplace.engagement import services
from marketplace.engagement.models import (
    Enquiry,
    EnquiryMessage,
    Review,
    ReviewReply,
    ReviewStatus,
    ShortlistEntry,
)
from marketplace.errors import DomainError, NotAllowed
from marketplace.moderation import services as moderation
from marketplace.moderation.models import Decision
from marketplace.organisations.models import ApprovalStatus
from marketplace.privacy import services as privacy
from marketplace.providers import services as providers
from marketplace.providers.models import ListingStatus
from tests.factories import PASSWORD, StaffFactory, UserFactory
from tests.listing_helpers import listing_data, provider_with_staff, ulo_moderator


@pytest.fixture
def world(db_session):
    org, staff, council = provider_with_staff(name="Calm Minds")
    colleague = StaffFactory(organisation=org, user=UserFactory(email="colleague@example.org"))
    waiting = StaffFactory(
        organisation=org,
        user=UserFactory(email="waiting@example.org"),
        status=ApprovalStatus.PENDING.value,
    )
    listing = providers.create_listing(db_session, staff, org, listing_data(db_session, council))
    listing.status = ListingStatus.PUBLISHED.value
    holder = UserFactory(email="robin@example.org", display_name="Robin")
    moderator = ulo_moderator(council)
    db_session.commit()
    return SimpleNamespace(
        org=org,
        staff=staff,
        colleague=colleague.user,
        waiting=waiting.user,
        council=council,
        listing=listing,
        holder=holder,
        moderator=moderator,
    )


def carer_for(db_session, holder, scopes=(CarerScope.VIEW, CarerScope.SERVICES)):
    carer = UserFactory(display_name="Pat")
    _, token = carers.invite_carer(db_session, holder, carer.email, list(scopes), 3600)
    carers.accept_invitation(db_session, carer, token)
    return carer


def enquire(db_session, world, who=None, body="Do you have places on Tuesdays?"):
    return services.start_enquiry(
        db_session, who or world.holder, world.listing, "Tuesday places", body
    )


def approve(db_session, world, item_type, item_id, decision=Decision.APPROVE, reason=""):
    [item] = moderation.open_entries_for(db_session, item_type, item_id)
    moderation.decide(db_session, world.moderator, item, decision, reason)


# --- Shortlist -------------------------------------------------------------------------------


def test_shortlist_add_is_idempotent_and_remove_works(db_session, world):
    first = services.add_to_shortlist(db_session, world.holder, world.listing)
    again = services.add_to_shortlist(db_session, world.holder, world.listing)
    db_session.flush()
    assert first is again
    assert [e.listing_id for e in services.shortlist_of(db_session, world.holder)] == [
        world.listing.id
    ]
    assert services.remove_from_shortlist(db_session, world.holder, world.listing.id)
    assert not services.remove_from_shortlist(db_session, world.holder, world.listing.id)
    db_session.flush()
    assert services.shortlist_of(db_session, world.holder) == []


def test_only_published_services_can_be_shortlisted(db_session, world):
    world.listing.status = ListingStatus.HIDDEN.value
    with pytest.raises(DomainError):
        services.add_to_shortlist(db_session, world.holder, world.listing)


def test_shortlisted_service_that_is_hidden_can_still_be_removed(db_session, world):
    services.add_to_shortlist(db_session, world.holder, world.listing)
    db_session.flush()
    world.listing.status = ListingStatus.HIDDEN.value
    assert services.remove_from_shortlist(db_session, world.holder, world.listing.id)


# --- Enquiries -------------------------------------------------------------------------------


def test_enquiry_emails_approved_staff_without_the_message(app, db_session, world, mailbox):
    posted = enquire(db_session, world, body="My private health details")
    db_session.commit()
    with app.app_context():
        services.send_notices(posted.notices)
    assert {m["To"] for m in mailbox.messages} == {world.staff.email, "colleague@example.org"}
    message = mailbox.last_to("colleague@example.org")
    text = message.get_payload(decode=True).decode()
    assert message["Subject"] == "You have a new message on Budget Marketplace"
    assert "Peer support group" in text  # the service is named inside, not on a lock screen
    assert f"http://localhost/enquiries/{posted.enquiry.id}" in text
    assert "private health" not in text
    assert "Tuesday places" not in text  # the subject is the holder's words too
    assert posted.enquiry.holder_id == world.holder.id
    assert posted.enquiry.sent_by_id == world.holder.id


def test_staff_reply_emails_the_holder(app, db_session, world, mailbox):
    enquiry = enquire(db_session, world).enquiry
    posted = services.reply(db_session, world.colleague, enquiry, "Yes, come along\nany time")
    db_session.commit()
    with app.app_context():
        services.send_notices(posted.notices)
    assert [m["To"] for m in mailbox.messages] == ["robin@example.org"]
    assert "Hello Robin" in mailbox.last_to("robin@example.org").get_payload(decode=True).decode()
    assert [m.side for m in enquiry.messages] == ["holder", "provider"]
    assert enquiry.last_side == "provider"


def test_outsiders_cannot_read_or_reply(db_session, world):
    enquiry = enquire(db_session, world).enquiry
    _, other_staff, _ = provider_with_staff(world.council)
    for outsider in (UserFactory(), other_staff, world.waiting, world.moderator):
        with pytest.raises(NotAllowed):
            services.get_enquiry_for(db_session, outsider, enquiry.id)
        with pytest.raises(NotAllowed):
            services.reply(db_session, outsider, enquiry, "Hello")
        assert services.enquiries_for(db_session, outsider).mine == []
    assert services.get_enquiry_for(db_session, world.staff, enquiry.id) is enquiry
    assert services.enquiries_for(db_session, world.staff).for_my_organisations == [enquiry]
    assert services.enquiries_for(db_session, world.holder).mine == [enquiry]


def test_enquiry_checks_its_text_and_the_listing(db_session, world):
    with pytest.raises(DomainError) as error:
        services.start_enquiry(db_session, world.holder, world.listing, "Hi", "   ")
    assert error.value.field == "body"
    with pytest.raises(DomainError) as error:
        services.start_enquiry(db_session, world.holder, world.listing, "", "Hello")
    assert error.value.field == "subject"
    with pytest.raises(DomainError) as error:
        services.start_enquiry(db_session, world.holder, world.listing, "Hi", "x" * 5001)
    assert error.value.field == "body"
    with pytest.raises(DomainError):
        services.start_enquiry(db_session, world.staff, world.listing, "Hi", "Own service")
    world.listing.status = ListingStatus.DRAFT.value
    with pytest.raises(DomainError):
        enquire(db_session, world)


def test_a_closed_thread_takes_no_more_messages(db_session, world):
    enquiry = enquire(db_session, world).enquiry
    services.close_enquiry(db_session, world.staff, enquiry)
    with pytest.raises(DomainError):
        services.reply(db_session, world.holder, enquiry, "One more thing")


# --- Carers ------------------------------------------------------------------------------------


def test_carer_acting_for_a_holder_is_recorded(db_session, world):
    carer = carer_for(db_session, world.holder)
    services.add_to_shortlist(db_session, carer, world.listing, world.holder.id)
    posted = services.start_enquiry(
        db_session, carer, world.listing, "For Robin", "Robin would like to know", world.holder.id
    )
    db_session.flush()
    assert services.shortlisted_ids(db_session, world.holder.id) == {world.listing.id}
    assert services.shortlisted_ids(db_session, carer.id) == set()
    assert posted.enquiry.holder_id == world.holder.id
    assert posted.enquiry.sent_by_id == carer.id
    actions = db_session.scalars(select(CarerAction).order_by(CarerAction.id)).all()
    assert [(a.carer_id, a.holder_id, a.description) for a in actions] == [
        (carer.id, world.holder.id, "Shortlisted Peer support group"),
        (carer.id, world.holder.id, "Sent an enquiry about Peer support group"),
    ]
    # The provider's reply goes to both the holder and the carer who asked.
    reply = services.reply(db_session, world.staff, posted.enquiry, "Happy to help")
    assert {n.to for n in reply.notices} == {world.holder.email, carer.email}
    # Revoking the grant ends the carer's access to the thread at once.
    [grant] = carers.grants_given(db_session, world.holder)
    carers.revoke(db_session, world.holder, grant.id)
    with pytest.raises(NotAllowed):
        services.get_enquiry_for(db_session, carer, posted.enquiry.id)
    assert services.get_enquiry_for(db_session, world.holder, posted.enquiry.id)


def test_carer_without_a_grant_cannot_act(db_session, world):
    stranger = UserFactory()
    with pytest.raises(NotAllowed):
        services.add_to_shortlist(db_session, stranger, world.listing, world.holder.id)
    with pytest.raises(NotAllowed):
        services.start_enquiry(db_session, stranger, world.listing, "Hi", "Hi", world.holder.id)
    with pytest.raises(NotAllowed):
        services.shortlist_of(db_session, stranger, world.holder.id)
    assert db_session.scalars(select(ShortlistEntry)).all() == []
    assert db_session.scalars(select(Enquiry)).all() == []


# --- Reviews -----------------------------------------------------------------------------------


def test_review_only_after_being_in_touch(db_session, world):
    with pytest.raises(NotAllowed) as error:
        services.write_review(db_session, world.holder, world.listing, 5, "Lovely")
    assert "been in touch" in error.value.message
    enquire(db_session, world)
    review = services.write_review(db_session, world.holder, world.listing, 5, "Lovely")
    assert review.status == ReviewStatus.PENDING.value


def test_one_review_per_service(db_session, world):
    enquire(db_session, world)
    services.write_review(db_session, world.holder, world.listing, 4, "Good")
    with pytest.raises(DomainError):
        services.write_review(db_session, world.holder, world.listing, 1, "Again")


@pytest.mark.parametrize(
    ("rating", "body", "field"),
    [(0, "x", "rating"), (6, "x", "rating"), (3, " ", "body"), (3, "x" * 2001, "body")],
)
def test_review_checks_rating_and_text(db_session, world, rating, body, field):
    enquire(db_session, world)
    with pytest.raises(DomainError) as error:
        services.write_review(db_session, world.holder, world.listing, rating, body)
    assert error.value.field == field


def test_moderation_shows_approved_and_hides_rejected_reviews(db_session, world):
    enquire(db_session, world)
    review = services.write_review(db_session, world.holder, world.listing, 2, "Rude staff!!")
    assert services.published_reviews(db_session, world.listing.id) == []
    assert moderation.queue_for(db_session, world.moderator)[-1].item_type == "review"
    approve(
        db_session, world, "review", review.id, Decision.REJECT, "Please describe what happened"
    )
    assert review.status == ReviewStatus.REJECTED.value
    assert review.rejection_reason == "Please describe what happened"
    assert services.published_reviews(db_session, world.listing.id) == []
    services.revise_review(db_session, world.holder, review, 2, "They were late twice.")
    assert review.status == ReviewStatus.PENDING.value
    assert review.rejection_reason is None
    approve(db_session, world, "review", review.id)
    assert services.published_reviews(db_session, world.listing.id) == [review]
    with pytest.raises(DomainError):
        services.revise_review(db_session, world.holder, review, 5, "Changed my mind")
    with pytest.raises(NotAllowed):
        services.revise_review(db_session, UserFactory(), review, 5, "Not mine")


def test_average_rating_counts_published_reviews_only(db_session, world):
    assert services.rating_summary(db_session, world.listing.id) == services.RatingSummary(None, 0)
    for rating, publish in ((5, True), (4, True), (1, False)):
        person = UserFactory()
        enquire(db_session, world, who=person)
        review = services.write_review(db_session, person, world.listing, rating, "Words")
        if publish:
            approve(db_session, world, "review", review.id)
    assert services.rating_summary(db_session, world.listing.id) == services.RatingSummary(4.5, 2)


def test_provider_replies_once_and_the_reply_is_moderated(db_session, world):
    enquire(db_session, world)
    review = services.write_review(db_session, world.holder, world.listing, 3, "OK")
    with pytest.raises(DomainError):
        services.reply_to_review(db_session, world.staff, review, "Thanks")
    approve(db_session, world, "review", review.id)
    with pytest.raises(NotAllowed):
        services.reply_to_review(db_session, world.holder, review, "Not staff")
    answer = services.reply_to_review(db_session, world.staff, review, "Thank you, we are on it")
    assert not answer.is_published
    with pytest.raises(DomainError):
        services.reply_to_review(db_session, world.colleague, review, "Another reply")
    approve(
        db_session, world, "review_reply", answer.id, Decision.REJECT, "Keep it about the service"
    )
    assert answer.rejection_reason == "Keep it about the service"
    services.revise_reply(db_session, world.staff, answer, "Thank you for telling us")
    approve(db_session, world, "review_reply", answer.id)
    assert answer.is_published
    assert services.published_reviews(db_session, world.listing.id)[0].reply is answer
    with pytest.raises(DomainError):
        services.revise_reply(db_session, world.staff, answer, "Edit after publishing")


def test_moderators_elsewhere_do_not_see_reviews(db_session, world):
    from tests.factories import CouncilFactory

    enquire(db_session, world)
    review = services.write_review(db_session, world.holder, world.listing, 3, "OK")
    far = ulo_moderator(CouncilFactory())
    assert moderation.queue_for(db_session, far) == []
    [item] = moderation.open_entries_for(db_session, "review", review.id)
    assert services.moderation_subject(db_session, item) == {"review": review}


def test_service_panel_for_each_kind_of_person(db_session, world):
    visitor = services.service_panel(db_session, None, world.listing)
    assert not visitor.signed_in
    enquiry = enquire(db_session, world).enquiry
    services.add_to_shortlist(db_session, world.holder, world.listing)
    db_session.flush()
    mine = services.service_panel(db_session, world.holder, world.listing)
    assert mine.shortlisted and mine.in_touch and mine.enquiries == [enquiry]
    staff = services.service_panel(db_session, world.staff, world.listing)
    assert staff.is_staff and not staff.shortlisted and staff.enquiries == []


def test_service_panel_shows_published_reviews_and_your_own_whatever_its_state(db_session, world):
    others = []
    for rating, publish in ((5, True), (2, True), (1, False)):
        person = UserFactory()
        enquire(db_session, world, who=person)
        others.append(services.write_review(db_session, person, world.listing, rating, "Words"))
        if publish:
            approve(db_session, world, "review", others[-1].id)
    published = services.published_reviews(db_session, world.listing.id)
    assert set(published) == set(others[:2])

    enquire(db_session, world)
    mine = services.write_review(db_session, world.holder, world.listing, 4, "Kind people")
    panel = services.service_panel(db_session, world.holder, world.listing)
    assert panel.my_review is mine  # still waiting for a moderator: only its author sees it
    assert panel.reviews == published
    assert panel.rating == services.RatingSummary(3.5, 2)
    assert panel.rating == services.rating_summary(db_session, world.listing.id)
    assert services.service_panel(db_session, None, world.listing).rating == panel.rating

    approve(db_session, world, "review", mine.id)
    panel = services.service_panel(db_session, world.holder, world.listing)
    assert panel.my_review is mine
    assert panel.reviews == services.published_reviews(db_session, world.listing.id)
    assert mine in panel.reviews and others[2] not in panel.reviews
    assert panel.rating == services.RatingSummary(11 / 3, 3)
    assert (
        services.service_panel(db_session, others[2].author, world.listing).my_review is others[2]
    )


def test_service_panel_shows_the_shortlists_of_the_people_a_carer_helps(db_session, world):
    carer = carer_for(db_session, world.holder)
    other = UserFactory(display_name="Sam")
    carer_for_other = carers.invite_carer(
        db_session, other, carer.email, [CarerScope.VIEW, CarerScope.SERVICES], 3600
    )
    carers.accept_invitation(db_session, carer, carer_for_other[1])
    services.add_to_shortlist(db_session, carer, world.listing, for_holder_id=other.id)
    db_session.flush()

    panel = services.service_panel(db_session, carer, world.listing)
    assert not panel.shortlisted and not panel.in_touch and panel.my_review is None
    assert {(h.holder, h.shortlisted) for h in panel.helped} == {
        (world.holder, False),
        (other, True),
    }
    assert services.service_panel(db_session, other, world.listing).shortlisted


# --- Your data -----------------------------------------------------------------------------------


def test_export_and_erase(db_session, world):
    enquiry = enquire(db_session, world, body="Hello from Robin").enquiry
    services.reply(db_session, world.staff, enquiry, "Hello from staff")
    services.add_to_shortlist(db_session, world.holder, world.listing)
    published = services.write_review(db_session, world.holder, world.listing, 5, "Great")
    approve(db_session, world, "review", published.id)
    db_session.flush()

    data = privacy.export_user_data(db_session, world.holder)["shortlists_enquiries_reviews"]
    assert data["shortlist"][0]["service"] == "Peer support group"
    assert [m["body"] for m in data["enquiries"][0]["messages"]] == [
        "Hello from Robin",
        "Hello from staff",
    ]
    assert data["reviews"][0]["body"] == "Great"
    staff_data = privacy.export_user_data(db_session, world.staff)["shortlists_enquiries_reviews"]
    assert [m["body"] for m in staff_data["messages_written_for_your_organisations"]] == [
        "Hello from staff"
    ]

    privacy.erase_account(db_session, world.holder, PASSWORD)
    db_session.flush()
    assert db_session.scalars(select(ShortlistEntry)).all() == []
    assert enquiry.is_closed
    [kept] = services.published_reviews(db_session, world.listing.id)
    assert kept.author.display_name == "Former member"


def test_erase_keeping_contributions_takes_the_name_out_of_provider_replies(db_session, world):
    enquiry = enquire(db_session, world, body="Hello, I am Robin").enquiry
    services.reply(db_session, world.staff, enquiry, "Hi Robin, see you Tuesday. ROBIN's seat.")
    review = services.write_review(db_session, world.holder, world.listing, 5, "Great")
    approve(db_session, world, "review", review.id)
    answer = services.reply_to_review(db_session, world.staff, review, "Thank you Robin!")
    db_session.flush()

    privacy.erase_account(db_session, world.holder, PASSWORD)
    db_session.flush()
    assert answer.body == "Thank you [name removed]!"
    bodies = [m.body for m in enquiry.messages]
    assert bodies == [
        "Hello, I am Robin",  # the person's own words, kept as they chose, by "Former member"
        "Hi [name removed], see you Tuesday. [name removed]'s seat.",
    ]
    [kept] = services.published_reviews(db_session, world.listing.id)
    assert kept.author.display_name == "Former member"


def test_erase_can_delete_reviews_and_messages(db_session, world):
    enquiry = enquire(db_session, world, body="Hello from Robin").enquiry
    services.reply(db_session, world.staff, enquiry, "Hello from staff")
    review = services.write_review(db_session, world.holder, world.listing, 5, "Great")
    approve(db_session, world, "review", review.id)
    answer = services.reply_to_review(db_session, world.staff, review, "Thanks")
    db_session.flush()
    review_id, answer_id, enquiry_id = review.id, answer.id, enquiry.id

    privacy.erase_account(db_session, world.holder, PASSWORD, remove_contributions=True)
    db_session.flush()
    db_session.expire_all()
    assert db_session.get(Review, review_id) is None
    assert db_session.get(ReviewReply, answer_id) is None
    assert db_session.get(Enquiry, enquiry_id) is None
    assert db_session.scalars(select(EnquiryMessage)).all() == []
    assert services.published_reviews(db_session, world.listing.id) == []
    assert moderation.open_entries_for(db_session, "review_reply", answer_id) == []


def test_erase_drops_unpublished_reviews_from_the_queue(db_session, world):
    enquire(db_session, world)
    review = services.write_review(db_session, world.holder, world.listing, 1, "Waiting")
    privacy.erase_account(db_session, world.holder, PASSWORD)
    db_session.flush()
    assert db_session.get(Review, review.id) is None
    assert moderation.open_entries_for(db_session, "review", review.id) == []


# What a carer holding only one scope may do on services for the holder: each scope against
# each action, so that "See my account" never lets anyone act.
SEEING = {CarerScope.VIEW, CarerScope.SERVICES}
ACTING = {CarerScope.SERVICES}


def _try(action) -> bool:
    try:
        action()
    except NotAllowed:
        return False
    return True


@pytest.mark.parametrize("scope", list(CarerScope))
def test_each_carer_scope_allows_exactly_the_service_actions_its_label_says(
    db_session, world, scope
):
    holder = world.holder
    carer = carer_for(db_session, holder, scopes=(scope,))
    services.add_to_shortlist(db_session, holder, world.listing)
    thread = services.start_enquiry(
        db_session,
        carer if scope in ACTING else holder,
        world.listing,
        "Places",
        "Any on Tuesdays?",
    ).enquiry
    if scope not in ACTING:
        thread.sent_by = carer  # as if they had written it while they could act
    db_session.flush()

    assert _try(lambda: services.shortlist_of(db_session, carer, holder.id)) is (scope in SEEING)
    assert (services.side_of(db_session, carer, thread) is not None) is (scope in SEEING)
    assert _try(
        lambda: services.remove_from_shortlist(db_session, carer, world.listing.id, holder.id)
    ) is (scope in ACTING)
    assert _try(lambda: services.add_to_shortlist(db_session, carer, world.listing, holder.id)) is (
        scope in ACTING
    )
    assert _try(
        lambda: services.start_enquiry(
            db_session, carer, world.listing, "More", "And Fridays?", holder.id
        )
    ) is (scope in ACTING)
    assert services.may_write(db_session, carer, thread) is (scope in ACTING)
    assert _try(lambda: services.reply(db_session, carer, thread, "Thank you")) is (scope in ACTING)
    assert _try(lambda: services.close_enquiry(db_session, carer, thread)) is (scope in ACTING)
    helped = [h.id for h in services.people_i_help(db_session, carer)]
    assert helped == ([holder.id] if scope in ACTING else [])
