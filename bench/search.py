"""Benchmark the directory search: Whoosh direct, the /services page over HTTP, and SQLite FTS5.

    python bench/search.py --services 100000 --processes 2

Generates N realistic listings (a Zipf-distributed vocabulary of pseudo-words plus real domain
words, facets, prices and points clustered around English towns) and measures, on the same data
and the same fixed mix of 200 queries:

1. Whoosh direct: ``SearchIndex.search``;
2. through HTTP (``--http``, on by default; ``--no-http`` to skip it): the listings are
   bulk-inserted into a temporary SQLite database (migrated with ``migrations.upgrade``), the
   index is built from it with ``indexing.rebuild_from_database`` (and used for 1 as well, so it
   is built once), and the app from ``create_app`` is served by werkzeug on a free loopback port;
   each query goes as a GET to ``/services?...`` from one client thread, so the time includes
   the form, the search, loading the page's listings from the database and rendering (and a
   loopback connect: werkzeug closes every connection);
3. SQLite FTS5: the same listings in an FTS5 table and the equivalent SQL.

Every query runner goes through ``run_queries(run_one, queries)``: each front end is a function
that takes a ``SearchQuery``. Each is run twice; the first pass starts with cold caches.
"""

from __future__ import annotations

import argparse
import cProfile
import dataclasses
import http.client
import itertools
import math
import os
import pstats
import random
import re
import sqlite3
import statistics
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from flask import Flask, request
from sqlalchemy import insert, select
from sqlalchemy.engine import Connection
from werkzeug.serving import WSGIRequestHandler, make_server

from marketplace import create_app, migrations
from marketplace.db import make_engine
from marketplace.demo import search_queries
from marketplace.extensions import db
from marketplace.organisations.models import ApprovalStatus, Organisation, OrganisationKind
from marketplace.places.models import Council
from marketplace.places.postcodes import Place, demo_places
from marketplace.providers import indexing, synonyms
from marketplace.providers.models import (
    LANGUAGES,
    Category,
    Community,
    DeliveryMode,
    Listing,
    ListingPrice,
    ListingStatus,
    PriceUnit,
    Specialism,
    listing_categories,
    listing_councils,
)
from marketplace.providers.routes import _query_from
from marketplace.providers.search import ListingDocument, SearchIndex, SearchQuery
from marketplace.providers.search_form import SearchForm
from marketplace.providers.taxonomy import CATEGORIES

SEED = 20261124
METRES_PER_MILE = 1609.344

# Real words people type when looking for support; they are mixed into the Zipf ranking so that
# some are common (support, group) and some rare (tigrinya, payroll).
DOMAIN_WORDS = """
peer support group walking gym advocacy assistant personal night computer art music mental health
wellbeing recovery community club swimming yoga pilates dance drama writing poetry painting
pottery gardening allotment cooking baking shopping cleaning laundry transport travel driving
bus train befriending friendship social coffee lunch outing trip holiday respite carer carers
sleep overnight waking domestic housework budget direct payment payments payroll managed account
accounts money benefits debt advice housing tenancy employment job jobs work volunteering
volunteer training course courses college learning skills reading maths english computers
internet online phone video tablet smartphone email digital it help helpers helper counselling
therapy therapist talking listening anxiety depression bipolar psychosis trauma grief loss
bereavement stress sleep mindfulness meditation relaxation massage fitness exercise football
cricket tennis boxing cycling running hiking nature outdoor photography film cinema theatre
singing choir band guitar piano drums crafts knitting sewing woodwork men women young older
lgbtq deaf signing faith church mosque temple gurdwara culture cultural african caribbean asian
somali polish bengali urdu arabic punjabi tigrinya kurdish interpreter translation planning
plan review assessment council independent living home visits daily evening weekend weekly
monthly session sessions hour hours group-based one-to-one mentoring coaching buddy buddies
network charity trust local city town village centre hub library space kitchen garden
""".split()

SYLLABLES = [c + v for c in "bcdfghjklmnprstvwyz" for v in ("a", "e", "i", "o", "u", "ai", "ou")]

# The real taxonomy and vocabularies, so generated listings look like the directory's own.
CATEGORY_SLUGS = [slug for slug, _name, _description in CATEGORIES]
DELIVERY_MODES = [mode.value for mode in DeliveryMode]
OTHER_LANGUAGES = [language for language in LANGUAGES if language != "English"]
COMMUNITIES = [community.value for community in Community]

# Approximate OS grid positions (metres) of twenty English towns and cities.
TOWNS: list[tuple[str, int, int]] = [
    ("London", 530000, 180000),
    ("Birmingham", 407000, 287000),
    ("Manchester", 384000, 398000),
    ("Leeds", 430000, 433000),
    ("Liverpool", 335000, 390000),
    ("Sheffield", 435000, 387000),
    ("Bristol", 359000, 173000),
    ("Newcastle", 425000, 564000),
    ("Nottingham", 457000, 340000),
    ("Leicester", 458000, 304000),
    ("Coventry", 433000, 279000),
    ("Bradford", 416000, 433000),
    ("Hull", 509000, 429000),
    ("Plymouth", 248000, 56000),
    ("Southampton", 442000, 112000),
    ("Norwich", 623000, 308000),
    ("Exeter", 292000, 92000),
    ("York", 460000, 452000),
    ("Brighton", 531000, 105000),
    ("Cambridge", 545000, 258000),
]
COUNCILS_PER_TOWN = 15


