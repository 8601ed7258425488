"""A believable, fictional demo world. No name here belongs to a real person."""

from __future__ import annotations

import functools
import random
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from marketplace.auth.models import Role, UsageIntent, User
from marketplace.auth.passwords import hash_password
from marketplace.auth.services import Registration, grant_role, register
from marketplace.carers.models import CarerScope
from marketplace.carers.services import accept_invitation, invite_carer
from marketplace.db import utcnow
from marketplace.demo.buddies import seed_buddies
from marketplace.demo.listings import seed_listings
from marketplace.demo.pools_and_memberships import seed_memberships, seed_pools, seed_time_members
from marketplace.extensions import db
from marketplace.organisations.models import Organisation, OrganisationKind
from marketplace.organisations.services import (
    OrganisationDetails,
    create_organisation,
    decide_organisation,
)
from marketplace.places.services import ensure_council

DEMO_PASSWORD = "demo-password-2026"  # noqa: S105 - published demo credential, demo data only

# Moderators need a second factor; the demo publishes one key so anyone can try moderation.
DEMO_TOTP_SECRET = "MARKETPLACEDEMOSECRET234567ABCDE"  # noqa: S105 - published demo key

COUNCILS = [("E08000035", "Leeds"), ("E08000003", "Manchester"), ("E06000023", "Bristol")]

ULOS = [
    (
        "Leeds Peer Voices",
        "Leeds",
        "Run by people with lived experience of mental distress. Information, peer support "
        "groups, help with support planning and a payroll service for people who employ "
        "personal assistants. Members pay £7 a month or give time back instead.",
    ),
    (
        "Bristol Budget Circle",
        "Bristol",
        "A user-led organisation helping people in Bristol get and use personal budgets. "
        "Weekly drop-in, budget buddies, and help with direct payment paperwork.",
    ),
]

PROVIDER_WORDS = (
    ["Harbour", "Northern", "Willow", "Bridge", "Open Door", "Kestrel", "Meadow", "Canal"]
    + ["Lantern", "Cedar", "Riverside", "Hilltop", "Oak", "Compass", "Beacon", "Granite"]
    + ["Maple", "Heron", "Juniper", "Moorland"]
)
PROVIDER_KINDS = [
    ("Personal Assistants", "Personal assistants who can help at home and out and about."),
    ("Peer Support", "Peer-led groups run by people with lived experience."),
    ("Fitness", "A friendly gym with quiet hours and supported inductions."),
    ("IT Help", "Patient one-to-one help with computers, phones and getting online."),
    ("Advocacy", "Independent advocates who help you be heard in assessments and reviews."),
    ("Night Support", "Sleep-in and waking-night support workers."),
    ("Community Arts", "Creative sessions - art, music and writing - in small groups."),
    ("Wellbeing Walks", "Guided walking groups at an easy pace."),
]

HOLDER_NAMES = (
    ["Sam R", "Jo K", "Priya", "Alex T", "Morgan", "Kwame", "Bea", "Dev", "Hollie", "Tariq"]
    + ["Rosa", "Ade", "Fin", "Grace W", "Ibrahim", "Lena", "Mo", "Niamh", "Ollie P", "Shan"]
    + ["Tom B", "Uma", "Vic", "Wren", "Yusuf", "Zara", "Callum", "Dina", "Efe", "Gus"]
)


@dataclass
class SeededWorld:
    """What was created, for printing the demo accounts."""

    accounts: dict[str, str] = field(default_factory=dict)  # role label -> email
    listings: int = 0
    buddies: int = 0
    pools: int = 0
    membership_fees: int = 0  # ULO offers with a fee (needs a Stripe endpoint)


def _user(session: Session, name: str, email: str, intent: UsageIntent) -> User:
    return register(
        session,
        Registration(display_name=name, email=email, password=DEMO_PASSWORD, usage_intent=intent),
        password_hash=_demo_password_hash(),
        named_by_operator=True,  # "Site admin", "Leeds coordinator": the site's own staff
    )


def _demo_second_factor(user: User) -> None:
    user.totp_secret = DEMO_TOTP_SECRET
    user.totp_enabled_at = utcnow()


@functools.cache
def _demo_password_hash() -> str:
    # argon2 is slow by design; dozens of demo accounts share one password, so hash it once.
    return hash_password(DEMO_PASSWORD)


