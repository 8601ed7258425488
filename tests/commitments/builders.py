"""Building blocks for the commitments tests: a person with one of everything."""

from __future__ import annotations

from marketplace.buddies import services as buddies
from marketplace.carers import services as carers
from marketplace.carers.models import CarerScope
from marketplace.memberships import help_requests
from marketplace.memberships import services as memberships
from marketplace.memberships.services import OfferData
from marketplace.pools import services as pools
from tests.buddies.builders import ask, confirmed_buddy
from tests.factories import UserFactory
from tests.memberships.conftest import KINDS, make_ulo
from tests.pools.builders import approved_pool, in_days, invoice_pledge, quote


def carer_of(db_session, holder, scopes=(CarerScope.VIEW,), name="Cara Carer"):
    """Someone the holder lets act for them with these scopes (an accepted invitation)."""
    carer = UserFactory(display_name=name)
    _grant, token = carers.invite_carer(db_session, holder, carer.email, scopes, 3600)
    carers.accept_invitation(db_session, carer, token)
    db_session.flush()
    return carer


def giving_time_ulo(db_session, name="Leeds Voice"):
    """(staff, ULO) whose members give 4 hours a month."""
    staff, org = make_ulo(db_session, name=name)
    memberships.set_offer(db_session, staff, org, OfferData(None, 240, KINDS))
    return staff, org


def paired(db_session, council, moderator, seeker):
    """The seeker asked for a buddy and the buddy accepted: (buddy user, match)."""
    buddy, profile = confirmed_buddy(db_session, council, moderator)
    buddy.display_name = "Bo Buddy"
    request = buddies.ask_for_buddy(db_session, seeker, ask(council))
    match = buddies.propose(db_session, request, profile)
    buddies.accept(db_session, buddy, match)
    return buddy, match


def gathering_pool(db_session, council, moderator, provider, person, **overrides):
    """An open pool with a quote, which `person` has joined by invoice (£30 maximum)."""
    pool = approved_pool(db_session, council, moderator, **overrides)
    offer = quote(db_session, provider, pool, total_pence=9000)
    pools.join(db_session, person, pool, invoice_pledge(3000))
    return pool, offer


def asked_for_help(db_session, person, org, what="Help filling in my council's form"):
    return help_requests.post_request(
        db_session,
        person,
        org,
        help_requests.HelpRequestData(what=what, needed_on=in_days(10), kind="other"),
    )