class Corpus:
    """A deterministic vocabulary with Zipf-like word frequencies (rank ** -1.1)."""

    def __init__(self, rng: random.Random, pseudo_words: int = 6000) -> None:
        words: set[str] = set()
        domain = set(DOMAIN_WORDS)
        while len(words) < pseudo_words:
            word = "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4)))
            if word not in domain:
                words.add(word)
        ranking = sorted(words)
        rng.shuffle(ranking)
        # Real words sit among the commonest 2,000 so that they behave like typical queries.
        for word in dict.fromkeys(DOMAIN_WORDS):
            ranking.insert(rng.randrange(0, 2000), word)
        self.ranking = ranking
        self.cum_weights = list(
            itertools.accumulate((rank + 1) ** -1.1 for rank in range(len(ranking)))
        )
        self.rng = rng

    def words(self, count: int) -> list[str]:
        return self.rng.choices(self.ranking, cum_weights=self.cum_weights, k=count)

    def sentence(self, count: int) -> str:
        words = self.words(count)
        return " ".join(words).capitalize() + "."


def generate_documents(count: int, seed: int = SEED) -> tuple[list[ListingDocument], Corpus]:
    """COUNT listings with text, facets, prices and points (the same ones for the same seed)."""
    rng = random.Random(seed)
    corpus = Corpus(rng)
    organisations = [
        " ".join(corpus.words(rng.randint(1, 3))).title() + rng.choice([" Trust", " CIC", ""])
        for _ in range(max(1, count // 5))
    ]
    councils = {
        town: [f"E{index:02d}{n:06d}" for n in range(COUNCILS_PER_TOWN)]
        for index, (town, _, _) in enumerate(TOWNS)
    }
    documents = []
    for listing_id in range(1, count + 1):
        town, east, north = rng.choice(TOWNS)
        if rng.random() < 0.85:
            easting = int(min(650000, max(150000, rng.gauss(east, 9000))))
            northing = int(min(650000, max(50000, rng.gauss(north, 9000))))
        else:  # online or phone only: no place
            easting = northing = None
        price_roll = rng.random()
        if price_roll < 0.1:
            price = None
        elif price_roll < 0.25:
            price = 0
        else:
            price = rng.randrange(300, 6000, 50)
        languages = ["English"]
        if rng.random() < 0.3:
            languages += rng.sample(OTHER_LANGUAGES, rng.randint(1, 2))
        documents.append(
            ListingDocument(
                id=listing_id,
                name=" ".join(corpus.words(rng.randint(2, 5))).capitalize(),
                summary=corpus.sentence(rng.randint(12, 18)),
                description=" ".join(corpus.sentence(12) for _ in range(5)),
                organisation=rng.choice(organisations),
                tags=tuple(dict.fromkeys(rng.sample(DOMAIN_WORDS, rng.randint(0, 4)))),
                categories=tuple(rng.sample(CATEGORY_SLUGS, rng.choice((1, 1, 2, 3)))),
                delivery_modes=tuple(rng.sample(DELIVERY_MODES, rng.randint(1, 3))),
                languages=tuple(languages),
                communities=tuple(rng.sample(COMMUNITIES, rng.choice((0, 0, 0, 1, 2)))),
                councils=tuple(rng.sample(councils[town], rng.randint(1, 3))),
                takes_direct_payments=rng.random() < 0.8,
                min_price_pence=price,
                easting=easting,
                northing=northing,
            )
        )
    return documents, corpus


# ---------------------------------------------------------------------------------------------
# The listings as the database holds them

LISTINGS_PER_ORGANISATION = 50
# The council areas of the bundled demo postcodes, the only ones the HTTP database has.
DEMO_COUNCILS = [("E08000035", "Leeds"), ("E08000003", "Manchester"), ("E06000023", "Bristol")]
SNAP_METRES = 1000  # a listing this close to a demo postcode gets that postcode (and its point)
CATEGORY_POSITION = {slug: position for position, (slug, _, _) in enumerate(CATEGORIES)}


class _PostcodeGrid:
    """The demo postcodes by 1 km square, to find the nearest one to a point quickly."""

    def __init__(self, places: Sequence[Place]) -> None:
        self.cells: dict[tuple[int, int], list[Place]] = {}
        for place in places:
            cell = (place.easting // SNAP_METRES, place.northing // SNAP_METRES)
            self.cells.setdefault(cell, []).append(place)

    def nearest(self, easting: int, northing: int) -> Place | None:
        """The nearest demo postcode within SNAP_METRES, or None."""
        column, row = easting // SNAP_METRES, northing // SNAP_METRES
        best, best_distance = None, float(SNAP_METRES)
        for dx, dy in itertools.product((-1, 0, 1), repeat=2):
            for place in self.cells.get((column + dx, row + dy), ()):
                distance = math.hypot(place.easting - easting, place.northing - northing)
                if distance <= best_distance:
                    best, best_distance = place, distance
        return best


def stored_documents(
    documents: Sequence[ListingDocument],
) -> tuple[list[ListingDocument], list[str | None]]:
    """The listings as they come back from the database, and each listing's postcode.

    One organisation per LISTINGS_PER_ORGANISATION listings (named after its first listing's),
    the demo council area nearest the listing's town, categories in taxonomy order, and points
    within SNAP_METRES of a demo postcode moved onto it. Every mode indexes these documents, so
    the direct, HTTP and FTS5 figures are for the same data.
    """
    places = demo_places()
    grid = _PostcodeGrid(places)
    centres = {}
    for code, _name in DEMO_COUNCILS:
        mine = [place for place in places if place.council_code == code]
        centres[code] = (
            sum(place.easting for place in mine) / len(mine),
            sum(place.northing for place in mine) / len(mine),
        )
    council_of_town = [
        min(centres, key=lambda code: math.dist(centres[code], (east, north)))
        for _, east, north in TOWNS
    ]
    organisations = [
        documents[start].organisation
        for start in range(0, len(documents), LISTINGS_PER_ORGANISATION)
    ]
    stored: list[ListingDocument] = []
    codes: list[str | None] = []
    for position, document in enumerate(documents):
        town = int(document.councils[0][1:3])  # generate_documents' codes: E<town><n>
        easting, northing, postcode = document.easting, document.northing, None
        if easting is not None and northing is not None:
            place = grid.nearest(easting, northing)
            if place is not None:
                easting, northing, postcode = place.easting, place.northing, place.postcode
        stored.append(
            dataclasses.replace(
                document,
                organisation=organisations[position // LISTINGS_PER_ORGANISATION],
                categories=tuple(sorted(document.categories, key=CATEGORY_POSITION.__getitem__)),
                councils=(council_of_town[town],),
                easting=easting,
                northing=northing,
            )
        )
        codes.append(postcode)
    return stored, codes


# ---------------------------------------------------------------------------------------------
# The query mix


def _typo(rng: random.Random, word: str) -> str:
    if len(word) < 5:
        return word
    cut = rng.randrange(1, len(word))
    return word[:cut] + word[cut + 1 :]


def generate_queries(corpus: Corpus, seed: int = SEED) -> list[tuple[str, SearchQuery]]:
    """200 (kind, query): text, text with a category, filters only, near a place, by price.

    "Near" queries are at real demo postcodes (Leeds, Manchester, Bristol), so that the page,
    which takes a postcode rather than a point, can be asked exactly the same thing.
    """
    rng = random.Random(seed + 1)
    pseudo = corpus.ranking[:3000]
    places = demo_places()

    def text() -> str:
        words = [
            rng.choice(DOMAIN_WORDS) if rng.random() < 0.7 else rng.choice(pseudo)
            for _ in range(rng.choice((1, 1, 2, 2, 3)))
        ]
        if rng.random() < 0.1:
            words[0] = _typo(rng, words[0])
        return " ".join(words)

    def near() -> tuple[int, int]:
        return rng.choice(places).point

    queries: list[tuple[str, SearchQuery]] = []
    for _ in range(60):
        queries.append(("text", SearchQuery(text=text())))
    for _ in range(40):
        category = (rng.choice(CATEGORY_SLUGS),)
        queries.append(("text + category", SearchQuery(text=text(), categories=category)))
    for _ in range(30):
        query = SearchQuery(
            categories=tuple(rng.sample(CATEGORY_SLUGS, rng.choice((1, 1, 2)))),
            delivery_modes=(rng.choice(DELIVERY_MODES),) if rng.random() < 0.5 else (),
            languages=(rng.choice(OTHER_LANGUAGES),) if rng.random() < 0.3 else (),
            takes_direct_payments=rng.random() < 0.5,
            max_price_pence=rng.choice((None, 0, 1000, 2500)),
            page=rng.choice((1, 1, 1, 2, 5)),
        )
        queries.append(("filters only", query))
    for index in range(40):
        query = SearchQuery(
            text=text() if index % 2 else "",
            categories=(rng.choice(CATEGORY_SLUGS),) if index % 4 == 0 else (),
            near=near(),
            within_miles=rng.choice((3, 5, 10, 25)),
            sort="distance",
        )
        queries.append(("near, by distance", query))
    for index in range(30):
        query = SearchQuery(
            text=text() if index % 2 else "",
            categories=(rng.choice(CATEGORY_SLUGS),) if index % 2 == 0 else (),
            max_price_pence=rng.choice((None, 2000)),
            sort="price",
        )
        queries.append(("by price", query))
    return queries


# ---------------------------------------------------------------------------------------------
# Running and reporting


def run_queries(
    run_one: Callable[[SearchQuery], object], queries: Sequence[SearchQuery]
) -> list[float]:
    """Run each query through run_one (any front end: SearchIndex, FTS5, HTTP); ms per query."""
    timings = []
    for query in queries:
        started = time.perf_counter()
        run_one(query)
        timings.append((time.perf_counter() - started) * 1000)
    return timings


def percentiles(timings: Sequence[float]) -> tuple[float, float, float]:
    cuts = statistics.quantiles(timings, n=100, method="inclusive")
    return cuts[49], cuts[94], cuts[98]


def report(label: str, timings: Sequence[float]) -> tuple[float, float, float]:
    p50, p95, p99 = percentiles(timings)
    print(
        f"  {label:<34} p50 {p50:7.1f} ms   p95 {p95:7.1f} ms   p99 {p99:7.1f} ms"
        f"   max {max(timings):7.1f} ms"
    )
    return p50, p95, p99


def report_kinds(kinds: Sequence[str], timings: Sequence[float]) -> None:
    for kind in dict.fromkeys(kinds):
        mine = sorted(t for k, t in zip(kinds, timings, strict=True) if k == kind)
        print(
            f"    {kind:<32} p50 {statistics.median(mine):7.1f} ms"
            f"   max {mine[-1]:7.1f} ms   ({len(mine)} queries)"
        )


# ---------------------------------------------------------------------------------------------
# SQLite FTS5, for comparison

FTS_WEIGHTS = "3.0, 2.0, 1.0, 1.5, 2.0"  # name, summary, description, organisation, tags, as ours


def build_fts(documents: Sequence[ListingDocument], path: str) -> sqlite3.Connection:
    connection = sqlite3.connect(path)
    connection.executescript(
        """
        CREATE VIRTUAL TABLE listings_fts USING fts5(
            name, summary, description, organisation, tags, tokenize = 'porter unicode61'
        );
        CREATE TABLE listings (
            id INTEGER PRIMARY KEY, name TEXT, categories TEXT, delivery_modes TEXT,
            languages TEXT, communities TEXT, councils TEXT, takes_direct_payments INTEGER,
            min_price_pence INTEGER, easting INTEGER, northing INTEGER
        );
        """
    )

    def wrap(values: Sequence[str]) -> str:  # ",a,b," so that LIKE '%,a,%' finds exact values
        return "," + ",".join(values) + ","

    connection.executemany(
        "INSERT INTO listings_fts (rowid, name, summary, description, organisation, tags)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (
            (d.id, d.name, d.summary, d.description, d.organisation, " ".join(d.tags))
            for d in documents
        ),
    )
    connection.executemany(
        "INSERT INTO listings VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            (
                d.id,
                d.name.casefold(),
                wrap(d.categories),
                wrap(d.delivery_modes),
                wrap(d.languages),
                wrap(d.communities),
                wrap(d.councils),
                int(d.takes_direct_payments),
                d.min_price_pence,
                d.easting,
                d.northing,
            )
            for d in documents
        ),
    )
    connection.executescript(
        f"""
        INSERT INTO listings_fts (listings_fts, rank) VALUES ('rank', 'bm25({FTS_WEIGHTS})');
        CREATE INDEX ix_name ON listings (name);
        CREATE INDEX ix_price ON listings (min_price_pence, name);
        CREATE INDEX ix_easting ON listings (easting, northing);
        ANALYZE;
        """
    )
    connection.commit()
    return connection


def fts_runner(connection: sqlite3.Connection) -> Callable[[SearchQuery], object]:
    """The same query in SQL: one statement for the page, one for the total (no facets)."""

    def run(query: SearchQuery) -> object:
        where: list[str] = []
        params: list[object] = []
        words = "".join(c if c.isalnum() else " " for c in query.text).split()
        if words:
            where.append("listings_fts MATCH ?")
            params.append(" OR ".join(f'"{w}"' for w in words))
        for column in ("categories", "delivery_modes", "languages", "communities", "councils"):
            values = getattr(query, column)
            if values:
                where.append("(" + " OR ".join(f"l.{column} LIKE ?" for _ in values) + ")")
                params.extend(f"%,{v},%" for v in values)
        if query.takes_direct_payments:
            where.append("l.takes_direct_payments = 1")
        if query.max_price_pence is not None:
            where.append("l.min_price_pence <= ?")
            params.append(query.max_price_pence)
        distance = "NULL"
        if query.near is not None:
            east, north = query.near
            distance = (
                f"((l.easting - {east}) * (l.easting - {east})"
                f" + (l.northing - {north}) * (l.northing - {north}))"
            )
            if query.within_miles is not None:
                radius = query.within_miles * METRES_PER_MILE
                where.append("l.easting BETWEEN ? AND ? AND l.northing BETWEEN ? AND ?")
                params += [east - radius, east + radius, north - radius, north + radius]
                where.append(f"{distance} <= ?")
                params.append(radius * radius)
        if query.sort == "distance" and query.near is not None:
            order = f"{distance} IS NULL, {distance}, l.name"
        elif query.sort == "price":
            order = "l.min_price_pence IS NULL, l.min_price_pence, l.name"
        elif words:
            order = "listings_fts.rank"  # bm25 with FTS_WEIGHTS, configured at build
        else:
            order = "l.name"
        source = (
            "listings_fts JOIN listings l ON l.id = listings_fts.rowid" if words else "listings l"
        )
        condition = " AND ".join(where) or "1"
        page = connection.execute(
            f"SELECT l.id FROM {source} WHERE {condition} ORDER BY {order} LIMIT ? OFFSET ?",
            [*params, query.per_page, (max(1, query.page) - 1) * query.per_page],
        ).fetchall()
        (total,) = connection.execute(
            f"SELECT count(*) FROM {source} WHERE {condition}", params
        ).fetchone()
        return page, total

    return run


# ---------------------------------------------------------------------------------------------
# The app, its database and the /services page over HTTP

INSERT_BATCH = 5000
REQUEST_TIMEOUT = 120  # seconds; a slower request counts as an error, so a run cannot hang
PAGE_TOTAL = re.compile(rb"<strong>(\d+)</strong> services? found")


def _insert_batches(connection: Connection, table: Any, rows: Iterator[dict[str, Any]]) -> int:
    """executemany INSERT of rows, INSERT_BATCH at a time; returns how many."""
    count = 0
    while batch := list(itertools.islice(rows, INSERT_BATCH)):
        connection.execute(insert(table), batch)
        count += len(batch)
    return count


def load_database(
    url: str, documents: Sequence[ListingDocument], postcodes: Sequence[str | None]
) -> tuple[int, int]:
    """Migrate a new database and insert the listings, published, with their organisations.

    Returns (organisations, price rows). Uses Core executemany, not the ORM: the ORM's
    session hooks would index every listing one commit at a time.
    """
    migrations.upgrade(url)
    now = datetime.now(UTC)
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(
                insert(Council.__table__),
                [{"code": code, "name": name} for code, name in DEMO_COUNCILS],
            )
            council_ids = dict(connection.execute(select(Council.code, Council.id)).all())
            category_ids = dict(connection.execute(select(Category.slug, Category.id)).all())
            organisations = _insert_batches(
                connection,
                Organisation.__table__,
                (
                    {
                        "id": number,
                        "name": documents[start].organisation,
                        "kind": OrganisationKind.PROVIDER.value,
                        "status": ApprovalStatus.APPROVED.value,
                        "description": "",
                        "created_at": now,
                        "decided_at": now,
                    }
                    for number, start in enumerate(
                        range(0, len(documents), LISTINGS_PER_ORGANISATION), start=1
                    )
                ),
            )
            _insert_batches(
                connection,
                Listing.__table__,
                (
                    {
                        "id": d.id,
                        "uuid": str(uuid.UUID(int=d.id)),
                        "organisation_id": position // LISTINGS_PER_ORGANISATION + 1,
                        "status": ListingStatus.PUBLISHED.value,
                        "name": d.name,
                        "summary": d.summary,
                        "description": d.description,
                        "tags": ", ".join(d.tags),
                        "delivery_modes": ",".join(d.delivery_modes),
                        "languages": ",".join(d.languages),
                        "communities": ",".join(d.communities),
                        "accessibility": "",
                        "takes_direct_payments": d.takes_direct_payments,
                        "takes_managed_accounts": False,
                        "specialism": Specialism.MAINSTREAM.value,
                        "times": "",
                        "postcode": postcodes[position],
                        "easting": d.easting,
                        "northing": d.northing,
                        "min_price_pence": d.min_price_pence,
                        "created_at": now,
                        "updated_at": now,
                        "published_at": now,
                    }
                    for position, d in enumerate(documents)
                ),
            )
            _insert_batches(
                connection,
                listing_categories,
                (
                    {"listing_id": d.id, "category_id": category_ids[slug]}
                    for d in documents
                    for slug in d.categories
                ),
            )
            _insert_batches(
                connection,
                listing_councils,
                (
                    {"listing_id": d.id, "council_id": council_ids[code]}
                    for d in documents
                    for code in d.councils
                ),
            )
            prices = _insert_batches(
                connection,
                ListingPrice.__table__,
                (
                    {
                        "listing_id": d.id,
                        "amount_pence": d.min_price_pence,
                        "unit": (
                            PriceUnit.FREE.value
                            if d.min_price_pence == 0
                            else (PriceUnit.HOUR.value if d.id % 2 else PriceUnit.SESSION.value)
                        ),
                        "label": "",
                        "position": 0,
                    }
                    for d in documents
                    if d.min_price_pence is not None
                ),
            )
    finally:
        engine.dispose()
    return organisations, prices


def bench_app(url: str, index_dir: Path) -> Flask:
    return create_app(
        {
            "DATABASE_URL": url,
            "PUBLIC_BASE_URL": "http://127.0.0.1",  # required; nothing here is served
            "SEARCH_INDEX_DIR": str(index_dir),
            "SECRET_KEY": "bench",
            "SESSION_COOKIE_SECURE": False,
            "TESTING": False,
            # A JSON line per request would be printed among the figures.
            "JSON_REQUEST_LOGS": False,
        }
    )


def page_path(query: SearchQuery, postcode_at: dict[tuple[int, int], str]) -> str:
    """The /services URL a person would use for this query (the page's own parameters)."""
    params: list[tuple[str, str]] = []
    if query.text:
        params.append(("q", query.text))
    for name, values in (
        ("category", query.categories),
        ("delivery", query.delivery_modes),
        ("language", query.languages),
        ("community", query.communities),
        ("council", query.councils),
    ):
        params += [(name, value) for value in values]
    if query.takes_direct_payments:
        params.append(("dp", "y"))
    if query.max_price_pence is not None:
        pounds, pence = divmod(query.max_price_pence, 100)
        params.append(("max_price", f"{pounds}.{pence:02d}" if pence else str(pounds)))
    if query.near is not None:
        params.append(("postcode", postcode_at[query.near]))
        params.append(("within", str(query.within_miles or 10)))
    if query.sort != "relevance":
        params.append(("sort", query.sort))
    if query.page != 1:
        params.append(("page", str(query.page)))
    return "/services?" + urlencode(params)


def differing_paths(app: Flask, paths: dict[SearchQuery, str]) -> list[tuple[str, object]]:
    """(path, what the page makes of it) for each URL the page reads as a different query."""
    differing = []
    for query, path in paths.items():
        with app.test_request_context(path):
            built = _query_from(SearchForm(request.args))
        if built != query:
            differing.append((path, built))
    return differing


class _QuietRequestHandler(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass  # no access log line per request


@contextmanager
def serve(app: Flask) -> Iterator[int]:
    """Serve the app on a free loopback port in a thread (threaded); yield the port."""
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_QuietRequestHandler)
    thread = threading.Thread(target=server.serve_forever, name="bench-http", daemon=True)
    thread.start()
    try:
        yield server.socket.getsockname()[1]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


class PageClient:
    """A run_one for run_queries: GET the query's /services URL.

    One HTTPConnection, kept alive if the server allows it. Werkzeug's server does not (since
    2.1 it sends "Connection: close" on every response), so http.client reconnects each time:
    a loopback connect, a fraction of a millisecond, is then part of every timing.
    """

    def __init__(self, port: int, paths: dict[SearchQuery, str]) -> None:
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=REQUEST_TIMEOUT)
        self.paths = paths
        self.connections = 0
        self.errors = 0
        self.responses: list[tuple[int, bytes]] = []  # (status, body), 0 for a failed request

    def __call__(self, query: SearchQuery) -> bytes:
        try:
            if self.connection.sock is None:
                self.connections += 1
            self.connection.request("GET", self.paths[query])
            response = self.connection.getresponse()
            body = response.read()
        except (OSError, http.client.HTTPException):
            self.connection.close()  # the next request opens a new connection
            self.errors += 1
            self.responses.append((0, b""))
            return b""
        if response.status != 200:
            self.errors += 1
        self.responses.append((response.status, body))
        return body

    def close(self) -> None:
        self.connection.close()


