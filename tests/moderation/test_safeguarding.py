"""Safeguarding that nobody can miss: what is urgent, alerts, escalation, claims that lapse,
release and take-over, conflicts of interest, and council safeguarding contacts (no HTTP)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from marketplace import audit
from marketplace.buddies import conversations
from marketplace.db import as_utc, utcnow
from marketplace.errors import DomainError, NotAllowed
from marketplace.moderation import reports, safeguarding
from marketplace.moderation import services as moderation
from marketplace.moderation.models import Decision
from marketplace.organisations.models import OrganisationStaff
from tests.factories import CouncilFactory, UserFactory
from tests.listing_helpers import ulo_moderator
from tests.moderation.reporting import buddy_pair, pool_message, published_listing

ALERT = "Something urgent is waiting in the moderation queue"
ESCALATED = "An urgent moderation item has waited too long"
TAKEN = "Someone else is now dealing with a moderation item"


@pytest.fixture(autouse=True)
def _app_context(app):
    """Emails are sent when the test commits: they read the app's config and make links."""
    with app.app_context():
        yield


def admin():
    return UserFactory(roles=["admin"])


def report_item(db_session, subject_type, subject_id, reason="spam", reporter=None):
    row, _ = reports.submit_report(
        db_session, reporter or UserFactory(), subject_type, subject_id, reason, "Please look"
    )
    (item,) = moderation.open_entries_for(db_session, reports.ITEM_REPORT, row.id)
    return item


def concern_item(db_session, council, moderator, body="Sam told me they can't go on"):
    seeker, _, match = buddy_pair(db_session, council, moderator)
    concern = conversations.report_concern(db_session, seeker, match, body)
    (item,) = moderation.open_entries_for(db_session, conversations.ITEM_BUDDY_CONCERN, concern.id)
    return item


def entries(db_session, item, action):
    return [
        e
        for e in audit.entries_for(db_session, moderation.QUEUE_ITEM, item.id)
        if e.action == action
    ]


# --- 3. what is urgent -------------------------------------------------------------------


def test_a_buddy_concern_is_urgent_and_listed_before_older_ordinary_reports(
    db_session, council, moderator
):
    message = pool_message(db_session, council, moderator)
    ordinary = report_item(db_session, "pool_message", message.id, "spam")
    concern = concern_item(db_session, council, moderator)
    assert concern.urgent and not ordinary.urgent
    queue = moderation.queue_for(db_session, moderator)
    assert queue.index(concern) < queue.index(ordinary)


@pytest.mark.parametrize(
    ("reason", "urgent"),
    [
        ("risk_to_person", True),
        ("risk_from_other", True),
        ("money_misuse", True),
        ("illegal", True),
        ("spam", False),
        ("abuse", False),
    ],
)
def test_safeguarding_and_illegal_content_reasons_are_urgent(
    db_session, council, moderator, reason, urgent
):
    message = pool_message(db_session, council, moderator)
    assert report_item(db_session, "pool_message", message.id, reason).urgent is urgent
    assert moderation.is_urgent(reports.ITEM_REPORT, reason) is urgent


def test_a_council_contact_is_recorded_by_its_areas_moderator_or_an_admin(
    db_session, council, moderator
):
    data = safeguarding.ContactData("0114 273 4908", "safeguarding@council.example", "Mon-Fri 9-5")
    contact = safeguarding.record(db_session, moderator, council.code, data)
    assert (contact.phone, contact.email, contact.updated_by_id) == (
        "0114 273 4908",
        "safeguarding@council.example",
        moderator.id,
    )
    (logged,) = audit.entries_for(db_session, "council", council.id)
    assert logged.action == "safeguarding_contact.recorded" and logged.actor_id == moderator.id
    other = CouncilFactory()
    with pytest.raises(NotAllowed):
        safeguarding.record(db_session, moderator, other.code, data)
    changed = safeguarding.ContactData("0114 000 0000", "adults@council.example", "Any time", "EDT")
    assert safeguarding.record(db_session, admin(), council.code, changed) is contact
    assert contact.out_of_hours == "EDT"


@pytest.mark.parametrize(
    ("data", "field"),
    [
        (("call us", "a@b.example", "9-5"), "phone"),
        (("0114 273 4908", "not-an-email", "9-5"), "email"),
        (("0114 273 4908", "a@b.example", " "), "hours"),
    ],
)
def test_a_council_contact_must_be_usable(db_session, council, moderator, data, field):
    with pytest.raises(DomainError) as refused:
        safeguarding.record(db_session, moderator, council.code, safeguarding.ContactData(*data))
    assert refused.value.field == field


