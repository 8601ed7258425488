"""The directory's search index: text, filters, facets, places, pages, and staying in step with
the database. SearchIndex tests build documents directly and need no database."""

from __future__ import annotations

import math
import random
import threading
from collections.abc import Iterator
from dataclasses import asdict, replace
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select

from marketplace.extensions import db
from marketplace.providers import indexing, search
from marketplace.providers.models import Category, Listing, ListingPrice, ListingStatus
from marketplace.providers.search import (
    ListingDocument,
    SearchIndex,
    SearchQuery,
    SearchResult,
)
from tests.factories import CouncilFactory, OrganisationFactory

MILE = 1609.344
LEEDS = (430000, 433000)  # OS grid easting, northing


def doc(listing_id: int, name: str = "", **fields: object) -> ListingDocument:
    values: dict[str, object] = {
        "id": listing_id,
        "name": name or f"Listing {listing_id}",
        "summary": "",
        "description": "",
        "organisation": "",
        "tags": (),
        "categories": (),
        "delivery_modes": (),
        "languages": ("English",),
        "communities": (),
        "councils": (),
        "takes_direct_payments": False,
        "min_price_pence": None,
        "easting": None,
        "northing": None,
    }
    values.update(fields)
    return ListingDocument(**values)  # type: ignore[arg-type]


def ids(result: SearchResult) -> list[int]:
    return [hit.listing_id for hit in result.hits]


@pytest.fixture
def index(tmp_path: Path) -> Iterator[SearchIndex]:
    search_index = SearchIndex(tmp_path / "index")
    yield search_index
    search_index.close()


def find(index: SearchIndex, **query: object) -> SearchResult:
    return index.search(SearchQuery(**query))  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------
# Text


def test_stemming_matches_other_forms_of_a_word(index: SearchIndex) -> None:
    index.rebuild(
        [
            doc(1, "Men's group", summary="A weekly group for men."),
            doc(2, "Walk and talk", summary="We walk in the park."),
            doc(3, "Computer help"),
        ]
    )
    assert ids(find(index, text="groups")) == [1]
    assert ids(find(index, text="walking")) == [2]
    assert ids(find(index, text="computers")) == [3]


def test_all_words_in_the_name_rank_first(index: SearchIndex) -> None:
    index.rebuild(
        [
            doc(1, "Support for carers", description="A group of peers."),
            doc(2, "Peer mentoring", summary="Support from a group."),
            doc(3, "Peer support group", summary="Meet others."),
            doc(4, "Art group", description="Peer support through painting and support."),
            doc(5, "Gym sessions"),
        ]
    )
    result = find(index, text="peer support group")
    assert ids(result)[0] == 3
    assert set(ids(result)) == {1, 2, 3, 4}  # any word matches; all of them rank highest
    assert result.hits[0].score > result.hits[1].score > 0


def test_name_outranks_summary_outranks_description(index: SearchIndex) -> None:
    index.rebuild(
        [
            doc(1, "Listing one", description="advocacy"),
            doc(2, "Advocacy"),
            doc(3, "Listing three", summary="advocacy"),
        ]
    )
    assert ids(find(index, text="advocacy")) == [2, 3, 1]


def test_typo_finds_the_word_and_suggests_it(index: SearchIndex) -> None:
    index.rebuild(
        [
            doc(1, "Peer support group"),
            doc(2, "Support planning"),
            doc(3, "Gym buddy"),
        ]
    )
    result = find(index, text="suport")
    assert set(ids(result)) == {1, 2}
    assert result.suggestion == "support"

    result = find(index, text="peer suport grup")
    assert ids(result)[0] == 1
    assert result.suggestion == "peer support group"


def test_no_suggestion_when_every_word_is_known(index: SearchIndex) -> None:
    index.rebuild([doc(1, "Peer support group")])
    assert find(index, text="peer groups").suggestion is None
    assert find(index, text="").suggestion is None


def test_suggestion_without_results_for_short_typos(index: SearchIndex) -> None:
    # Three letters is too short to search fuzzily ("art" would match "arm", "ant", ...), but a
    # suggestion is still offered.
    index.rebuild([doc(1, "Art classes"), doc(2, "Gym")])
    result = find(index, text="arq")
    assert result.total == 0
    assert result.suggestion == "art"


def test_fuzzy_matches_rank_below_exact_ones(index: SearchIndex) -> None:
    index.rebuild([doc(1, "Night sitter"), doc(2, "Knight club"), doc(3, "Nights out")])
    # "night" and "nights" share a stem; "knight" is not one edit away with the first letter kept
    assert set(ids(find(index, text="night"))) == {1, 3}
    result = find(index, text="nigt")  # one letter missing
    assert set(ids(result)) == {1, 3}
    assert result.suggestion == "night"


@pytest.mark.parametrize(
    "text",
    [
        '(( AND OR name:* ~~ "',
        'name:"peer',
        "peer^^3 OR (support AND",
        "* ? [a TO z] {0 TO 1} <> @#$%^&",
        "NOT",
        "'",
        "\\",
        "\x00\x01 zero bytes",
        "groups\u00a0\u200b\u2028unicode 汉字 العربية",
    ],
)
def test_query_syntax_in_user_input_never_raises(index: SearchIndex, text: str) -> None:
    index.rebuild([doc(1, "Peer support group"), doc(2, "Name badge printing")])
    result = find(index, text=text)
    assert isinstance(result, SearchResult)