def seed(session: Session, rng: random.Random | None = None) -> SeededWorld:
    """Create the demo world in this session (the caller commits)."""
    rng = rng or random.Random(2026)  # noqa: S311 - demo data, not security
    world = SeededWorld()
    councils = {name: ensure_council(session, code, name) for code, name in COUNCILS}

    admin = _user(session, "Site admin", "admin@demo.example.org", UsageIntent.HOLDER)
    grant_role(session, admin, Role.ADMIN)
    _demo_second_factor(admin)
    world.accounts["admin"] = admin.email

    ulos: list[tuple[User, Organisation]] = []
    for index, (name, council, description) in enumerate(ULOS):
        staff = _user(
            session,
            f"{name.split()[0]} coordinator",
            f"ulo{index + 1}@demo.example.org",
            UsageIntent.ULO,
        )
        org = create_organisation(
            session,
            staff,
            OrganisationDetails(
                name=name,
                kind=OrganisationKind.ULO,
                description=description,
                website=None,
                public_email=f"hello@ulo{index + 1}.demo.example.org",
                public_phone="0113 496 0000" if council == "Leeds" else "0117 496 0000",
                council_ids=(councils[council].id,),
                postal_address=f"{10 + index} Demo Street\n{council} (a made-up address)",
            ),
        )
        decide_organisation(session, admin, org, approve=True)
        ulos.append((staff, org))
        _demo_second_factor(staff)
        if index == 0:
            world.accounts["ULO staff"] = staff.email

    providers: list[tuple[Organisation, User]] = []
    for index in range(40):
        kind_name, description = PROVIDER_KINDS[index % len(PROVIDER_KINDS)]
        word = PROVIDER_WORDS[index % len(PROVIDER_WORDS)]
        council = COUNCILS[index % len(COUNCILS)][1]
        staff = _user(
            session, f"{word} team", f"provider{index + 1}@demo.example.org", UsageIntent.PROVIDER
        )
        org = create_organisation(
            session,
            staff,
            OrganisationDetails(
                name=f"{word} {kind_name} {council}",
                kind=OrganisationKind.PROVIDER,
                description=description,
                website=None,
                public_email=f"contact@provider{index + 1}.demo.example.org",
                public_phone=None,
                postal_address=f"Unit {index + 1}, Demo Yard\n{council} (a made-up address)",
                # The named council first: listings are placed in an organisation's first area.
                council_ids=(councils[council].id,)
                + tuple(
                    c.id
                    for c in rng.sample(list(councils.values()), k=rng.randint(0, 1))
                    if c.name != council
                ),
            ),
        )
        # A few stay pending so the admin has something to approve.
        if index < 37:
            decide_organisation(session, admin, org, approve=True)
        providers.append((org, staff))
        if index == 0:
            world.accounts["provider staff"] = staff.email

    world.listings = seed_listings(session, rng, providers, moderator=admin)

    holders = [
        _user(session, name, f"holder{i + 1}@demo.example.org", UsageIntent.HOLDER)
        for i, name in enumerate(HOLDER_NAMES)
    ]
    world.accounts["budget holder"] = holders[0].email
    world.buddies = seed_buddies(session, rng, holders, list(councils.values()), admin)
    leeds_provider_org, leeds_provider_staff = providers[0]
    world.pools = seed_pools(
        session,
        councils["Leeds"],
        holders[26],
        holders[27:30],
        (leeds_provider_staff, leeds_provider_org),
        admin,
    )
    world.membership_fees = seed_memberships(session, ulos)
    seed_time_members(session, ulos[0][1], holders[1:4])

    carer = _user(session, "Pat (carer)", "carer@demo.example.org", UsageIntent.CARER)
    _grant, token = invite_carer(
        session, holders[0], carer.email, [CarerScope.VIEW, CarerScope.POOLS], ttl_seconds=3600
    )
    accept_invitation(session, carer, token)
    world.accounts["carer"] = carer.email
    return world


def seed_if_empty(force: bool = False) -> SeededWorld | None:
    """Seed the app's database if it has no accounts yet (or when forced); commits."""
    session = db.session
    has_users = session.scalar(select(func.count()).select_from(User)) or 0
    has_orgs = session.scalar(select(func.count()).select_from(Organisation)) or 0
    if (has_users or has_orgs) and not force:
        return None
    world = seed(session)
    session.commit()
    return world


def describe_accounts(world: SeededWorld) -> str:
    """The demo accounts, one per role, for the console."""
    lines = [f"Demo accounts (password for all: {DEMO_PASSWORD}):"]
    lines += [f"  {role:<15} {email}" for role, email in world.accounts.items()]
    lines.append(
        f"  The admin and ULO staff sign in with a second factor: add the key {DEMO_TOTP_SECRET}"
        ' to any authenticator app (or run: python -c "import pyotp;'
        f" print(pyotp.TOTP('{DEMO_TOTP_SECRET}').now())\")."
    )
    return "\n".join(lines)
