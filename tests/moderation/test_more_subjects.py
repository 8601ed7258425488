"""Reporting help requests and enquiry messages: who can report them, and what can be done."""

from __future__ import annotations

from datetime import timedelta

import pytest

from marketplace.db import utcnow
from marketplace.engagement import services as engagement
from marketplace.errors import NotAllowed
from marketplace.memberships import help_requests
from marketplace.memberships import services as memberships
from marketplace.memberships.services import OfferData
from marketplace.moderation import decisions, reports
from marketplace.moderation import services as moderation
from marketplace.moderation.models import Decision, Sanction
from marketplace.organisations.models import OrganisationKind, StaffRole
from tests.factories import OrganisationFactory, StaffFactory, UserFactory
from tests.moderation.reporting import published_listing


def help_request_in(db_session, council):
    """(requester, a member of the ULO, the ULO's staff, the help request)."""
    org = OrganisationFactory(kind=OrganisationKind.ULO.value)
    org.councils.append(council)
    staff = UserFactory(roles=["ulo_staff"])
    StaffFactory(organisation=org, user=staff, role=StaffRole.OWNER.value)
    memberships.set_offer(db_session, staff, org, OfferData(None, 240, ("events",)))
    member = UserFactory()
    memberships.join(db_session, member, org, "reciprocity")
    requester = UserFactory()
    found = help_requests.post_request(
        db_session,
        requester,
        org,
        help_requests.HelpRequestData("A lift", utcnow().date() + timedelta(days=3), "other"),
    )
    return requester, member, staff, found


def offered(db_session, item):
    return {d for d, _ in moderation.actions_for(db_session, item)}


def test_a_help_request_is_reported_by_those_who_can_see_it(app, db_session, council, moderator):
    with app.app_context():  # posting a request emails the members who can take it (links)
        requester, member, staff, found = help_request_in(db_session, council)
        for nobody in (requester, UserFactory()):
            with pytest.raises(NotAllowed):
                reports.submit_report(db_session, nobody, "help_request", found.id, "spam", "")
        reports.submit_report(db_session, staff, "help_request", found.id, "money_misuse", "")
        row, _ = reports.submit_report(db_session, member, "help_request", found.id, "abuse", "")
        (item,) = moderation.open_entries_for(db_session, reports.ITEM_REPORT, row.id)
        assert item.councils == [council.code]
        # It cannot be hidden, but the person who wrote it can be warned, silenced or suspended.
        assert offered(db_session, item) == {
            Decision.APPROVE,
            Decision.REJECT,
            Decision.WARN,
            Decision.SILENCE,
            Decision.SUSPEND,
        }
        notices = decisions.decide(db_session, moderator, item, Decision.WARN, "Be kind")
        sanction = db_session.query(Sanction).filter_by(queue_item_id=item.id).one()
        assert sanction.user_id == requester.id
        assert requester.email in {n.to for n in notices}


def test_an_enquiry_message_is_reported_by_the_other_side(db_session, council, moderator):
    listing, staff = published_listing(db_session, council, moderator)
    holder = UserFactory()
    posted = engagement.start_enquiry(db_session, holder, listing, "Places", "Rude words")
    (message,) = posted.enquiry.messages
    with pytest.raises(NotAllowed):
        reports.submit_report(db_session, holder, "enquiry_message", message.id, "abuse", "")
    with pytest.raises(NotAllowed):
        reports.submit_report(db_session, UserFactory(), "enquiry_message", message.id, "abuse", "")
    row, _ = reports.submit_report(db_session, staff, "enquiry_message", message.id, "abuse", "")
    (item,) = moderation.open_entries_for(db_session, reports.ITEM_REPORT, row.id)
    assert item.councils == [council.code]
    assert Decision.SUSPEND in offered(db_session, item)
    assert Decision.HIDE not in offered(db_session, item)
    subject = reports.load_subject(db_session, None, "enquiry_message", message.id)
    assert subject.text == "Rude words"
    assert subject.title == f"a message about {listing.name}"