def test_operators_are_ordinary_words(index: SearchIndex) -> None:
    index.rebuild([doc(1, "Peer support group"), doc(2, "Name badge printing")])
    # "name:*" is the word "name", not a field query; AND and OR are stop words.
    assert ids(find(index, text='(( AND OR name:* ~~ "')) == [2]


def test_very_long_query_is_cut_short(index: SearchIndex) -> None:
    index.rebuild([doc(1, "Peer support group")])
    assert find(index, text="x" * 10_000).total == 0
    assert find(index, text="peer " * 2_000).total == 1
    assert find(index, text=" ".join(f"word{n}" for n in range(2_000))).total == 0
    # The work is bounded by what is searched for, not by what was typed.
    assert len(search._normalised(SearchQuery(text="x" * 10_000)).text) == search.MAX_QUERY_CHARS
    many = " ".join(f"word{n}" for n in range(2_000))
    assert len(search._words(many)) == search.MAX_QUERY_WORDS


def test_only_stop_words_or_punctuation_browses_everything(index: SearchIndex) -> None:
    index.rebuild([doc(1, "Beta"), doc(2, "Alpha")])
    assert ids(find(index, text="the and")) == [2, 1]
    assert ids(find(index, text="?!")) == [2, 1]


# ---------------------------------------------------------------------------------------------
# Filters and facets

FACETED = [
    doc(
        1,
        "Alpha",
        categories=("advocacy",),
        delivery_modes=("in_person",),
        communities=("women",),
        councils=("E08000035",),
        takes_direct_payments=True,
    ),
    doc(
        2,
        "Bravo",
        categories=("advocacy", "peer-support"),
        delivery_modes=("online", "phone"),
        languages=("English", "British Sign Language"),
        councils=("E08000035", "E08000036"),
    ),
    doc(
        3,
        "Charlie",
        categories=("peer-support",),
        delivery_modes=("online",),
        languages=("Urdu",),
        communities=("bme", "women"),
        councils=("E08000036",),
        takes_direct_payments=True,
    ),
    doc(
        4,
        "Delta",
        categories=("fitness-and-sport",),
        delivery_modes=("in_person",),
        councils=("E06000001",),
        takes_direct_payments=True,
    ),
]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"categories": ("advocacy",)}, [1, 2]),
        ({"delivery_modes": ("online",)}, [2, 3]),
        ({"languages": ("British Sign Language",)}, [2]),
        ({"languages": ("Urdu",)}, [3]),
        ({"communities": ("women",)}, [1, 3]),
        ({"councils": ("E08000036",)}, [2, 3]),
        ({"takes_direct_payments": True}, [1, 3, 4]),
        ({"categories": ("no-such-category",)}, []),
    ],
)
def test_each_filter(index: SearchIndex, query: dict[str, object], expected: list[int]) -> None:
    index.rebuild(FACETED)
    assert ids(find(index, **query)) == expected


def test_or_within_a_facet_and_across_facets(index: SearchIndex) -> None:
    index.rebuild(FACETED)
    either = find(index, categories=("advocacy", "fitness-and-sport"))
    assert ids(either) == [1, 2, 4]
    both = find(index, categories=("advocacy", "fitness-and-sport"), delivery_modes=("in_person",))
    assert ids(both) == [1, 4]
    narrower = find(
        index,
        categories=("advocacy", "fitness-and-sport"),
        delivery_modes=("in_person", "phone"),
        takes_direct_payments=True,
    )
    assert ids(narrower) == [1, 4]


def test_text_and_filters_together(index: SearchIndex) -> None:
    index.rebuild(
        [
            doc(1, "Peer group", categories=("peer-support",)),
            doc(2, "Peer advocacy", categories=("advocacy",)),
            doc(3, "Advocacy", categories=("peer-support",)),
        ]
    )
    assert ids(find(index, text="peer", categories=("peer-support",))) == [1]


def test_facet_counts(index: SearchIndex) -> None:
    index.rebuild(FACETED)
    facets = find(index).facets
    assert set(facets) == {
        "categories",
        "delivery_modes",
        "languages",
        "communities",
        "councils",
        "takes_direct_payments",
    }
    assert facets["categories"] == {"advocacy": 2, "peer-support": 2, "fitness-and-sport": 1}
    assert facets["delivery_modes"] == {"in_person": 2, "online": 2, "phone": 1}
    assert facets["languages"] == {"English": 3, "British Sign Language": 1, "Urdu": 1}
    assert facets["communities"] == {"women": 2, "bme": 1}
    assert facets["councils"] == {"E08000035": 2, "E08000036": 2, "E06000001": 1}
    assert facets["takes_direct_payments"] == {"true": 3, "false": 1}


