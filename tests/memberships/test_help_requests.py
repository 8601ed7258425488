"""Help requests: post, clear, offer, accept, and log-and-confirm in one step."""

from __future__ import annotations

from datetime import timedelta

import pytest

from marketplace.errors import DomainError, NotAllowed
from marketplace.memberships import clearance, ledger, reciprocity
from marketplace.memberships import help_requests as help
from marketplace.memberships.help_requests import HelpRequestData
from marketplace.memberships.models import HelpRequestStatus, LogStatus, OfferStatus, Standing
from tests.factories import UserFactory
from tests.memberships.conftest import NOW, matched, member


def request_for(db_session, org, kind="occasional_pa", requester=None):
    requester = requester or UserFactory()
    data = HelpRequestData("Come with me to a gym induction", NOW.date(), kind, "Leeds LS6")
    return requester, help.post_request(db_session, requester, org, data, now=NOW)


def test_the_whole_help_request_flow(db_session, staff, org, giver):
    person, membership = giver
    requester, request = request_for(db_session, org)  # a non-member
    assert help.open_requests(db_session, org) == [request]

    with pytest.raises(NotAllowed) as error:  # PA work needs clearance
        help.offer_help(db_session, person, request)
    assert error.value.field == "kind"

    record = clearance.set_clearance(db_session, staff, org, person, "occasional_pa", now=NOW)
    assert (record.cleared_by_id, record.revoked_at) == (staff.id, None)
    offer = help.offer_help(db_session, person, request)
    other, _ = member(db_session, org)
    clearance.set_clearance(db_session, staff, org, other, "occasional_pa", now=NOW)
    second = help.offer_help(db_session, other, request)

    with pytest.raises(NotAllowed):
        help.accept_offer(db_session, person, offer)
    help.accept_offer(db_session, requester, offer)
    assert request.status == HelpRequestStatus.ACCEPTED
    assert (offer.status, second.status) == (OfferStatus.ACCEPTED, OfferStatus.DECLINED)

    entry = help.complete(db_session, requester, request, 240, NOW.date(), now=NOW)
    assert (entry.status, entry.giver_id, entry.recipient_id) == (
        LogStatus.CONFIRMED,
        person.id,
        requester.id,
    )
    assert request.status == HelpRequestStatus.DONE and request.time_log_id == entry.id
    assert reciprocity.standing(db_session, membership, NOW.date()).standing == Standing.GOOD
    assert ledger.check(db_session, org.id).balanced


def test_kinds_without_clearance_are_open_to_any_active_reciprocity_member(db_session, org, giver):
    person, _ = giver
    _, request = request_for(db_session, org, kind="buddy")
    assert help.offer_help(db_session, person, request).status == OfferStatus.OFFERED
    with pytest.raises(DomainError):
        help.offer_help(db_session, person, request)


def test_non_members_and_other_ulos_members_cannot_offer(db_session, org, other_ulo, giver):
    _, request = request_for(db_session, org, kind="buddy")
    with pytest.raises(NotAllowed):
        help.offer_help(db_session, UserFactory(), request)
    from marketplace.memberships import services
    from marketplace.memberships.services import OfferData

    services.set_offer(db_session, other_ulo[0], other_ulo[1], OfferData(None, 60, ("buddy",)))
    outsider, _ = member(db_session, other_ulo[1])
    with pytest.raises(NotAllowed):
        help.offer_help(db_session, outsider, request)


def test_a_revoked_clearance_stops_offers(db_session, staff, org, giver):
    person, _ = giver
    clearance.set_clearance(db_session, staff, org, person, "occasional_pa", now=NOW)
    revoked = clearance.set_clearance(
        db_session, staff, org, person, "occasional_pa", False, now=NOW
    )
    assert revoked.revoked_by_id == staff.id
    _, request = request_for(db_session, org)
    with pytest.raises(NotAllowed):
        help.offer_help(db_session, person, request)


def test_only_staff_of_this_ulo_clear_members(db_session, org, other_ulo, giver):
    with pytest.raises(NotAllowed):
        clearance.set_clearance(db_session, other_ulo[0], org, giver[0], "occasional_pa", now=NOW)


