"""Benchmark the directory search: Whoosh (our SearchIndex) against SQLite FTS5 on the same data.

    python bench/search.py --services 100000

Generates N realistic listings (a Zipf-distributed vocabulary of pseudo-words plus real domain
words, facets, prices and points clustered around English towns), builds the Whoosh index, runs a
fixed mix of queries through ``SearchIndex.search`` and prints latency percentiles; then loads the
same listings into an SQLite FTS5 table and runs the equivalent queries there.

Every query runner goes through ``run_queries(run_one, queries)``, so another front end (the
HTTP stack, say) only needs a function that takes a ``SearchQuery``.
"""

from __future__ import annotations

import argparse
import itertools
import random
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from marketplace.providers.search import ListingDocument, SearchIndex, SearchQuery

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

CATEGORY_SLUGS = [
    "personal-assistants",
    "peer-support",
    "advocacy",
    "direct-payment-support",
    "sleep-in-support",
    "fitness-and-sport",
    "arts-and-creativity",
    "learning-and-skills",
    "work-and-volunteering",
    "talking-therapies",
    "social-and-community",
    "culturally-specific",
    "practical-help",
    "travel-and-transport",
]
DELIVERY_MODES = ["in_person", "at_home", "online", "phone"]
OTHER_LANGUAGES = [
    "British Sign Language",
    "Arabic",
    "Bengali",
    "Cantonese",
    "Gujarati",
    "Hindi",
    "Kurdish",
    "Mandarin",
    "Polish",
    "Portuguese",
    "Punjabi",
    "Romanian",
    "Somali",
    "Spanish",
    "Tigrinya",
    "Turkish",
    "Urdu",
    "Welsh",
]
COMMUNITIES = ["bme", "lgbtq", "women", "men", "young_adults", "older_people", "deaf", "faith"]

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
# The query mix


def _typo(rng: random.Random, word: str) -> str:
    if len(word) < 5:
        return word
    cut = rng.randrange(1, len(word))
    return word[:cut] + word[cut + 1 :]


def generate_queries(corpus: Corpus, seed: int = SEED) -> list[SearchQuery]:
    """About 200 queries: text, text with a category, filters only, near a town, by price."""
    rng = random.Random(seed + 1)
    pseudo = corpus.ranking[:3000]

    def text() -> str:
        words = [
            rng.choice(DOMAIN_WORDS) if rng.random() < 0.7 else rng.choice(pseudo)
            for _ in range(rng.choice((1, 1, 2, 2, 3)))
        ]
        if rng.random() < 0.1:
            words[0] = _typo(rng, words[0])
        return " ".join(words)

    def near() -> tuple[int, int]:
        _, east, north = rng.choice(TOWNS)
        return east + rng.randint(-3000, 3000), north + rng.randint(-3000, 3000)

    queries: list[SearchQuery] = []
    for _ in range(60):
        queries.append(SearchQuery(text=text()))
    for _ in range(40):
        queries.append(SearchQuery(text=text(), categories=(rng.choice(CATEGORY_SLUGS),)))
    for _ in range(30):
        queries.append(
            SearchQuery(
                categories=tuple(rng.sample(CATEGORY_SLUGS, rng.choice((1, 1, 2)))),
                delivery_modes=(rng.choice(DELIVERY_MODES),) if rng.random() < 0.5 else (),
                languages=(rng.choice(OTHER_LANGUAGES),) if rng.random() < 0.3 else (),
                takes_direct_payments=rng.random() < 0.5,
                max_price_pence=rng.choice((None, 0, 1000, 2500)),
                page=rng.choice((1, 1, 1, 2, 5)),
            )
        )
    for index in range(40):
        queries.append(
            SearchQuery(
                text=text() if index % 2 else "",
                categories=(rng.choice(CATEGORY_SLUGS),) if index % 4 == 0 else (),
                near=near(),
                within_miles=rng.choice((3, 5, 10, 25)),
                sort="distance",
            )
        )
    for index in range(30):
        queries.append(
            SearchQuery(
                text=text() if index % 2 else "",
                categories=(rng.choice(CATEGORY_SLUGS),) if index % 2 == 0 else (),
                max_price_pence=rng.choice((None, 2000)),
                sort="price",
            )
        )
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


# ---------------------------------------------------------------------------------------------
# SQLite FTS5, for comparison

FTS_WEIGHTS = "3.0, 2.0, 1.0, 1.5, 2.0"  # name, summary, description, organisation, tags


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
        """
        CREATE INDEX ix_price ON listings (min_price_pence);
        CREATE INDEX ix_easting ON listings (easting, northing);
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
            order = f"bm25(listings_fts, {FTS_WEIGHTS})"
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
        help="use the index already in --index-dir instead of building it",
    )
    args = parser.parse_args(argv)

    started = time.perf_counter()
    documents, corpus = generate_documents(args.services, args.seed)
    queries = generate_queries(corpus, args.seed)
    print(
        f"Generated {len(documents):,} listings ({len(corpus.ranking):,} distinct words)"
        f" and {len(queries)} queries in {time.perf_counter() - started:.1f} s"
    )

    with tempfile.TemporaryDirectory(prefix="bench-search-") as scratch:
        index_dir = Path(args.index_dir or Path(scratch) / "whoosh")
        index = SearchIndex(index_dir)
        if args.reuse_index and index.doc_count() == len(documents):
            print(f"Whoosh: reusing the index in {index_dir}")
        else:
            started = time.perf_counter()
            count = index.rebuild(documents)
            elapsed = time.perf_counter() - started
            rate = count / elapsed
            print(f"Whoosh: built {count:,} documents in {elapsed:.1f} s ({rate:,.0f}/s)")
        index.close()  # the first pass below starts with nothing cached, as after a restart
        index = SearchIndex(index_dir)
        print("Whoosh, SearchIndex.search (text, totals, six facets, page of 20):")
        whoosh_cold = report("first pass (cold caches)", run_queries(index.search, queries))
        whoosh = report("second pass", run_queries(index.search, queries))
        index.close()

        started = time.perf_counter()
        connection = build_fts(documents, str(Path(scratch) / "fts.sqlite3"))
        elapsed = time.perf_counter() - started
        print(f"SQLite FTS5: built {len(documents):,} rows in {elapsed:.1f} s")
        print("SQLite FTS5 (page and total; no facets, no typo tolerance):")
        run = fts_runner(connection)
        fts_cold = report("first pass", run_queries(run, queries))
        fts = report("second pass", run_queries(run, queries))
        connection.close()

    print("Ratio Whoosh / FTS5 (p50, p95, p99):")
    for label, ours, theirs in (
        ("first pass", whoosh_cold, fts_cold),
        ("second pass", whoosh, fts),
    ):
        ratios = "  ".join(f"{a / b:6.1f}x" for a, b in zip(ours, theirs, strict=True))
        print(f"  {label:<34} {ratios}")


if __name__ == "__main__":
    main()