def test_facet_counts_are_disjunctive(index: SearchIndex) -> None:
    index.rebuild(FACETED)
    result = find(index, categories=("advocacy",), delivery_modes=("online",))
    assert ids(result) == [2]
    # Each facet is counted with every filter but its own: choosing "advocacy" still shows
    # what the other categories would give (among online listings), and vice versa.
    assert result.facets["categories"] == {"advocacy": 1, "peer-support": 2}
    assert result.facets["delivery_modes"] == {"in_person": 1, "online": 1, "phone": 1}
    assert result.facets["councils"] == {"E08000035": 1, "E08000036": 1}
    assert result.facets["takes_direct_payments"] == {"false": 1}


def test_chosen_value_with_no_listings_still_counted_as_zero(index: SearchIndex) -> None:
    index.rebuild(FACETED)
    result = find(index, categories=("advocacy",), communities=("bme",))
    assert result.total == 0
    assert result.facets["communities"]["bme"] == 0
    assert result.facets["categories"]["advocacy"] == 0
    assert result.facets["categories"]["peer-support"] == 1


def test_facet_counts_follow_the_text(index: SearchIndex) -> None:
    index.rebuild(
        [
            doc(1, "Peer group", categories=("peer-support",)),
            doc(2, "Peer advocacy", categories=("advocacy",)),
            doc(3, "Gym", categories=("fitness-and-sport",)),
        ]
    )
    result = find(index, text="peer", categories=("advocacy",))
    assert result.facets["categories"] == {"advocacy": 1, "peer-support": 1}


# ---------------------------------------------------------------------------------------------
# Price

PRICED = [
    doc(1, "Unknown price", min_price_pence=None),
    doc(2, "Dear", min_price_pence=5000),
    doc(3, "Free", min_price_pence=0),
    doc(4, "Cheap", min_price_pence=500),
    doc(5, "Also cheap", min_price_pence=500),
]


def test_price_filter_keeps_free_and_drops_unknown(index: SearchIndex) -> None:
    index.rebuild(PRICED)
    assert set(ids(find(index, max_price_pence=500))) == {3, 4, 5}
    assert set(ids(find(index, max_price_pence=0))) == {3}
    assert set(ids(find(index, max_price_pence=10_000))) == {2, 3, 4, 5}
    assert set(ids(find(index, max_price_pence=-5))) == {3}


def test_price_sort_cheapest_first_unknown_last(index: SearchIndex) -> None:
    index.rebuild(PRICED)
    assert ids(find(index, sort="price")) == [3, 5, 4, 2, 1]  # equal prices A-Z by name
    assert ids(find(index, sort="price", max_price_pence=1000)) == [3, 5, 4]


# ---------------------------------------------------------------------------------------------
# Place


def at(miles_east: float, miles_north: float = 0.0) -> dict[str, int]:
    return {
        "easting": round(LEEDS[0] + miles_east * MILE),
        "northing": round(LEEDS[1] + miles_north * MILE),
    }


PLACED = [
    doc(1, "Ten miles east", **at(10)),
    doc(2, "Two miles north", **at(0, 2)),
    doc(3, "Online only"),
    doc(4, "Four miles south west", **at(-4 / math.sqrt(2), -4 / math.sqrt(2))),
    doc(5, "Here", **at(0)),
    doc(6, "Thirty miles west", **at(-30)),
]


def test_within_keeps_listings_inside_the_circle(index: SearchIndex) -> None:
    index.rebuild(PLACED)
    assert set(ids(find(index, near=LEEDS, within_miles=5))) == {2, 4, 5}
    assert set(ids(find(index, near=LEEDS, within_miles=10))) == {1, 2, 4, 5}
    assert set(ids(find(index, near=LEEDS, within_miles=0))) == {5}
    # Just short of the distance (grid cells are 10 km; the edge is exact, not by cell)
    assert set(ids(find(index, near=LEEDS, within_miles=3))) == {2, 5}


def test_distance_sort_nearest_first_unplaced_last(index: SearchIndex) -> None:
    index.rebuild(PLACED)
    result = find(index, near=LEEDS, sort="distance")
    assert ids(result) == [5, 2, 4, 1, 6, 3]
    distances = [hit.distance_miles for hit in result.hits]
    assert distances[:5] == pytest.approx([0, 2, 4, 10, 30], abs=0.01)
    assert distances[5] is None


def test_distance_given_whenever_near_is(index: SearchIndex) -> None:
    index.rebuild(PLACED)
    result = find(index, text="miles", near=LEEDS)
    assert {hit.listing_id: round(hit.distance_miles or -1) for hit in result.hits} == {
        1: 10,
        2: 2,
        4: 4,
        6: 30,
    }
    assert all(hit.distance_miles is None for hit in find(index, text="miles").hits)


def test_within_and_distance_with_filters_and_text(index: SearchIndex) -> None:
    index.rebuild(
        [
            doc(1, "Peer group far", categories=("peer-support",), **at(20)),
            doc(2, "Peer group near", categories=("peer-support",), **at(1)),
            doc(3, "Peer group nearer", categories=("advocacy",), **at(0.5)),
            doc(4, "Peer group online", categories=("peer-support",)),
        ]
    )
    result = find(
        index,
        text="peer",
        categories=("peer-support",),
        near=LEEDS,
        within_miles=25,
        sort="distance",
    )
    assert ids(result) == [2, 1]
    assert result.facets["categories"] == {"peer-support": 2, "advocacy": 1}


