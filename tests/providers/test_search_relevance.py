"""Search that forgives: swapped letters, the synonym list, and the real-world query set."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from marketplace.demo import search_queries
from marketplace.providers import synonyms
from marketplace.providers.search import SearchIndex, SearchQuery
from tests.providers.test_search import doc, ids


@pytest.fixture
def index(tmp_path: Path) -> Iterator[SearchIndex]:
    search_index = SearchIndex(tmp_path / "index")
    yield search_index
    search_index.close()


@pytest.fixture
def demo_index(index: SearchIndex) -> tuple[SearchIndex, dict[int, str]]:
    documents, keys = search_queries.demo_documents()
    index.rebuild(documents)
    return index, keys


@pytest.fixture
def no_synonyms(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(synonyms, "GROUPS", ())
    synonyms._table.cache_clear()
    synonyms._single_words.cache_clear()
    yield
    monkeypatch.undo()
    synonyms._table.cache_clear()
    synonyms._single_words.cache_clear()


def test_every_real_world_query_finds_the_listings_it_should(demo_index) -> None:
    index, keys = demo_index
    assert len(search_queries.QUERIES) >= 100
    result = search_queries.recall(index, keys)
    assert result.missed == ()
    assert result.ratio == 1.0


def test_without_the_synonym_list_many_queries_fail(demo_index, no_synonyms) -> None:
    index, keys = demo_index
    result = search_queries.recall(index, keys)
    assert result.ratio < 0.85
    assert ("anxious", "ANXIETY_GROUP") in result.missed
    assert ("befriender", "BEFRIENDING") not in result.missed  # one typo from befriending


def test_swapped_letters_are_one_typo(index: SearchIndex) -> None:
    index.rebuild([doc(1, "Anxiety support group"), doc(2, "Art studio")])
    result = index.search(SearchQuery(text="anxeity"))
    assert ids(result) == [1]
    assert result.suggestion == "anxiety"
    assert ids(index.search(SearchQuery(text="nxaiety"))) == []  # swaps are one edit, not two


def test_a_synonym_finds_listings_ranked_below_the_word_typed(index: SearchIndex) -> None:
    index.rebuild(
        [
            doc(1, "Anxiety support group"),
            doc(2, "For anxious people"),
            doc(3, "Art studio"),
        ]
    )
    result = index.search(SearchQuery(text="anxious"))
    assert ids(result) == [2, 1]
    assert result.suggestion is None
    assert ids(index.search(SearchQuery(text="anxiety"))) == [1, 2]


def test_a_phrase_synonym_needs_all_its_words(index: SearchIndex) -> None:
    index.rebuild(
        [
            doc(1, "Personal assistants in Leeds"),
            doc(2, "Personal budget advice"),
            doc(3, "Your assistant manager"),
        ]
    )
    assert ids(index.search(SearchQuery(text="PA"))) == [1]


def test_a_typed_phrase_finds_its_synonyms(index: SearchIndex) -> None:
    index.rebuild([doc(1, "Depression support"), doc(2, "Mood board art class")])
    found = ids(index.search(SearchQuery(text="low mood")))
    assert found[0] == 1 or set(found) == {1, 2}
    assert 1 in found
    assert ids(index.search(SearchQuery(text="mood"))) == [2]  # one word alone is not the phrase


def test_a_typo_of_a_word_only_the_synonym_list_has(index: SearchIndex) -> None:
    index.rebuild([doc(1, "Grief and loss support"), doc(2, "Art studio")])
    assert ids(index.search(SearchQuery(text="bereavment"))) == [1]


def test_synonyms_go_both_ways_and_phrases_are_split_like_typed_words() -> None:
    for group in synonyms.GROUPS:
        for entry in group:
            words = tuple(entry.casefold().replace("-", " ").replace("+", " ").split())
            others = synonyms.alternatives(words)
            assert others, entry
    assert ("anxiety",) in synonyms.alternatives(("anxious",))
    assert ("anxious",) in synonyms.alternatives(("Anxiety",))
    assert ("personal", "assistant") in synonyms.alternatives(("pa",))
    assert ("sleep", "in") in synonyms.alternatives(("overnight",))
    assert synonyms.alternatives(("table",)) == ()
    assert synonyms.near_words("counsleling") == ("counseling", "counselling")  # a swap
    assert synonyms.near_words("cuonsleling") == ()  # two edits away
    assert synonyms.near_words("bereavment") == ("bereavement",)
    assert synonyms.near_words("anxoius") == ("anxious",)
