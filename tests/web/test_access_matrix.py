"""Every route, as every kind of person: who gets 200, who is sent to sign in, who gets 403/404."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pyotp
import pytest

from marketplace.buddies import services as buddies
from marketplace.carers import services as carers
from marketplace.carers.models import CarerScope
from marketplace.db import utcnow
from marketplace.memberships import help_requests, reciprocity
from marketplace.memberships import services as memberships
from marketplace.memberships.services import OfferData
from marketplace.organisations.models import ApprovalStatus, OrganisationKind, StaffRole
from marketplace.pools import services as pools
from marketplace.providers import services
from marketplace.providers.models import ListingStatus
from tests.buddies.builders import ask, confirmed_buddy
from tests.factories import CouncilFactory, OrganisationFactory, StaffFactory, UserFactory
from tests.helpers import csrf_token, sign_in
from tests.listing_helpers import listing_data, ulo_moderator
from tests.pools.builders import approved_pool, invoice_pledge

ROLES = ("visitor", "holder", "carer", "provider_staff", "ulo_staff", "admin")
SIGN_IN = 302


@dataclass
class World:
    people: dict
    approved_org: int
    pending_org: int
    holder_id: int
    grant_id: int
    staff_request_id: int
    published_listing: int
    draft_listing: int
    buddy_request: int
    buddy_match: int
    pool: int
    ulo_org: int
    membership: int
    time_log: int
    help_request: int
    help_thread: int


@pytest.fixture
def world(app, db_session) -> World:
    holder = UserFactory(email="holder@example.org", roles=["holder"])
    carer = UserFactory(email="carer@example.org", roles=["carer"])
    provider = UserFactory(email="provider@example.org", roles=["provider_staff"])
    ulo = UserFactory(
        email="ulo@example.org",
        roles=["ulo_staff"],
        totp_secret=pyotp.random_base32(),
        totp_enabled_at=utcnow(),
    )
    admin = UserFactory(
        email="admin@example.org",
        roles=["admin"],
        totp_secret=pyotp.random_base32(),
        totp_enabled_at=utcnow(),
    )
    approved = OrganisationFactory(kind=OrganisationKind.PROVIDER.value)
    StaffFactory(organisation=approved, user=provider, role=StaffRole.OWNER.value)
    pending = OrganisationFactory(
        kind=OrganisationKind.ULO.value, status=ApprovalStatus.PENDING.value
    )
    StaffFactory(organisation=pending, user=ulo, role=StaffRole.OWNER.value)
    request = StaffFactory(
        organisation=approved, user=UserFactory(), status=ApprovalStatus.PENDING.value
    )
    council = CouncilFactory()
    approved.councils.append(council)
    published = services.create_listing(
        db_session, provider, approved, listing_data(db_session, council)
    )
    published.status = ListingStatus.PUBLISHED.value
    draft = services.create_listing(
        db_session, provider, approved, listing_data(db_session, council, name="Draft")
    )
    grant, token = carers.invite_carer(db_session, holder, carer.email, [CarerScope.VIEW], 3600)
    carers.accept_invitation(db_session, carer, token)
    # The holder has a budget buddy (someone outside the roles under test).
    buddy_ulo = ulo_moderator(council)
    buddy, profile = confirmed_buddy(db_session, council, buddy_ulo)
    buddy_request = buddies.ask_for_buddy(db_session, holder, ask(council))
    match = buddies.propose(db_session, buddy_request, profile)
    buddies.accept(db_session, buddy, match)
    # An open pool (proposed by someone else) that the holder has joined.
    pool = approved_pool(db_session, council, buddy_ulo)
    pools.join(db_session, holder, pool, invoice_pledge())
    # An approved ULO run by the ulo_staff person, offering giving time back; the holder is a
    # member and logged time for the ULO; someone else asked it for help.
    member_ulo = OrganisationFactory(kind=OrganisationKind.ULO.value)
    StaffFactory(organisation=member_ulo, user=ulo, role=StaffRole.OWNER.value)
    memberships.set_offer(db_session, ulo, member_ulo, OfferData(None, 240, ("events",)))
    membership = memberships.join(db_session, holder, member_ulo, "reciprocity")
    time_log = reciprocity.log_time(
        db_session, holder, member_ulo, reciprocity.TimeGiven("events", utcnow().date(), 60)
    )
    with app.app_context():  # posting and accepting help email the members (with links)
        help_request = help_requests.post_request(
            db_session,
            UserFactory(),
            member_ulo,
            help_requests.HelpRequestData("A lift", utcnow().date() + timedelta(days=3), "other"),
        )
        # Someone else asked for help and accepted the holder's offer: the two have a thread.
        asker = UserFactory()
        help_thread = help_requests.post_request(
            db_session,
            asker,
            member_ulo,
            help_requests.HelpRequestData("A walk", utcnow().date() + timedelta(days=3), "events"),
        )
        help_requests.accept_offer(
            db_session, asker, help_requests.offer_help(db_session, holder, help_thread)
        )
        db_session.commit()
    return World(
        people={
            "holder": holder,
            "carer": carer,
            "provider_staff": provider,
            "ulo_staff": ulo,
            "admin": admin,
        },
        approved_org=approved.id,
        pending_org=pending.id,
        holder_id=holder.id,
        grant_id=grant.id,
        staff_request_id=request.id,
        published_listing=published.id,
        draft_listing=draft.id,
        buddy_request=buddy_request.id,
        buddy_match=match.id,
        pool=pool.id,
        ulo_org=member_ulo.id,
        membership=membership.id,
        time_log=time_log.id,
        help_request=help_request.id,
        help_thread=help_thread.id,
    )


def everyone(code: int) -> dict[str, int]:
    return dict.fromkeys(ROLES, code)


def signed_in(code: int) -> dict[str, int]:
    return {**everyone(code), "visitor": SIGN_IN}


def only(code: int, *roles: str, others: int = 403) -> dict[str, int]:
    return {**everyone(others), "visitor": SIGN_IN, **dict.fromkeys(roles, code)}


GET_ROUTES = [
    ("/", everyone(200)),
    ("/guides", everyone(200)),
    ("/guides/what-is-a-personal-budget", everyone(200)),
    ("/guides/four-ways-to-hold-it", everyone(200)),
    ("/guides/using-your-budget-with-others", everyone(200)),
    ("/guides/no-such-guide", everyone(404)),
    ("/accessibility", everyone(200)),
    # Health checks and metrics: for the load balancer and Prometheus, never behind sign-in.
    ("/healthz", everyone(200)),
    ("/readyz", everyone(200)),
    ("/metrics", everyone(200)),
    ("/privacy", everyone(200)),
    ("/organisations", everyone(200)),
    ("/organisations?kind=ulo", everyone(200)),
    ("/organisations/{approved_org}", everyone(200)),
    ("/organisations/{pending_org}", {**everyone(404), "ulo_staff": 200, "admin": 200}),
    ("/register", {**everyone(302), "visitor": 200}),
    ("/sign-in", {**everyone(302), "visitor": 200}),
    ("/forgotten-password", everyone(200)),
    # Emailed links work without signing in; an unknown one is gone for everyone.
    ("/register/confirm/no-such-token", everyone(410)),
    ("/sign-in/link", {**everyone(302), "visitor": 200}),
    ("/sign-in/link/no-such-token", everyone(410)),
    ("/account", signed_in(200)),
    ("/account/details", signed_in(200)),
    ("/account/password", signed_in(200)),
    ("/account/two-factor", signed_in(200)),
    ("/account/carers", signed_in(200)),
    ("/account/carers/{grant_id}", only(200, "holder", others=404)),
    ("/account/your-data", signed_in(200)),
    ("/account/your-data/download", signed_in(200)),
    ("/account/delete", signed_in(200)),
    ("/account/emails", signed_in(200)),
    # One-click email links work without signing in; an unknown one is gone for everyone.
    ("/do/no-such-token", everyone(410)),
    ("/carer/people", signed_in(200)),
    ("/carer/people/{holder_id}", only(200, "carer")),
    ("/organisations/mine", signed_in(200)),
    ("/organisations/new", signed_in(200)),
    ("/organisations/join", signed_in(200)),
    ("/organisations/{approved_org}/staff", only(200, "provider_staff")),
    ("/admin/organisations", only(200, "admin")),
    ("/admin/organisations/{pending_org}", only(200, "admin")),
    ("/admin/audit", only(200, "admin")),
    ("/admin/cases", only(200, "admin")),
    ("/admin/cases/999999", only(404, "admin")),
    ("/complaints", everyone(200)),
    ("/account/your-data/request", signed_in(200)),
    ("/admin/audit?actor=system&date_from=2026-01-01", only(200, "admin")),
    ("/admin/audit.csv", only(200, "admin")),
    ("/moderation/appeals/999999", signed_in(404)),
    ("/services", everyone(200)),
    ("/services?q=peer&category=peer-support&page=2", everyone(200)),
    ("/services/{published_listing}", everyone(200)),
    ("/services/{draft_listing}", everyone(404)),
    ("/services/list?ids={published_listing},{draft_listing}", everyone(200)),
    ("/provider/listings", signed_in(200)),
    (
        "/provider/organisations/{approved_org}/listings/new",
        only(200, "provider_staff", others=404),
    ),
    ("/provider/listings/{draft_listing}", only(200, "provider_staff", others=404)),
    ("/provider/listings/{published_listing}/edit", only(200, "provider_staff", others=404)),
    ("/moderation", only(200, "ulo_staff", "admin")),
    ("/buddies", signed_in(200)),
    # The question pages: each start goes to its first question (and keeps answers in the
    # session, so the questions then open); "Check your answers" goes back to the first
    # question not answered yet.
    ("/buddies/offer", signed_in(302)),
    ("/buddies/ask", signed_in(302)),
    ("/buddies/offer/council", signed_in(200)),
    ("/buddies/offer/about-me", signed_in(200)),
    ("/buddies/offer/check", signed_in(302)),
    ("/buddies/ask/help", signed_in(200)),
    ("/buddies/ask/check", signed_in(302)),
    # A hello only to someone suggested: anyone else is back to the suggestions.
    ("/buddies/requests/{buddy_request}/hello/999999", only(302, "holder", others=404)),
    ("/buddies/hellos/999999", signed_in(404)),
    # The carer's grant covers "view" only, not "buddying".
    ("/buddies/requests/{buddy_request}", only(200, "holder", others=404)),
    ("/buddies/pairings/{buddy_match}", only(200, "holder", others=404)),
    ("/buddies/pairings/{buddy_match}/pause", only(200, "holder", others=404)),
    ("/buddies/pairings/{buddy_match}/end", only(200, "holder", others=404)),
    ("/buddies/pairings/{buddy_match}/report", only(200, "holder", others=404)),
    ("/buddies/pairings/{buddy_match}/block", only(200, "holder", others=404)),
    ("/buddies/pairings/{buddy_match}/feedback", only(200, "holder", others=404)),
    # No handover on offer while they are still buddies: back to the pairing page.
    ("/buddies/pairings/{buddy_match}/another/999999", only(302, "holder", others=404)),
    ("/buddies/round", only(200, "ulo_staff", "admin")),
    ("/buddies/concerns/999999/conversation", only(404, "ulo_staff", "admin")),
    ("/pools", everyone(200)),
    ("/pools?council=1&kind=2&q=art", everyone(200)),
    ("/pools/propose", signed_in(200)),
    ("/pools/{pool}", everyone(200)),
    ("/pools/999999", everyone(404)),
    ("/pools/{pool}/join", signed_in(200)),
    # Nothing answered yet: back to the first question.
    ("/pools/{pool}/join/check", everyone(302)),
    ("/pools/{pool}/join/card", everyone(302)),
    ("/pools/{pool}/leave", only(200, "holder", others=404)),
    ("/pools/{pool}/maximum", only(200, "holder", others=404)),
    ("/pools/{pool}/vote/open", only(200, "admin")),
    ("/pools/{pool}/cancel", only(200, "admin")),
    ("/pools/{pool}/payments/1/fix", signed_in(404)),
    # Moved to the one statement for pools and fees.
    ("/pools/statement", everyone(301)),
    ("/pools/statement.csv", everyone(301)),
    ("/statement", signed_in(200)),
    ("/statement.csv", signed_in(200)),
    ("/statement/print", signed_in(200)),
    ("/statement/details", signed_in(200)),
    # A carer with the "view" grant sees the holder's statement; nobody else does.
    ("/statement?for_whom={holder_id}", only(200, "holder", "carer", others=404)),
    ("/organisations/{approved_org}/payouts", only(200, "provider_staff", "admin", others=404)),
    (
        "/organisations/{approved_org}/payouts.csv",
        only(200, "provider_staff", "admin", others=404),
    ),
    ("/admin/organisations/{approved_org}/payouts/new", only(200, "admin")),
    ("/provider/pools", signed_in(200)),
    ("/pools/{pool}/quote?org={approved_org}", only(200, "provider_staff")),
    ("/organisations/{ulo_org}/membership", everyone(200)),
    ("/organisations/{approved_org}/membership", everyone(404)),
    ("/organisations/{pending_org}/membership", everyone(404)),
    ("/organisations/{ulo_org}/membership/offer", only(200, "ulo_staff")),
    ("/organisations/{ulo_org}/membership/dashboard", only(200, "ulo_staff")),
    ("/organisations/{ulo_org}/membership/members.csv", only(200, "ulo_staff")),
    (
        "/organisations/{ulo_org}/membership/members/{membership}",
        only(200, "ulo_staff"),
    ),
    ("/organisations/{ulo_org}/membership/join", signed_in(200)),
    # Nothing answered yet: back to the first question.
    ("/organisations/{ulo_org}/membership/join/check", signed_in(302)),
    ("/organisations/{ulo_org}/membership/join/card", signed_in(302)),
    ("/memberships", signed_in(200)),
    ("/memberships/confirmations", signed_in(200)),
    # The carer's grant covers "view" only, not "memberships".
    ("/memberships/{membership}/time", only(200, "holder", others=404)),
    ("/memberships/{membership}/time/new", only(200, "holder", others=404)),
    # This ULO takes no fee, so there is no switch to offer (issue 21): not even the holder.
    ("/memberships/{membership}/switch", only(404, "holder", others=404)),
    ("/memberships/{membership}/leave", only(200, "holder", others=404)),
    ("/organisations/{ulo_org}/help/new", signed_in(200)),
    # Members and the ULO's staff see its requests for help.
    ("/organisations/{ulo_org}/help", only(200, "holder", "ulo_staff")),
    ("/help/{help_request}", only(200, "holder", "ulo_staff", others=404)),
    # The holder helps here: they see the thread; staff see the request but not the thread.
    ("/help/{help_thread}", only(200, "holder", "ulo_staff", others=404)),
    # "Report this": anyone signed in, about what they can see.
    ("/report/yours", signed_in(200)),
    ("/report/listing/{published_listing}", signed_in(200)),
    ("/report/listing/{draft_listing}", signed_in(404)),
    ("/report/organisation/{approved_org}", signed_in(200)),
    ("/report/organisation/{pending_org}", signed_in(404)),
    ("/report/pool/{pool}", signed_in(200)),
    ("/report/review/999999", signed_in(404)),
    ("/report/pool_message/999999", signed_in(404)),
    ("/report/buddy_message/999999", signed_in(404)),
    ("/report/buddy_hello/999999", signed_in(404)),
    ("/report/buddy_hello_answer/999999", signed_in(404)),
    ("/report/nonsense/1", signed_in(404)),
    ("/report/help_request/{help_request}", only(200, "holder", "ulo_staff", others=404)),
    ("/report/enquiry_message/999999", signed_in(404)),
    # Taking a break: the person's own; "started" goes back to the choice when not on one.
    ("/break", signed_in(200)),
    ("/break/check?length=week", signed_in(200)),
    ("/break/started", signed_in(302)),
    # Crisis plans: everyone has their own; a plan that does not name you is not there.
    ("/account/crisis-plan", signed_in(200)),
    ("/account/crisis-plans", signed_in(200)),
    ("/crisis-plans/999999", signed_in(404)),
    ("/invoices/INV-2026-999999", signed_in(404)),
    ("/invoices/shared/no-such-link", everyone(404)),
]

POST_ROUTES = [
    # Posted empty: the email field comes back with an error; the signed-in go to their account.
    ("/sign-in/link", {**everyone(302), "visitor": 200}),
    ("/register/confirm/no-such-token", everyone(410)),
    ("/sign-in/link/no-such-token", everyone(410)),
    # Posted empty: the email choices form comes back with an error.
    ("/account/emails", signed_in(200)),
    ("/do/no-such-token", everyone(410)),
    # Someone else's carer grant is invisible: 404 rather than a hint that it exists.
    ("/account/carers/{grant_id}/revoke", only(302, "holder", others=404)),
    (
        "/organisations/{approved_org}/staff/{staff_request_id}/approve",
        only(302, "provider_staff"),
    ),
    ("/admin/organisations/{pending_org}", only(200, "admin")),
    ("/admin/cases/999999", only(404, "admin")),
    ("/complaints", everyone(200)),
    ("/account/your-data/request", signed_in(200)),
    ("/provider/listings/{draft_listing}/submit", only(302, "provider_staff", others=404)),
    ("/buddies/pairings/{buddy_match}/resume", only(302, "holder", others=404)),
    # Posted empty: the holder gets the form back with an error.
    ("/buddies/pairings/{buddy_match}/messages", only(200, "holder", others=404)),
    ("/buddies/requests/{buddy_request}/withdraw", only(302, "holder", others=404)),
    ("/buddies/requests/{buddy_request}/tell-when-free", only(302, "holder", others=404)),
    ("/buddies/requests/{buddy_request}/tell-when-free/stop", only(302, "holder", others=404)),
    ("/buddies/requests/{buddy_request}/hello/999999", only(302, "holder", others=404)),
    ("/buddies/hellos/999999", signed_in(404)),
    ("/buddies/ask/help", signed_in(302)),
    ("/buddies/ask/check", signed_in(302)),
    ("/buddies/offer/check", signed_in(302)),
    ("/buddies/pairings/{buddy_match}/another/999999", only(302, "holder", others=404)),
    ("/buddies/round", only(200, "ulo_staff", "admin")),
    ("/moderation/items/999999", only(404, "ulo_staff", "admin")),
    ("/moderation/items/999999/claim", only(404, "ulo_staff", "admin")),
    ("/moderation/appeals/999999", signed_in(404)),
    (
        "/provider/listings/{published_listing}/discard-changes",
        only(302, "provider_staff", others=404),
    ),
    (
        "/provider/listings/{published_listing}/confirm-checked",
        only(302, "provider_staff", others=404),
    ),
    # Posted empty: "choose one of the quotes" and back to the pool.
    ("/pools/{pool}/vote", signed_in(302)),
    # The hidden amount is missing: a bad request for the member, nothing for anyone else.
    ("/pools/{pool}/maximum/confirm", only(400, "holder", others=404)),
    # Only the proposer or the area's ULO staff (this ULO is not approved yet) or an admin.
    # Posted empty: the choice of closing time comes back with an error.
    ("/pools/{pool}/vote/open", only(200, "admin")),
    # Nobody closes a vote by hand any more: it closes by itself.
    ("/pools/{pool}/vote/close", everyone(404)),
    # Posted empty: the reason comes back with an error (the pool is not the holder's).
    ("/pools/{pool}/cancel", only(200, "admin")),
    # Posted without a reason: back to the reason page, nothing cancelled.
    ("/pools/{pool}/cancel/confirm", only(302, "admin")),
    # Invoices: money is recorded on the invoice's own page (tests/pools test who may see one).
    ("/invoices/INV-2026-999999/payments", signed_in(404)),
    # Posted empty: the proposal form comes back with errors.
    ("/pools/propose", signed_in(200)),
    ("/pools/{pool}/leave", only(302, "holder", others=404)),
    ("/memberships/{membership}/pause", only(302, "holder", others=404)),
    ("/memberships/{membership}/resume", only(302, "holder", others=404)),
    # The giver may not confirm their own hours (a message, 302); staff of the ULO may.
    ("/memberships/time/{time_log}/confirm", only(302, "holder", "ulo_staff", others=404)),
    ("/help/{help_request}/offer", only(302, "holder", "ulo_staff", others=404)),
    ("/help/{help_request}/cancel", only(404, "holder", "ulo_staff", others=404)),
    ("/help/offers/999999/accept", only(404, "holder", others=404)),
    # Only the two in a help request's thread write in it (posted empty: the error shows).
    ("/help/{help_thread}/messages", only(200, "holder", others=404)),
    ("/help/{help_request}/messages", only(404, "holder", others=404)),
    ("/help/{help_thread}/share-email", only(302, "holder", others=404)),
    (
        "/organisations/{ulo_org}/membership/members/{membership}/forgive",
        only(302, "ulo_staff"),
    ),
    # Posted empty: the offer form comes back with an error.
    ("/organisations/{ulo_org}/membership/offer", only(200, "ulo_staff")),
    # Posted empty: the report form comes back with an error.
    ("/report/listing/{published_listing}", signed_in(200)),
    ("/report/organisation/{pending_org}", signed_in(404)),
    # Posted empty: the choice comes back with an error; no length or no break goes back.
    ("/break", signed_in(200)),
    ("/break/check", signed_in(302)),
    ("/break/end", signed_in(302)),
    # Posted empty: an empty plan is saved (all of it is optional); deleting goes back.
    ("/account/crisis-plan", signed_in(302)),
    ("/account/crisis-plan/delete", signed_in(302)),
]


def client_for(app, world: World, role: str):
    client = app.test_client()
    if role != "visitor":
        sign_in(client, world.people[role])
    return client


@pytest.mark.parametrize("role", ROLES)
def test_get_routes(app, world, role):
    client = client_for(app, world, role)
    failures = []
    for template, expected in GET_ROUTES:
        path = template.format(**vars(world))
        got = client.get(path).status_code
        if got != expected[role]:
            failures.append(f"GET {path}: expected {expected[role]}, got {got}")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("role", ROLES)
def test_post_routes(app, world, role):
    failures = []
    for template, expected in POST_ROUTES:
        client = client_for(app, world, role)  # fresh each time: a POST may change state
        token = csrf_token(client, "/sign-in" if role == "visitor" else "/account")
        path = template.format(**vars(world))
        got = client.post(path, data={"csrf_token": token}).status_code
        if got != expected[role]:
            failures.append(f"POST {path}: expected {expected[role]}, got {got}")
    assert not failures, "\n".join(failures)


def test_sign_in_redirect_keeps_where_you_were_going(app, world):
    client = app.test_client()
    response = client.get("/account/details")
    assert response.status_code == 302
    assert "/sign-in" in response.headers["Location"]
    client.get(response.headers["Location"])
    response = sign_in(client, world.people["holder"])
    assert response.headers["Location"].endswith("/account/details")


@pytest.mark.parametrize("role", [r for r in ROLES if r != "visitor"])
def test_nothing_a_signed_in_person_is_sent_may_be_stored(app, world, role):
    """Pages, downloads (audit.csv, members.csv, statements, your data) and redirects alike."""
    client = client_for(app, world, role)
    stored = []
    for template, _expected in GET_ROUTES:
        path = template.format(**vars(world))
        if client.get(path).headers.get("Cache-Control") != "no-store":
            stored.append(path)
    assert stored == []
    assert len(GET_ROUTES) > 50