LEEDS_CODE = "E08000035"
BRISTOL_CODE = "E06000023"
REACH = [
    doc(1, "In person here", delivery_modes=("in_person",), **at(1)),
    doc(2, "In person far", delivery_modes=("in_person",), councils=(LEEDS_CODE,), **at(60)),
    doc(3, "Online for Leeds", delivery_modes=("online",), councils=(LEEDS_CODE,)),
    doc(4, "Phone for Bristol", delivery_modes=("phone",), councils=(BRISTOL_CODE,)),
    doc(5, "Online for England", delivery_modes=("online", "phone"), serves_nationally=True),
    doc(
        6,
        "Online far, based in Leeds",
        delivery_modes=("online",),
        councils=(LEEDS_CODE,),
        **at(80),
    ),
    doc(7, "At home for Leeds", delivery_modes=("at_home",), councils=(LEEDS_CODE,)),
]


def test_place_search_keeps_online_and_phone_services_for_the_area(index: SearchIndex) -> None:
    index.rebuild(REACH)
    result = find(index, near=LEEDS, within_miles=10, near_council=LEEDS_CODE)
    assert set(ids(result)) == {1, 3, 5, 6}
    assert {hit.listing_id: hit.nearby for hit in result.hits} == {
        1: True,
        3: False,
        5: False,
        6: False,
    }
    in_bristol = find(index, near=LEEDS, within_miles=10, near_council=BRISTOL_CODE)
    assert set(ids(in_bristol)) == {1, 4, 5}
    # A council the directory has no services for still gets the national ones.
    assert set(ids(find(index, near=LEEDS, within_miles=10, near_council="E09000001"))) == {1, 5}
    assert set(ids(find(index, near=LEEDS, within_miles=10))) == {1, 5}


def test_place_search_with_the_online_filter_and_text(index: SearchIndex) -> None:
    index.rebuild(REACH)
    online = find(
        index, near=LEEDS, within_miles=50, near_council=LEEDS_CODE, delivery_modes=("online",)
    )
    assert set(ids(online)) == {3, 5, 6}
    assert online.facets["delivery_modes"] == {"online": 3, "in_person": 1, "phone": 1}
    assert ids(find(index, text="england", near=LEEDS, within_miles=1)) == [5]


def test_without_a_distance_nothing_is_marked_nearby(index: SearchIndex) -> None:
    index.rebuild(REACH)
    assert {hit.nearby for hit in find(index, near=LEEDS).hits} == {None}
    assert {hit.nearby for hit in find(index).hits} == {None}


def test_within_without_near_is_ignored(index: SearchIndex) -> None:
    index.rebuild(PLACED)
    assert find(index, within_miles=1).total == len(PLACED)
    assert ids(find(index, sort="distance")) == ids(find(index))  # falls back to A-Z


# ---------------------------------------------------------------------------------------------
# Pages


def test_browsing_without_text_is_a_to_z(index: SearchIndex) -> None:
    index.rebuild([doc(1, "charlie"), doc(2, "Alpha"), doc(3, "bravo")])
    result = find(index)
    assert ids(result) == [2, 3, 1]
    assert all(hit.score == 0 for hit in result.hits)


def test_pages(index: SearchIndex) -> None:
    index.rebuild([doc(n, f"Listing {n:02d}") for n in range(1, 26)])
    first = find(index, per_page=10)
    assert (first.total, first.page, first.pages, len(first.hits)) == (25, 1, 3, 10)
    third = find(index, per_page=10, page=3)
    assert ids(third) == [21, 22, 23, 24, 25]
    assert ids(find(index, per_page=10, page=-1)) == ids(first)
    assert find(index, per_page=10, page=-1).page == 1
    beyond = find(index, per_page=10, page=10**9)
    assert (beyond.hits, beyond.total, beyond.pages) == ([], 25, 3)


def test_per_page_is_clamped(index: SearchIndex) -> None:
    index.rebuild([doc(n) for n in range(1, 121)])
    assert len(find(index, per_page=0).hits) == 1
    assert len(find(index, per_page=-3).hits) == 1
    assert len(find(index, per_page=10_000).hits) == 100


def test_empty_index(index: SearchIndex) -> None:
    result = find(index, text="anything", categories=("advocacy",), near=LEEDS, within_miles=5)
    assert (result.hits, result.total, result.page, result.pages) == ([], 0, 1, 1)
    assert result.facets["categories"] == {"advocacy": 0}
    assert index.doc_count() == 0


# ---------------------------------------------------------------------------------------------
# Writing, persistence and several processes


def test_rebuild_replaces_everything_and_counts(index: SearchIndex) -> None:
    assert index.rebuild([doc(1, "Old one"), doc(2, "Old two")]) == 2
    assert index.rebuild([doc(3, "New")]) == 1
    assert index.doc_count() == 1
    assert ids(find(index)) == [3]