def test_an_urgent_item_shows_the_contacts_of_its_councils(db_session, council, moderator):
    item = concern_item(db_session, council, moderator)
    (found,) = safeguarding.contacts_for_item(db_session, item)
    assert found.council.code == council.code and found.contact is None
    data = safeguarding.ContactData("0114 273 4908", "sg@council.example", "Mon-Fri 9-5")
    safeguarding.record(db_session, moderator, council.code, data)
    (found,) = safeguarding.contacts_for_item(db_session, item)
    assert found.contact is not None and found.contact.phone == "0114 273 4908"


# --- 1. alerts and escalation ------------------------------------------------------------


def test_an_urgent_item_emails_every_moderator_of_its_area_at_once(
    db_session, mailbox, council, moderator
):
    second = ulo_moderator(council)
    elsewhere = ulo_moderator(CouncilFactory())
    item = concern_item(db_session, council, moderator, body="Sam told me they can't go on")
    db_session.commit()
    for person in (moderator, second):
        email = mailbox.last_to(person.email, ALERT)
        body = email.get_payload()
        assert f"/moderation/items/{item.id}" in body
        # Never the content, nor what kind of worry it is.
        assert "can't go on" not in body and "buddy" not in body.lower()
    assert [m for m in mailbox.messages if m["To"] == elsewhere.email] == []
    (alerted,) = entries(db_session, item, "moderation.alerted")
    assert alerted.detail == f"emailed users {moderator.id}, {second.id}"


def test_an_ordinary_report_emails_nobody(db_session, mailbox, council, moderator):
    message = pool_message(db_session, council, moderator)
    mailbox.clear()
    item = report_item(db_session, "pool_message", message.id, "spam")
    db_session.commit()
    assert [m for m in mailbox.messages if m["Subject"] == ALERT] == []
    assert entries(db_session, item, "moderation.alerted") == []


def test_an_urgent_item_with_no_area_moderator_goes_to_the_admins(db_session, mailbox, moderator):
    boss = admin()
    uncovered = CouncilFactory()
    item = concern_item(db_session, uncovered, boss)
    db_session.commit()
    assert f"/moderation/items/{item.id}" in mailbox.last_to(boss.email, ALERT).get_payload()
    assert [m for m in mailbox.messages if m["To"] == moderator.email] == []


def test_the_navigation_count_is_open_items_with_urgent_apart(db_session, council, moderator):
    message = pool_message(db_session, council, moderator)
    report_item(db_session, "pool_message", message.id, "spam")
    concern_item(db_session, council, moderator)
    assert moderation.counts_for(db_session, moderator) == (2, 1)
    assert moderation.counts_for(db_session, ulo_moderator(CouncilFactory())) == (0, 0)


def test_an_urgent_item_untouched_for_four_hours_goes_to_every_admin_once(
    db_session, mailbox, council, moderator
):
    boss, other_admin = admin(), admin()
    item = concern_item(db_session, council, moderator)
    db_session.commit()
    start = as_utc(item.submitted_at)
    assert moderation.escalate_untouched(db_session, start + timedelta(hours=3, minutes=59)) == []
    assert moderation.escalate_untouched(db_session, start + timedelta(hours=4)) == [item]
    db_session.commit()
    for person in (boss, other_admin):
        assert (
            f"/moderation/items/{item.id}" in mailbox.last_to(person.email, ESCALATED).get_payload()
        )
    assert moderation.escalate_untouched(db_session, start + timedelta(hours=5)) == []
    (escalated,) = entries(db_session, item, "moderation.escalated")
    assert str(boss.id) in escalated.detail and str(other_admin.id) in escalated.detail


def test_a_claimed_item_is_not_escalated_until_the_claim_lapses(db_session, council, moderator):
    admin()
    item = concern_item(db_session, council, moderator)
    start = as_utc(item.submitted_at)
    moderation.claim(db_session, moderator, item, now=start + timedelta(hours=3))
    assert moderation.escalate_untouched(db_session, start + timedelta(hours=4)) == []
    assert moderation.escalate_untouched(db_session, start + timedelta(hours=5)) == [item]


def test_ordinary_items_are_never_escalated(db_session, council, moderator):
    message = pool_message(db_session, council, moderator)
    item = report_item(db_session, "pool_message", message.id, "spam")
    assert moderation.escalate_untouched(db_session, utcnow() + timedelta(days=3)) == []
    assert item.escalated_at is None


def test_the_escalation_time_is_configurable(app, db_session, council, moderator):
    item = concern_item(db_session, council, moderator)
    start = as_utc(item.submitted_at)
    app.config["MODERATION_ESCALATE_MINUTES"] = 30
    try:
        with app.app_context():
            assert moderation.escalate_untouched(db_session, start + timedelta(minutes=31)) == [
                item
            ]
    finally:
        app.config["MODERATION_ESCALATE_MINUTES"] = 240