def page_totals(responses: Sequence[tuple[int, bytes]]) -> list[int | None]:
    """The "N services found" of each page (None if the page has none)."""
    totals: list[int | None] = []
    for _status, body in responses:
        match = PAGE_TOTAL.search(body)
        totals.append(int(match.group(1)) if match else None)
    return totals


# ---------------------------------------------------------------------------------------------


Percentiles = tuple[float, float, float]


def _cpu_seconds() -> float:
    """CPU time of this process and of its children that have finished (index workers)."""
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


def build_index(
    documents: Sequence[ListingDocument],
    index_dir: Path,
    app: Flask | None,
    processes: int,
    reuse: bool,
    profile: str | None = None,
) -> None:
    """Build the Whoosh index: from the database through the app if there is one.

    With `profile`, the build runs under cProfile (this process only: with processes > 1 the
    analysis in the worker processes is not seen), the stats go to that file and the top lines
    are printed.
    """
    profiler = cProfile.Profile() if profile else None
    if app is None:
        index = SearchIndex(index_dir)
        try:
            if reuse and index.doc_count() == len(documents):
                print(f"Whoosh: reusing the index in {index_dir}")
                return
            started, cpu = time.perf_counter(), _cpu_seconds()
            if profiler is not None:
                profiler.enable()
            count = index.rebuild(documents, processes=processes)
            source = "documents"
        finally:
            index.close()
    else:
        with app.app_context():
            index = indexing.get_index()
            try:
                if reuse and index.doc_count() == len(documents):
                    print(f"Whoosh: reusing the index in {index_dir}")
                    return
                started, cpu = time.perf_counter(), _cpu_seconds()
                if profiler is not None:
                    profiler.enable()
                count = indexing.rebuild_from_database(processes=processes)
                source = "the database (indexing.rebuild_from_database)"
            finally:
                index.close()  # the HTTP passes, too, start with nothing cached
    elapsed = time.perf_counter() - started
    cpu = _cpu_seconds() - cpu
    # CPU seconds of this process as well as the wall clock: on a shared, busy machine the
    # wall clock also counts the time other programs had the cores.
    print(
        f"Whoosh: built {count:,} documents from {source} in {elapsed:.1f} s"
        f" ({count / elapsed:,.0f}/s) with {processes} process(es);"
        f" {cpu:.1f} s CPU in this process and its finished children"
        f" ({count / max(cpu, 1e-9):,.0f}/CPU-s);"
        f" load average {os.getloadavg()[0]:.1f}"
    )
    if profiler is not None and profile:
        profiler.disable()
        profiler.dump_stats(profile)
        stats = pstats.Stats(profiler)
        stats.sort_stats("tottime").print_stats(25)
        stats.sort_stats("cumulative").print_stats(40)