# Whoosh's multiprocessing writer forks; Python 3.12+ warns about forking a process with
# threads (the test mail server runs in one), which does not concern these short-lived workers.
@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")
def test_rebuild_in_several_processes(index: SearchIndex) -> None:
    index.rebuild([doc(n, f"Old {n}") for n in range(1, 50)])
    assert index.rebuild([doc(n, f"New {n}") for n in range(100, 160)], processes=2) == 60
    assert index.doc_count() == 60
    assert find(index, text="new").total == 60
    assert find(index, text="old").total == 0


def test_upsert_replaces_and_remove_removes(index: SearchIndex) -> None:
    index.upsert([doc(1, "Knitting circle"), doc(2, "Gym")])
    index.upsert([doc(1, "Crochet circle")])
    assert index.doc_count() == 2
    assert find(index, text="knitting").total == 0
    assert ids(find(index, text="crochet")) == [1]
    index.remove([1, 99])
    assert ids(find(index)) == [2]
    index.remove([])
    index.upsert([])
    assert index.doc_count() == 1


def test_survives_a_restart(tmp_path: Path) -> None:
    first = SearchIndex(tmp_path / "index")
    first.upsert([doc(1, "Peer support group", categories=("peer-support",))])
    first.close()
    reopened = SearchIndex(tmp_path / "index")
    try:
        result = reopened.search(SearchQuery(text="group"))
        assert ids(result) == [1]
        assert result.facets["categories"] == {"peer-support": 1}
    finally:
        reopened.close()


def test_two_processes_writing_to_one_directory(tmp_path: Path) -> None:
    # Two SearchIndex objects stand in for two gunicorn workers.
    first = SearchIndex(tmp_path / "index")
    second = SearchIndex(tmp_path / "index")
    try:
        assert first.doc_count() == 0 and second.doc_count() == 0
        first.upsert([doc(1, "Walking group")])
        second.upsert([doc(2, "Swimming group")])
        first.remove([1])
        first.upsert([doc(3, "Choir")])
        for reader in (first, second):
            assert ids(reader.search(SearchQuery())) == [3, 2]
            assert ids(reader.search(SearchQuery(text="group"))) == [2]
    finally:
        first.close()
        second.close()


def test_writer_waits_for_the_lock(tmp_path: Path) -> None:
    first = SearchIndex(tmp_path / "index")
    second = SearchIndex(tmp_path / "index")
    held = first._writer()  # another worker in the middle of a commit
    releaser = threading.Timer(0.3, held.commit)
    releaser.start()
    try:
        second.upsert([doc(1, "Walking group")])  # waits rather than failing
        assert ids(second.search(SearchQuery())) == [1]
    finally:
        releaser.join()
        first.close()
        second.close()