def test_the_periodic_job_lapses_claims_and_escalates(db_session, council, moderator):
    admin()
    item = concern_item(db_session, council, moderator)
    start = as_utc(item.submitted_at)
    moderation.claim(db_session, moderator, item, now=start)
    assert moderation.watch(db_session, start + timedelta(hours=4)) == (1, 1)
    assert item.claimed_by_id is None and item.escalated_at is not None


# --- 2. claims that cannot lock a concern ------------------------------------------------


def test_a_claim_lapses_after_two_hours_without_a_decision(db_session, council, moderator):
    item = concern_item(db_session, council, moderator)
    second = ulo_moderator(council)
    now = utcnow()
    moderation.claim(db_session, moderator, item, now=now - timedelta(hours=1, minutes=59))
    assert moderation.claim_holder(item, now) == moderator.id
    with pytest.raises(DomainError, match="Another moderator"):
        moderation.claim(db_session, second, item, now=now)
    later = now + timedelta(minutes=2)
    assert moderation.claim_holder(item, later) is None
    moderation.claim(db_session, second, item, now=later)
    assert item.claimed_by_id == second.id
    (claimed,) = [
        e for e in entries(db_session, item, "moderation.claimed") if e.actor_id == second.id
    ]
    assert claimed.detail == f"after user {moderator.id}'s claim lapsed"


def test_the_job_logs_each_lapse_and_frees_the_item(db_session, council, moderator):
    item = concern_item(db_session, council, moderator)
    now = utcnow()
    moderation.claim(db_session, moderator, item, now=now - timedelta(hours=2))
    assert moderation.lapse_claims(db_session, now) == [item]
    assert (item.claimed_by_id, item.claimed_at) == (None, None)
    (lapsed,) = entries(db_session, item, "moderation.claim_lapsed")
    assert f"user {moderator.id}" in lapsed.detail
    assert moderation.lapse_claims(db_session, now) == []


def test_claiming_again_renews_the_claim(db_session, council, moderator):
    item = concern_item(db_session, council, moderator)
    now = utcnow()
    moderation.claim(db_session, moderator, item, now=now - timedelta(hours=1, minutes=50))
    moderation.claim(db_session, moderator, item, now=now)
    assert moderation.claim_holder(item, now + timedelta(hours=1, minutes=50)) == moderator.id


def test_a_lapsed_claim_does_not_stop_someone_else_deciding(db_session, council, moderator):
    item = concern_item(db_session, council, moderator)
    moderation.claim(db_session, moderator, item, now=utcnow() - timedelta(hours=3))
    moderation.decide(db_session, ulo_moderator(council), item, Decision.APPROVE, "Called them")
    assert item.state == "decided"


def test_the_holder_can_release_a_claim(db_session, council, moderator):
    item = concern_item(db_session, council, moderator)
    second = ulo_moderator(council)
    with pytest.raises(DomainError, match="not dealing"):
        moderation.release(db_session, moderator, item)
    moderation.claim(db_session, moderator, item)
    with pytest.raises(DomainError, match="not dealing"):
        moderation.release(db_session, second, item)
    moderation.release(db_session, moderator, item)
    assert item.claimed_by_id is None
    (released,) = entries(db_session, item, "moderation.released")
    assert released.actor_id == moderator.id
    moderation.claim(db_session, second, item)


def test_an_admin_takes_over_with_a_reason_and_the_first_moderator_is_told(
    db_session, mailbox, council, moderator
):
    item = concern_item(db_session, council, moderator, body="Sam said goodbye")
    moderation.claim(db_session, moderator, item)
    boss = admin()
    with pytest.raises(DomainError) as refused:
        moderation.take_over(db_session, boss, item, "  ")
    assert refused.value.field == "reason"
    assert moderation.take_over(db_session, boss, item, "Off sick today") == moderator
    assert moderation.claim_holder(item) == boss.id
    db_session.commit()
    body = mailbox.last_to(moderator.email, TAKEN).get_payload()
    assert f"/moderation/items/{item.id}" in body
    assert "goodbye" not in body and "Off sick" not in body
    (taken,) = entries(db_session, item, "moderation.taken_over")
    assert taken.actor_id == boss.id
    assert taken.detail == f"from user {moderator.id}: Off sick today"
    words = [w for _, w in moderation.history(db_session, item)]
    assert (
        f"{boss.display_name} took it over from {moderator.display_name}. Reason: Off sick today"
        in words
    )
    moderation.decide(db_session, boss, item, Decision.APPROVE, "Referred to the council")