@pytest.mark.parametrize(
    ("data", "field"),
    [
        (HelpRequestData("  ", NOW.date(), "buddy"), "what"),
        (HelpRequestData("x" * 2001, NOW.date(), "buddy"), "what"),
        (HelpRequestData("Help", NOW.date() - timedelta(days=1), "buddy"), "needed_on"),
        (HelpRequestData("Help", NOW.date() + timedelta(days=400), "buddy"), "needed_on"),
        (HelpRequestData("Help", NOW.date(), "magic"), "kind"),
        (HelpRequestData("Help", NOW.date(), "buddy", "x" * 201), "place"),
    ],
)
def test_a_bad_request_names_the_field(db_session, org, data, field):
    with pytest.raises(DomainError) as error:
        help.post_request(db_session, UserFactory(), org, data, now=NOW)
    assert error.value.field == field


def test_completing_checks_the_hours(db_session, staff, org, giver):
    person, _ = giver
    requester, request = request_for(db_session, org, kind="buddy")
    help.accept_offer(db_session, requester, help.offer_help(db_session, person, request))
    with pytest.raises(DomainError) as error:
        help.complete(db_session, requester, request, 25 * 60, NOW.date(), now=NOW)
    assert error.value.field == "minutes"
    with pytest.raises(DomainError) as error:
        help.complete(db_session, requester, request, 60, NOW.date() + timedelta(days=1), now=NOW)
    assert error.value.field == "given_on"
    with pytest.raises(NotAllowed):
        help.complete(db_session, person, request, 60, NOW.date(), now=NOW)
    assert request.status == HelpRequestStatus.ACCEPTED


def test_granting_and_revoking_clearance_is_audited(db_session, staff, org, giver):
    from marketplace import audit

    person, _ = giver
    clearance.set_clearance(db_session, staff, org, person, "occasional_pa", now=NOW)
    clearance.set_clearance(db_session, staff, org, person, "occasional_pa", False, now=NOW)
    db_session.flush()
    entries = audit.entries_for(db_session, "user", person.id)
    assert [(e.actor_id, e.action, e.detail) for e in entries[-2:]] == [
        (staff.id, "clearance.granted", f"occasional_pa for organisation {org.id}"),
        (staff.id, "clearance.revoked", f"occasional_pa for organisation {org.id}"),
    ]


# --- clearance: one rule for offering, logging and confirming ------------------------------------


def test_an_uncleared_member_cannot_log_pa_hours_for_anyone(db_session, staff, org, giver):
    """Issue 21: an uncleared member logged "Occasional PA, 2 hours" for another member."""
    person, _ = giver
    other, _ = member(db_session, org)
    matched(db_session, org, person, other)
    pa = reciprocity.TimeGiven("occasional_pa", NOW.date(), 120, other.id)
    with pytest.raises(NotAllowed) as error:
        reciprocity.log_time(db_session, person, org, pa, now=NOW)
    assert error.value.field == "kind"
    assert error.value.message == clearance.NOT_CLEARED
    for_ulo = reciprocity.TimeGiven("occasional_pa", NOW.date(), 120)
    with pytest.raises(NotAllowed):
        reciprocity.log_time(db_session, person, org, for_ulo, now=NOW)
    # Kinds that need no clearance are logged as before; cleared, PA hours are too.
    events = reciprocity.TimeGiven("events", NOW.date(), 120, other.id)
    assert reciprocity.log_time(db_session, person, org, events, now=NOW).status == "logged"
    clearance.set_clearance(db_session, staff, org, person, "occasional_pa", now=NOW)
    assert reciprocity.log_time(db_session, person, org, pa, now=NOW).status == "logged"


def test_a_clearance_revoked_after_the_offer_stops_the_hours_counting(
    db_session, staff, org, giver
):
    person, membership = giver
    clearance.set_clearance(db_session, staff, org, person, "occasional_pa", now=NOW)
    requester, request = request_for(db_session, org)
    help.accept_offer(db_session, requester, help.offer_help(db_session, person, request))
    clearance.set_clearance(db_session, staff, org, person, "occasional_pa", False, now=NOW)
    with pytest.raises(NotAllowed) as error:
        help.complete(db_session, requester, request, 60, NOW.date(), now=NOW)
    assert error.value.field == "kind"
    assert request.status == HelpRequestStatus.ACCEPTED
    assert reciprocity.confirmed_minutes(db_session, membership.id, NOW.date()) == 0