def test_gives_up_on_a_lock_held_too_long(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(search, "LOCK_TIMEOUT_SECONDS", 0.2)
    first = SearchIndex(tmp_path / "index")
    second = SearchIndex(tmp_path / "index")
    held = first._writer()
    try:
        with pytest.raises(search.SearchIndexLocked):
            second.upsert([doc(1, "Walking group")])
    finally:
        held.cancel()
        first.close()
        second.close()


def test_searches_see_writes_between_them(index: SearchIndex) -> None:
    index.rebuild([doc(n, categories=("advocacy",)) for n in range(1, 6)])
    assert find(index, categories=("advocacy",)).total == 5
    index.upsert([doc(6, categories=("advocacy",))])
    index.remove([1, 2])
    result = find(index, categories=("advocacy",))
    assert result.total == 4
    assert result.facets["categories"] == {"advocacy": 4}
    assert sorted(ids(result)) == [3, 4, 5, 6]


# ---------------------------------------------------------------------------------------------
# Against a plain-Python reference, on random data

WORDS = ["alpha", "bravo", "delta", "echo", "foxtrot", "golf", "hotel", "juliet"]
CATEGORIES = ["advocacy", "peer-support", "fitness-and-sport", "practical-help"]
MODES = ["in_person", "at_home", "online", "phone"]
COUNCILS = [f"E0800{n:04d}" for n in range(6)]


def random_documents(count: int, rng: random.Random) -> list[ListingDocument]:
    documents = []
    for n in range(1, count + 1):
        placed = rng.random() < 0.8
        documents.append(
            doc(
                n,
                f"{rng.choice(WORDS)} {n:04d}",
                summary=" ".join(rng.sample(WORDS, 2)),
                categories=tuple(rng.sample(CATEGORIES, rng.randint(0, 2))),
                delivery_modes=tuple(rng.sample(MODES, rng.randint(1, 2))),
                councils=tuple(rng.sample(COUNCILS, rng.randint(0, 2))),
                takes_direct_payments=rng.random() < 0.5,
                min_price_pence=rng.choice([None, 0, 250, 500, 1000, 2000]),
                easting=LEEDS[0] + rng.randint(-60_000, 60_000) if placed else None,
                northing=LEEDS[1] + rng.randint(-60_000, 60_000) if placed else None,
            )
        )
    return documents


def random_query(rng: random.Random) -> SearchQuery:
    return SearchQuery(
        text=" ".join(rng.sample(WORDS, rng.choice([0, 0, 1, 2]))),
        categories=tuple(rng.sample(CATEGORIES, rng.choice([0, 0, 1, 2]))),
        delivery_modes=tuple(rng.sample(MODES, rng.choice([0, 0, 1]))),
        councils=tuple(rng.sample(COUNCILS, rng.choice([0, 0, 1, 2]))),
        takes_direct_payments=rng.random() < 0.3,
        max_price_pence=rng.choice([None, None, 0, 500, 1500]),
        near=LEEDS if rng.random() < 0.4 else None,
        within_miles=rng.choice([None, 5, 20]),
        sort=rng.choice(["relevance", "price", "distance"]),
        per_page=rng.choice([5, 50]),
        page=rng.choice([1, 1, 2]),
    )


def reference(documents: list[ListingDocument], query: SearchQuery) -> SearchResult:
    """What the index should answer, by brute force (ordering checked for the exact sorts)."""
    words = set(query.text.split())
    facet_names = ("categories", "delivery_modes", "councils")
    sort = "relevance" if query.sort == "distance" and query.near is None else query.sort

    def distance(d: ListingDocument) -> float | None:
        if query.near is None or d.easting is None or d.northing is None:
            return None
        return math.dist(query.near, (d.easting, d.northing)) / MILE

    def passes(d: ListingDocument, skip: str = "") -> bool:
        if words and not words & set(f"{d.name} {d.summary}".split()):
            return False
        for name in facet_names:
            chosen = getattr(query, name)
            if name != skip and chosen and not set(chosen) & set(getattr(d, name)):
                return False
        if skip != "takes_direct_payments" and query.takes_direct_payments:
            if not d.takes_direct_payments:
                return False
        if query.max_price_pence is not None:
            if d.min_price_pence is None or d.min_price_pence > query.max_price_pence:
                return False
        if query.near is not None and query.within_miles is not None:
            miles = distance(d)
            if miles is None or miles > query.within_miles:
                return False
        return True

    matching = [d for d in documents if passes(d)]
    if sort == "price":
        matching.sort(key=lambda d: (d.min_price_pence is None, d.min_price_pence or 0, d.name))
    elif sort == "distance":
        matching.sort(key=lambda d: (distance(d) is None, distance(d) or 0, d.name))
    elif not words:
        matching.sort(key=lambda d: d.name)
    facets: dict[str, dict[str, int]] = {}
    for name in (*facet_names, "takes_direct_payments"):
        counts: dict[str, int] = {}
        for d in documents:
            if passes(d, skip=name):
                values = getattr(d, name)
                if name == "takes_direct_payments":
                    values = ("true" if values else "false",)
                for value in values:
                    counts[value] = counts.get(value, 0) + 1
        chosen = getattr(query, name)
        for value in ("true",) if chosen is True else chosen or ():
            counts.setdefault(value, 0)
        facets[name] = counts
    start = (query.page - 1) * query.per_page
    hits = [search.Hit(d.id, 0.0, distance(d)) for d in matching[start : start + query.per_page]]
    return SearchResult(hits, len(matching), query.page, 0, facets, None)


@pytest.mark.parametrize(("seed", "small_result"), [(1, 2000), (2, 2000), (3, 0), (4, 0)])
def test_agrees_with_a_brute_force_reference(
    index: SearchIndex, monkeypatch: pytest.MonkeyPatch, seed: int, small_result: int
) -> None:
    # SMALL_RESULT 0 makes A-Z and price order walk the presorted order rather than sort.
    monkeypatch.setattr(search, "SMALL_RESULT", small_result)
    rng = random.Random(seed)
    documents = random_documents(400, rng)
    index.rebuild(documents[:300])
    index.upsert(documents[300:])  # a second segment, so document numbers have an offset
    index.remove([5, 150, 350])
    documents = [d for d in documents if d.id not in {5, 150, 350}]
    for _ in range(60):
        query = random_query(rng)
        got = index.search(query)
        expected = reference(documents, query)
        assert got.total == expected.total, query
        for name, counts in expected.facets.items():
            assert got.facets[name] == counts, (query, name)
        if query.text and (query.sort == "relevance" or query.near is None):
            assert len(got.hits) == len(expected.hits), query
            continue
        assert ids(got) == ids(expected), query
        for hit, wanted in zip(got.hits, expected.hits, strict=True):
            if wanted.distance_miles is None:
                assert hit.distance_miles is None
            else:
                assert hit.distance_miles == pytest.approx(wanted.distance_miles)


@pytest.mark.parametrize("walk_selected_below", [0, 10**9])
def test_filtered_relevance_ranks_as_unfiltered(
    index: SearchIndex, monkeypatch: pytest.MonkeyPatch, walk_selected_below: int
) -> None:
    # Filtered searches rank either the few selected documents or all matches then filter;
    # both must order exactly as the unfiltered search does.
    monkeypatch.setattr(search, "WALK_SELECTED_BELOW", walk_selected_below)
    rng = random.Random(7)
    documents = random_documents(300, rng)
    index.rebuild(documents[:200])
    index.upsert(documents[200:])
    in_category = {d.id for d in documents if "advocacy" in d.categories}
    for text in ("alpha", "bravo golf", "delta echo hotel"):
        everything = [
            hit
            for page in (1, 2, 3)
            for hit in find(index, text=text, per_page=100, page=page).hits
        ]
        expected = [hit for hit in everything if hit.listing_id in in_category]
        got = find(index, text=text, categories=("advocacy",), per_page=100).hits
        assert [h.listing_id for h in got] == [h.listing_id for h in expected][:100]
        assert [h.score for h in got] == pytest.approx([h.score for h in expected][:100])


@pytest.mark.parametrize("categories", [(), ("advocacy",), ("advocacy", "peer-support")])
def test_pages_of_a_ranked_search_fit_together(index: SearchIndex, categories: tuple) -> None:
    rng = random.Random(11)
    documents = random_documents(300, rng)
    index.rebuild(documents[:250])
    index.upsert(documents[250:])
    for text in ("delta echo hotel", "alpha golf", "juliet"):
        first = find(index, text=text, categories=categories, per_page=7)
        seen = [
            hit.listing_id
            for page in range(1, first.pages + 1)
            for hit in find(index, text=text, categories=categories, per_page=7, page=page).hits
        ]
        assert len(seen) == len(set(seen)) == first.total
        whole = [
            hit.listing_id
            for page in (1, 2, 3)
            for hit in find(index, text=text, categories=categories, per_page=100, page=page).hits
        ]
        assert seen == whole


# ---------------------------------------------------------------------------------------------
# In step with the database


@pytest.fixture
def live_index(app: Flask, tmp_path: Path, db_session: object) -> Iterator[SearchIndex]:
    """The app's index hooks, writing to a fresh index of this test's own."""
    if indexing.EXTENSION_KEY not in app.extensions:
        indexing.init_app(app)
    original = app.extensions[indexing.EXTENSION_KEY]
    fresh = SearchIndex(tmp_path / "live-index")
    app.extensions[indexing.EXTENSION_KEY] = fresh
    try:
        with app.app_context():
            yield fresh
    finally:
        app.extensions[indexing.EXTENSION_KEY] = original
        fresh.close()


def make_listing(**fields: object) -> Listing:
    values: dict[str, object] = {
        "organisation": OrganisationFactory(name="Leeds Hearing Voices"),
        "name": "Hearing voices peer group",
        "summary": "A weekly group for people who hear voices.",
        "description": "Tea, biscuits and understanding.",
        "delivery_modes": "in_person",
        "languages": "English",
        "status": ListingStatus.PUBLISHED.value,
        "easting": LEEDS[0],
        "northing": LEEDS[1],
    }
    values.update(fields)
    listing = Listing(**values)
    db.session.add(listing)
    return listing


def test_published_listing_is_found_after_commit(live_index: SearchIndex) -> None:
    category = db.session.scalars(select(Category).where(Category.slug == "peer-support")).one()
    council = CouncilFactory(code="E08000035", name="Leeds")
    listing = make_listing(categories=[category], councils=[council])
    listing.prices.append(ListingPrice(amount_pence=450, unit="session"))
    db.session.flush()
    assert live_index.search(SearchQuery(text="voices")).total == 0  # not before the commit
    db.session.commit()

    result = live_index.search(SearchQuery(text="voices", near=LEEDS, within_miles=1))
    assert ids(result) == [listing.id]
    assert result.facets["categories"] == {"peer-support": 1}
    assert result.facets["councils"] == {"E08000035": 1}
    assert ids(live_index.search(SearchQuery(text="leeds hearing", max_price_pence=450))) == [
        listing.id
    ]


def test_hidden_listing_leaves_the_index(live_index: SearchIndex) -> None:
    listing = make_listing()
    db.session.commit()
    assert ids(live_index.search(SearchQuery(text="voices"))) == [listing.id]

    listing.status = ListingStatus.HIDDEN.value
    db.session.commit()
    assert live_index.search(SearchQuery(text="voices")).total == 0
    assert live_index.doc_count() == 0


def test_draft_and_submitted_listings_are_never_indexed(live_index: SearchIndex) -> None:
    make_listing(status=ListingStatus.DRAFT.value)
    make_listing(status=ListingStatus.SUBMITTED.value, name="Another voices group")
    db.session.commit()
    assert live_index.doc_count() == 0
    assert live_index.search(SearchQuery(text="voices")).total == 0


def test_rolled_back_changes_never_reach_the_index(live_index: SearchIndex) -> None:
    listing = make_listing()
    db.session.commit()

    listing.name = "Renamed drop-in"
    db.session.flush()
    db.session.rollback()
    db.session.add(make_listing(name="Unrelated", status=ListingStatus.DRAFT.value))
    db.session.commit()
    assert ids(live_index.search(SearchQuery(text="voices"))) == [listing.id]
    assert live_index.search(SearchQuery(text="renamed")).total == 0


def test_savepoint_rollback_keeps_the_outer_change(live_index: SearchIndex) -> None:
    listing = make_listing(status=ListingStatus.DRAFT.value)
    db.session.commit()
    listing.status = ListingStatus.PUBLISHED.value
    db.session.flush()
    savepoint = db.session.begin_nested()
    db.session.add(Listing(organisation=listing.organisation, name="Abandoned", summary="-"))
    db.session.flush()
    savepoint.rollback()  # fires after_rollback, but the outer transaction goes on
    db.session.commit()
    assert ids(live_index.search(SearchQuery(text="voices"))) == [listing.id]


def test_edits_and_deletion_follow_the_database(live_index: SearchIndex) -> None:
    listing = make_listing()
    db.session.commit()

    listing.name = "Voices café"
    listing.prices.append(ListingPrice(amount_pence=0, unit="free"))
    listing.min_price_pence = 0
    db.session.commit()
    assert ids(live_index.search(SearchQuery(text="cafe", max_price_pence=0))) == [listing.id]

    listing.organisation.name = "Wakefield Hearing Voices"
    db.session.commit()
    assert ids(live_index.search(SearchQuery(text="wakefield"))) == [listing.id]

    db.session.delete(listing)
    db.session.commit()
    assert live_index.doc_count() == 0


def test_deleting_the_organisation_removes_its_listings(live_index: SearchIndex) -> None:
    listing = make_listing()
    db.session.commit()
    assert live_index.doc_count() == 1
    db.session.delete(listing.organisation)
    db.session.commit()
    assert live_index.doc_count() == 0


def test_flask_search_rebuild(app: Flask, live_index: SearchIndex) -> None:
    make_listing(name="First voices group")
    make_listing(name="Second voices group")
    make_listing(name="Draft voices group", status=ListingStatus.DRAFT.value)
    db.session.commit()
    live_index.rebuild([doc(999, "Stale entry")])  # out of step, as after a crash

    output = app.test_cli_runner().invoke(args=["search", "rebuild"])
    assert output.exit_code == 0, output.output
    assert "Indexed 2 published listings." in output.output
    assert live_index.doc_count() == 2
    assert live_index.search(SearchQuery(text="stale")).total == 0
    assert indexing.get_index() is live_index


def test_document_from_listing(live_index: SearchIndex) -> None:
    category = db.session.scalars(select(Category).where(Category.slug == "advocacy")).one()
    listing = make_listing(
        categories=[category],
        tags="voices, peer",
        delivery_modes="in_person,online",
        languages="English, Urdu",
        communities="bme",
        min_price_pence=None,
        easting=None,
    )
    listing.prices.append(ListingPrice(amount_pence=700, unit="hour"))
    listing.prices.append(ListingPrice(amount_pence=300, unit="session"))
    db.session.flush()
    document = search.document_from_listing(listing)
    assert document == replace(
        document,
        id=listing.id,
        organisation="Leeds Hearing Voices",
        tags=("voices", "peer"),
        categories=("advocacy",),
        delivery_modes=("in_person", "online"),
        languages=("English", "Urdu"),
        communities=("bme",),
        councils=(),
        min_price_pence=300,  # from the price options when the listing has no minimum yet
        easting=None,
        northing=None,  # a point needs both
        serves_nationally=False,
    )
    listing.serves_nationally = True
    assert search.document_from_listing(listing).serves_nationally is True


def test_rebuild_loads_the_documents_that_listings_give(live_index: SearchIndex) -> None:
    # The rebuild loads listings with plain queries, a batch at a time; each document must be
    # the one document_from_listing makes from the listing itself.
    advocacy, peer = (
        db.session.scalars(select(Category).where(Category.slug == slug)).one()
        for slug in ("advocacy", "peer-support")
    )
    leeds = CouncilFactory(code="E08000035", name="Leeds")
    bradford = CouncilFactory(code="E08000032", name="Bradford")
    listings = [
        make_listing(
            categories=[peer, advocacy],
            councils=[leeds, bradford],
            tags="voices, peer",
            delivery_modes="in_person,online",
            languages="English, Urdu",
            communities="bme",
            min_price_pence=None,
            serves_nationally=True,
        ),
        make_listing(name="Priced", min_price_pence=250, easting=None, northing=None),
        make_listing(name="No extras", tags="", languages="", delivery_modes=""),
        make_listing(name="Draft", status=ListingStatus.DRAFT.value),
    ]
    listings[0].prices.extend(
        [ListingPrice(amount_pence=700, unit="hour"), ListingPrice(amount_pence=300, unit="hour")]
    )
    listings[1].prices.append(ListingPrice(amount_pence=100, unit="hour"))
    db.session.commit()

    loaded = list(indexing.published_documents(db.session.get_bind()))
    db.session.expire_all()  # the relationships as loaded from the database, in their order
    expected = [search.document_from_listing(listing) for listing in listings[:3]]
    assert [asdict(document) for document in loaded] == [asdict(e) for e in expected]
    assert loaded[0].min_price_pence == 300  # from the options: the listing has no minimum
    assert loaded[0].categories == ("peer-support", "advocacy")  # in the taxonomy's order
    assert loaded[0].councils == ("E08000032", "E08000035")  # by council name
    assert loaded[1].min_price_pence == 250  # the listing's own minimum wins
