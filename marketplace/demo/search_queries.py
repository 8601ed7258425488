"""Real-world searches and the demo listings each should find: the directory's relevance test.

Queries are what people type into a "find support" box: everyday words, spelling variants,
typos (a letter missing, doubled, wrong or swapped) and phrases, written from council directory
search logs' kinds of query rather than from the listings' own words. Each names the demo
listings (by the template they come from) that must be on the first page of results. Recall is
the share of those expected listings that are found; `bench/search.py` prints it and
tests/providers/test_search_relevance.py keeps it at 100%.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from marketplace.demo.listings import NATIONAL, TEMPLATES
from marketplace.providers.search import ListingDocument, SearchIndex, SearchQuery

TOWNS = ("Leeds", "Manchester", "Bristol")
FIRST_PAGE = 10

# A short key per demo listing template (in the order of TEMPLATES, then NATIONAL).
KEYS = (
    "PA",
    "VOICES",
    "WALK",
    "ADVOCACY",
    "PAYROLL",
    "NIGHT",
    "GYM",
    "ART",
    "COMPUTER",
    "WORK",
    "COUNSELLING",
    "SOCIAL",
    "ASIAN_WOMEN",
    "HOME",
    "TRAVEL",
    "BEFRIENDING",
    "ANXIETY_GROUP",
    "PHONE_COUNSELLING",
)

QUERIES: tuple[tuple[str, frozenset[str]], ...] = tuple(
    (text, frozenset(expected.split()))
    for text, expected in (
        # Personal assistants
        ("personal assistant", "PA"),
        ("PA", "PA"),
        ("PAs", "PA"),
        ("personal assitant", "PA"),
        ("personal asisstant", "PA"),
        ("support worker", "PA"),
        ("care worker for days out", "PA"),
        # Hearing voices
        ("hearing voices", "VOICES"),
        ("voices", "VOICES"),
        ("psychosis", "VOICES"),
        ("hearing voices group leeds", "VOICES"),
        ("hearnig voices", "VOICES"),
        ("peer group", "VOICES"),
        ("lived experience", "VOICES ART"),
        ("support group", "VOICES ANXIETY_GROUP"),
        # Walking
        ("walking group", "WALK"),
        ("walks", "WALK"),
        ("hiking", "WALK"),
        ("rambling", "WALK"),
        ("walkign", "WALK"),
        ("nature walks", "WALK"),
        # Advocacy
        ("advocacy", "ADVOCACY"),
        ("advocate", "ADVOCACY"),
        ("advocay", "ADVOCACY"),
        ("advoccay", "ADVOCACY"),
        ("help with my care assessment", "ADVOCACY"),
        ("someone to speak up for me", "ADVOCACY"),
        ("mental health", "ADVOCACY"),
        # Direct payments and payroll
        ("payroll", "PAYROLL"),
        ("direct payment payroll", "PAYROLL"),
        ("paying my PA wages", "PAYROLL PA"),
        ("PAYE", "PAYROLL"),
        ("direct payments", "PAYROLL"),
        ("personal budget help", "PAYROLL"),
        ("payrol", "PAYROLL"),
        # Night support
        ("overnight support", "NIGHT"),
        ("sleep in", "NIGHT"),
        ("sleep-in", "NIGHT"),
        ("night support", "NIGHT"),
        ("waking night", "NIGHT"),
        ("nigth time support", "NIGHT"),
        # Gym and swimming
        ("gym", "GYM"),
        ("fitness", "GYM"),
        ("exercise", "GYM"),
        ("quiet gym", "GYM"),
        ("swimming", "GYM"),
        ("swim", "GYM"),
        ("workout", "GYM"),
        ("swiming", "GYM"),
        # Art
        ("art", "ART"),
        ("art class", "ART"),
        ("painting", "ART"),
        ("drawing", "ART"),
        ("pottery clay", "ART"),
        ("creative", "ART"),
        ("crafts", "ART"),
        # Computers and phones
        ("computer help", "COMPUTER"),
        ("help with my phone", "COMPUTER"),
        ("tablet", "COMPUTER"),
        ("getting online", "COMPUTER"),
        ("online banking", "COMPUTER"),
        ("laptop", "COMPUTER"),
        ("smartphone help", "COMPUTER"),
        ("compuetr", "COMPUTER"),
        # Work and volunteering
        ("job", "WORK"),
        ("jobs", "WORK"),
        ("employment support", "WORK"),
        ("back to work", "WORK"),
        ("volunteering", "WORK"),
        ("volunteer", "WORK"),
        ("career coaching", "WORK"),
        ("mentor", "WORK"),
        ("reasonable adjustments", "WORK"),
        ("voluntering", "WORK"),
        # Counselling
        ("counselling", "COUNSELLING PHONE_COUNSELLING"),
        ("counseling", "COUNSELLING PHONE_COUNSELLING"),
        ("counsellor", "COUNSELLING PHONE_COUNSELLING"),
        ("counselor", "COUNSELLING PHONE_COUNSELLING"),
        ("therapy", "COUNSELLING PHONE_COUNSELLING"),
        ("therapist", "COUNSELLING PHONE_COUNSELLING"),
        ("cheap counselling", "COUNSELLING"),
        ("affordable therapy", "COUNSELLING"),
        ("councelling", "COUNSELLING PHONE_COUNSELLING"),
        ("counselilng", "COUNSELLING PHONE_COUNSELLING"),
        ("phone counselling", "PHONE_COUNSELLING COUNSELLING"),
        ("telephone counselling", "PHONE_COUNSELLING"),
        # Social
        ("social club", "SOCIAL"),
        ("meet people", "SOCIAL"),
        ("friday club", "SOCIAL"),
        ("socialising", "SOCIAL"),
        ("games night", "SOCIAL"),
        ("films", "SOCIAL"),
        # South Asian women
        ("south asian women", "ASIAN_WOMEN"),
        ("asian women", "ASIAN_WOMEN"),
        ("urdu", "ASIAN_WOMEN"),
        ("punjabi speaking", "ASIAN_WOMEN"),
        ("women only group", "ASIAN_WOMEN"),
        ("ladies group", "ASIAN_WOMEN"),
        ("pakistani women", "ASIAN_WOMEN"),
        ("bangladeshi ladies", "ASIAN_WOMEN"),
        # Help at home
        ("help at home", "HOME"),
        ("cleaning", "HOME"),
        ("cleaner", "HOME"),
        ("housework", "HOME"),
        ("help after hospital", "HOME"),
        ("domestic help", "HOME"),
        ("claening", "HOME"),
        # Travel
        ("travel buddy", "TRAVEL"),
        ("help using buses", "TRAVEL"),
        ("bus", "TRAVEL"),
        ("transport", "TRAVEL"),
        ("getting out", "TRAVEL"),
        ("trains", "TRAVEL"),
        ("travle", "TRAVEL"),
        # Befriending and loneliness
        ("befriending", "BEFRIENDING"),
        ("befriender", "BEFRIENDING"),
        ("companionship", "BEFRIENDING"),
        ("lonely", "BEFRIENDING"),
        ("loneliness", "BEFRIENDING"),
        ("isolated", "BEFRIENDING"),
        ("someone to talk to", "BEFRIENDING"),
        ("befreinding", "BEFRIENDING"),
        ("friendship", "BEFRIENDING"),
        ("video calls", "BEFRIENDING COMPUTER"),
        # Anxiety, mood, stress and grief
        ("anxiety", "ANXIETY_GROUP WALK"),
        ("anxious", "ANXIETY_GROUP WALK"),
        ("anxeity", "ANXIETY_GROUP WALK"),
        ("panic attacks", "ANXIETY_GROUP"),
        ("worry", "ANXIETY_GROUP"),
        ("anxiety group online", "ANXIETY_GROUP"),
        ("low mood", "WALK PHONE_COUNSELLING"),
        ("depression", "WALK PHONE_COUNSELLING"),
        ("depressed", "WALK PHONE_COUNSELLING"),
        ("feeling low", "WALK PHONE_COUNSELLING"),
        ("stress", "PHONE_COUNSELLING"),
        ("stressed", "PHONE_COUNSELLING"),
        ("grief", "PHONE_COUNSELLING"),
        ("bereavement", "PHONE_COUNSELLING"),
        ("bereavment", "PHONE_COUNSELLING"),
        ("helpline", "PHONE_COUNSELLING"),
        ("wellbeing", "WALK ASIAN_WOMEN"),
        ("well-being", "WALK ASIAN_WOMEN"),
        ("wellness", "WALK ASIAN_WOMEN"),
    )
)


@dataclass(frozen=True)
class Recall:
    """How many of the expected listings the queries found, and which were missed."""

    queries: int
    expected: int
    found: int
    missed: tuple[tuple[str, str], ...]  # (query, key of the listing not found)

    @property
    def ratio(self) -> float:
        return self.found / self.expected if self.expected else 1.0


def demo_documents() -> tuple[list[ListingDocument], dict[int, str]]:
    """One document per demo listing template and town (as the demo seed makes them), plus the
    national services; and the key of each document's template."""
    documents: list[ListingDocument] = []
    keys: dict[int, str] = {}

    def add(name: str, summary: str, description: str, key: str, modes: Iterable[str]) -> None:
        number = len(documents) + 1
        documents.append(
            ListingDocument(
                id=number,
                name=name,
                summary=summary,
                description=description,
                organisation="",
                tags=(),
                categories=(),
                delivery_modes=tuple(modes),
                languages=("English",),
                communities=(),
                councils=(),
                takes_direct_payments=True,
                min_price_pence=None,
                easting=None,
                northing=None,
            )
        )
        keys[number] = key

    for key, (_category, name, summary, description, _prices) in zip(KEYS, TEMPLATES, strict=False):
        for town in TOWNS:
            add(name.format(town=town), summary, description, key, ("in_person",))
    national_keys = KEYS[len(TEMPLATES) :]
    for key, (name, _category, summary, description, modes, _prices) in zip(
        national_keys, NATIONAL, strict=True
    ):
        add(name, summary, description, key, modes)
    return documents, keys


def recall(index: SearchIndex, keys: dict[int, str]) -> Recall:
    """Run every query against an index of demo_documents() and count what the first page has."""
    expected = found = 0
    missed: list[tuple[str, str]] = []
    for text, wanted in QUERIES:
        result = index.search(SearchQuery(text=text, per_page=FIRST_PAGE))
        seen = {keys.get(hit.listing_id) for hit in result.hits}
        for key in sorted(wanted):
            expected += 1
            if key in seen:
                found += 1
            else:
                missed.append((text, key))
    return Recall(len(QUERIES), expected, found, tuple(missed))