def run_direct(
    index_dir: Path, kinds: Sequence[str], queries: Sequence[SearchQuery]
) -> tuple[Percentiles, Percentiles, list[float], list[int]]:
    """Both passes through SearchIndex.search; the second pass's timings and totals."""
    index = SearchIndex(index_dir)  # a fresh instance: the first pass starts cold
    totals: list[int] = []

    def search(query: SearchQuery) -> object:
        result = index.search(query)
        totals.append(result.total)
        return result

    try:
        print("Whoosh direct, SearchIndex.search (text, totals, six facets, page of 20):")
        cold = report("first pass (cold caches)", run_queries(search, queries))
        totals.clear()
        timings = run_queries(search, queries)
        warm = report("second pass", timings)
        report_kinds(kinds, timings)
    finally:
        index.close()
    return cold, warm, timings, totals


def run_http(
    app: Flask,
    kinds: Sequence[str],
    queries: Sequence[SearchQuery],
    direct_totals: Sequence[int],
) -> tuple[Percentiles, Percentiles, list[float]]:
    """Both passes as GET /services?... over HTTP; checks statuses and totals."""
    postcode_at = {place.point: place.postcode for place in reversed(demo_places())}
    paths = {query: page_path(query, postcode_at) for query in queries}
    differing = differing_paths(app, paths)
    print(
        "HTTP, GET /services?... on 127.0.0.1 (werkzeug make_server, threaded; one client;"
        " form, search, listings from the database, rendering):"
    )
    print(
        f"  {len(paths) - len(differing)} of {len(paths)} distinct URLs parse to exactly the"
        " query the direct mode runs"
    )
    for path, built in differing[:3]:
        print(f"    differs: {path} -> {built}")
    with serve(app) as port:
        client = PageClient(port, paths)
        try:
            cold = report("first pass (cold caches)", run_queries(client, queries))
            first_errors = client.errors
            client.responses.clear()
            timings = run_queries(client, queries)
            warm = report("second pass", timings)
            report_kinds(kinds, timings)
        finally:
            client.close()
    statuses = sorted({status for status, _ in client.responses})
    sizes = [len(body) for _, body in client.responses]
    totals = page_totals(client.responses)
    wrong = sum(1 for ours, theirs in zip(totals, direct_totals, strict=True) if ours != theirs)
    print(
        f"  errors (not 200, or failed): {first_errors} in the first pass,"
        f" {client.errors - first_errors} in the second; statuses {statuses};"
        f" {client.connections} connection(s) opened for {2 * len(queries)} requests"
        + (" (werkzeug closes each one: no keep-alive)" if client.connections > 1 else "")
    )
    print(
        f"  pages {statistics.mean(sizes) / 1024:.0f} KB on average;"
        f" {wrong} of {len(totals)} pages show a total different from the direct search's"
    )
    return cold, warm, timings