def test_a_moderator_of_the_same_area_may_take_over_but_not_one_from_elsewhere(
    db_session, council, moderator
):
    item = concern_item(db_session, council, moderator)
    moderation.claim(db_session, moderator, item)
    with pytest.raises(NotAllowed):
        moderation.take_over(db_session, ulo_moderator(CouncilFactory()), item, "Away")
    with pytest.raises(DomainError, match="Nobody else"):
        moderation.take_over(db_session, moderator, item, "Mine")
    colleague = ulo_moderator(council)
    moderation.take_over(db_session, colleague, item, "They are on leave")
    assert item.claimed_by_id == colleague.id
    with pytest.raises(DomainError, match="Another moderator"):
        moderation.decide(db_session, moderator, item, Decision.APPROVE, "")


def test_the_claim_lapse_time_is_configurable(app, db_session, council, moderator):
    item = concern_item(db_session, council, moderator)
    now = utcnow()
    moderation.claim(db_session, moderator, item, now=now - timedelta(minutes=20))
    app.config["MODERATION_CLAIM_LAPSE_MINUTES"] = 15
    try:
        with app.app_context():
            assert moderation.claim_holder(item, now) is None
    finally:
        app.config["MODERATION_CLAIM_LAPSE_MINUTES"] = 120
    assert moderation.claim_holder(item, now) == moderator.id


# --- 4. conflict of interest ------------------------------------------------------------


def _ulo_of(db_session, user):
    return db_session.scalar(
        select(OrganisationStaff.organisation_id).where(OrganisationStaff.user_id == user.id)
    )


def test_a_report_about_a_ulo_never_goes_to_its_own_staff(db_session, mailbox, council, moderator):
    from marketplace.organisations.models import Organisation

    other_ulo_staff = ulo_moderator(council)
    boss = admin()
    ulo = db_session.get(Organisation, _ulo_of(db_session, moderator))
    item = report_item(db_session, "organisation", ulo.id, "risk_from_other")
    db_session.commit()
    assert item.conflict_orgs == {ulo.id}
    assert item not in moderation.queue_for(db_session, moderator)
    with pytest.raises(NotAllowed):
        moderation.get_for_moderator(db_session, moderator, item.id)
    with pytest.raises(NotAllowed):
        moderation.claim(db_session, moderator, item)
    with pytest.raises(NotAllowed):
        moderation.decide(db_session, moderator, item, Decision.APPROVE, "")
    assert [m for m in mailbox.messages if m["To"] == moderator.email] == []
    # Another ULO covering the area, and the admins, can.
    mailbox.last_to(other_ulo_staff.email, ALERT)
    assert item in moderation.queue_for(db_session, other_ulo_staff)
    assert item in moderation.queue_for(db_session, boss)


def test_a_lone_ulo_reported_leaves_the_item_to_the_admins(db_session, mailbox, council, moderator):
    from marketplace.organisations.models import Organisation

    boss = admin()
    ulo = db_session.get(Organisation, _ulo_of(db_session, moderator))
    report_item(db_session, "organisation", ulo.id, "money_misuse")
    db_session.commit()
    mailbox.last_to(boss.email, ALERT)
    assert [m for m in mailbox.messages if m["To"] == moderator.email] == []


def test_a_report_about_a_listing_is_kept_from_its_providers_staff(db_session, council, moderator):
    listing, staff = published_listing(db_session, council, moderator)
    # The provider's member of staff also moderates the area for a ULO.
    from marketplace.organisations.models import Organisation
    from tests.factories import StaffFactory

    ulo = db_session.get(Organisation, _ulo_of(db_session, moderator))
    StaffFactory(organisation=ulo, user=staff)
    staff.roles  # noqa: B018 - loaded before the role is added
    from marketplace.auth.models import UserRole

    db_session.add(UserRole(user_id=staff.id, role="ulo_staff"))
    db_session.flush()
    db_session.refresh(staff)
    item = report_item(db_session, "listing", listing.id, "false")
    assert item.conflict_orgs == {listing.organisation_id}
    assert item not in moderation.queue_for(db_session, staff)
    assert item in moderation.queue_for(db_session, moderator)


def test_an_appeal_keeps_the_conflict_of_the_report(db_session, council, moderator):
    from marketplace.moderation import decisions
    from marketplace.moderation.models import Sanction

    listing, staff = published_listing(db_session, council, moderator)
    item = report_item(db_session, "listing", listing.id, "false")
    decisions.decide(db_session, moderator, item, Decision.HIDE, "Misleading prices")
    sanction = db_session.scalars(select(Sanction).filter_by(queue_item_id=item.id)).one()
    appeal = decisions.appeal(db_session, staff, sanction, "The prices are right")
    (appeal_item,) = moderation.open_entries_for(db_session, decisions.ITEM_APPEAL, appeal.id)
    assert appeal_item.conflict_orgs == {listing.organisation_id}