def print_ratios(title: str, rows: Sequence[tuple[str, Percentiles, Percentiles]]) -> None:
    print(f"Ratio {title} (p50, p95, p99):")
    for label, ours, theirs in rows:
        ratios = "  ".join(f"{a / b:7.2f}x" for a, b in zip(ours, theirs, strict=True))
        print(f"  {label:<34} {ratios}")


def print_recall() -> None:
    """Relevance: recall of the real-world query set (marketplace/demo/search_queries.py) on the
    demo listings, with the synonym list and without it."""
    documents, keys = search_queries.demo_documents()
    with tempfile.TemporaryDirectory(prefix="bench-recall-") as scratch:
        index = SearchIndex(scratch)
        try:
            index.rebuild(documents)
            result = search_queries.recall(index, keys)
            groups = synonyms.GROUPS
            synonyms.GROUPS = ()
            synonyms._table.cache_clear()
            synonyms._single_words.cache_clear()
            try:
                index.close()  # a fresh searcher: no cached scores from the run with synonyms
                without = search_queries.recall(index, keys)
            finally:
                synonyms.GROUPS = groups
                synonyms._table.cache_clear()
                synonyms._single_words.cache_clear()
        finally:
            index.close()
    print(
        f"Recall: {result.ratio:.1%} ({result.found} of {result.expected} expected listings on"
        f" the first {search_queries.FIRST_PAGE} results of {result.queries} real-world queries"
        f" over {len(documents)} demo listings); without the synonym list {without.ratio:.1%}"
    )
    for text, key in result.missed:
        print(f"  missed: {text!r} should find {key}")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--services", type=int, default=100_000, help="listings to generate")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument(
        "--index-dir", help="where to build the Whoosh index (default: a temporary directory)"
    )
    parser.add_argument(
        "--reuse-index",
        action="store_true",
        help="use the index already in --index-dir instead of building it (it must have been"
        " built by this bench with the same --services and --seed)",
    )
    parser.add_argument(
        "--processes",
        type=int,
        default=min(4, os.cpu_count() or 1),
        help="processes for building the Whoosh index (SearchIndex.rebuild)",
    )
    parser.add_argument(
        "--http",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also measure the /services page over HTTP, with the index built from a database"
        " (default: on)",
    )
    parser.add_argument(
        "--build-only",
        action="store_true",
        help="stop after building the index (from the database unless --no-http): for"
        " measuring the index build alone",
    )
    parser.add_argument(
        "--profile",
        metavar="FILE",
        help="run the index build under cProfile, write the stats to FILE and print the top lines",
    )
    args = parser.parse_args(argv)

    print_recall()
    load = os.getloadavg()
    print(
        f"{args.services:,} listings; {os.cpu_count()} cores"
        f" ({len(os.sched_getaffinity(0))} usable); load average"
        f" {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"
    )
    started = time.perf_counter()
    generated, corpus = generate_documents(args.services, args.seed)
    documents, postcodes = stored_documents(generated)
    del generated
    kinds, queries = zip(*generate_queries(corpus, args.seed), strict=True)
    print(
        f"Generated {len(documents):,} listings ({len(corpus.ranking):,} distinct words,"
        f" {sum(1 for p in postcodes if p):,} at a demo postcode)"
        f" and {len(queries)} queries in {time.perf_counter() - started:.1f} s"
    )

    http_result = None
    with tempfile.TemporaryDirectory(prefix="bench-search-") as scratch:
        index_dir = Path(args.index_dir or Path(scratch) / "whoosh")
        app = None
        if args.http:
            url = f"sqlite:///{Path(scratch) / 'marketplace.sqlite3'}"
            started = time.perf_counter()
            organisations, prices = load_database(url, documents, postcodes)
            print(
                f"Database: migrated, then inserted {len(documents):,} published listings,"
                f" {organisations:,} organisations and {prices:,} prices"
                f" in {time.perf_counter() - started:.1f} s"
            )
            app = bench_app(url, index_dir)
        try:
            build_index(documents, index_dir, app, args.processes, args.reuse_index, args.profile)
            if args.build_only:
                return
            whoosh_cold, whoosh, whoosh_timings, totals = run_direct(index_dir, kinds, queries)
            if app is not None:
                http_result = run_http(app, kinds, queries, totals)
        finally:
            if app is not None:
                app.extensions[indexing.EXTENSION_KEY].close()
                db.scoped.remove()
                if db.engine is not None:
                    db.engine.dispose()

        started = time.perf_counter()
        connection = build_fts(documents, str(Path(scratch) / "fts.sqlite3"))
        elapsed = time.perf_counter() - started
        print(f"SQLite FTS5: built {len(documents):,} rows in {elapsed:.1f} s")
        print("SQLite FTS5 (page and total; no facets, no typo tolerance):")
        run = fts_runner(connection)
        fts_cold = report("first pass", run_queries(run, queries))
        timings = run_queries(run, queries)
        fts = report("second pass", timings)
        report_kinds(kinds, timings)
        connection.close()

    print_ratios(
        "Whoosh direct / FTS5",
        [("first pass", whoosh_cold, fts_cold), ("second pass", whoosh, fts)],
    )
    if http_result is not None:
        http_cold, http_warm, http_timings = http_result
        print_ratios(
            "HTTP / Whoosh direct",
            [("first pass", http_cold, whoosh_cold), ("second pass", http_warm, whoosh)],
        )
        print_ratios(
            "HTTP / FTS5", [("first pass", http_cold, fts_cold), ("second pass", http_warm, fts)]
        )
        extra = [h - d for h, d in zip(http_timings, whoosh_timings, strict=True)]
        p50, p95, p99 = percentiles(extra)
        print(
            f"HTTP minus direct, query by query (second pass): p50 {p50:.1f} ms,"
            f" p95 {p95:.1f} ms, p99 {p99:.1f} ms"
        )


if __name__ == "__main__":
    main()
