"""Full-text search over published listings, on Whoosh. The only module that imports whoosh.

Whoosh keeps the index (one directory, shared by every worker process, with its file lock for
writers) and does the text work: stemming analysis, postings, the BM25F statistics, and the word
list that spelling suggestions and typo tolerance draw on.

Queries are answered here from what Whoosh stores, not by Whoosh's searcher. A directory search
needs the total and six facets' counts over every matching listing as well as one ranked page,
and Whoosh's matchers cost several microseconds per posting in Python (tens per matching
listing for a query over five boosted fields): seconds for a common word at 100,000 listings.
So each term's postings are copied out once into compact arrays and a bitset (a Python int with
one bit per document number); filters, totals and facet counts are then a few ANDs and
``int.bit_count()`` calls, and relevance is Whoosh's BM25F formula summed over those arrays.
Segments never change apart from their deletions, so the copies are kept per segment and
survive the new index generations that other workers' writes create.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import math
import random
import re
import threading
import time
from array import array
from collections import Counter, OrderedDict, deque
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from operator import itemgetter
from pathlib import Path
from typing import TYPE_CHECKING, Any

from whoosh import index as whoosh_index
from whoosh import writing
from whoosh.analysis import (
    STOP_WORDS,
    LowercaseFilter,
    RegexTokenizer,
    StandardAnalyzer,
    StemmingAnalyzer,
)
from whoosh.codec.whoosh3 import W3Codec, W3Segment
from whoosh.columns import VarBytesColumn
from whoosh.fields import COLUMN, ID, KEYWORD, NUMERIC, TEXT, Schema
from whoosh.filedb.filestore import FileStorage
from whoosh.lang.porter import stem as porter_stem
from whoosh.system import pack_uint

from marketplace.providers import synonyms

if TYPE_CHECKING:
    from whoosh.reading import IndexReader
    from whoosh.searching import Searcher

    from marketplace.providers.models import Listing

__all__ = [
    "Coverage",
    "Hit",
    "ListingDocument",
    "SearchIndex",
    "SearchIndexLocked",
    "SearchQuery",
    "SearchResult",
    "document_from_listing",
    "listing_document",
]

log = logging.getLogger(__name__)

METRES_PER_MILE = 1609.344
MAX_QUERY_CHARS = 500  # longer input is cut: nobody types more, and every word costs work
MAX_QUERY_WORDS = 16
MAX_PER_PAGE = 100
MAX_WITHIN_MILES = 1000  # further than Land's End to John o' Groats
FEW_RESULTS = 5  # fewer plain matches than this and we also try words one typo away
FUZZY_MIN_LETTERS = 4  # shorter words have too many neighbours one edit away
FUZZY_MAX_LETTERS = 30  # no real word is longer, and edit automata grow with the word
FUZZY_VARIANT_BOOST = 0.7  # a word we guessed counts for less than the word that was typed
SYNONYM_BOOST = 0.8  # a word that means the same counts for less than the word that was typed
GRID_CELL_METRES = 10_000
PRICE_UNKNOWN = 2**31 - 1  # sentinel for "no price given": sorts after every real price
NO_POINT = -1
LOCK_TIMEOUT_SECONDS = 10.0

# Query-time boosts, applied as multipliers on each field's BM25F score. (Index-time boosts would
# be swallowed by BM25's term-frequency saturation, and changing these needs no reindex.)
TEXT_BOOSTS: dict[str, float] = {
    "name": 3.0,
    "summary": 2.0,
    "tags": 2.0,
    "organisation": 1.5,
    "description": 1.0,
}
FACET_FIELDS = ("categories", "delivery_modes", "languages", "communities", "councils")
DIRECT_PAYMENTS = "takes_direct_payments"
FACETS = (*FACET_FIELDS, DIRECT_PAYMENTS)
SORTS = ("relevance", "distance", "price")
# Delivery modes that reach people at home wherever the provider is based.
REMOTE_DELIVERY = ("online", "phone")

# Below this many selected documents, sort them outright rather than walk a presorted order.
SMALL_RESULT = 2000
# Rank filtered text searches by adding up word scores for the selected documents alone when
# they are fewer than this fraction of the documents the words match.
WALK_SELECTED_BELOW = 0.25
# Caches, per worker process: terms' postings per segment; per index generation, terms' bitsets
# across segments, words' scores, and other filters' bitsets. Sizes are rough bytes.
SEGMENT_POSTINGS_BYTES = 64 << 20
VIEW_BITSETS_BYTES = 16 << 20
VIEW_SCORES_BYTES = 64 << 20
VIEW_DERIVED_ENTRIES = 256
VIEW_RANKINGS_BYTES = 16 << 20


# ---------------------------------------------------------------------------------------------
# Plain data in and out


@dataclass(frozen=True)
class ListingDocument:
    """What the index knows about one published listing (built by ``document_from_listing``)."""

    id: int
    name: str
    summary: str
    description: str
    organisation: str
    tags: tuple[str, ...]
    categories: tuple[str, ...]  # category slugs
    delivery_modes: tuple[str, ...]
    languages: tuple[str, ...]
    communities: tuple[str, ...]
    councils: tuple[str, ...]  # ONS council codes
    takes_direct_payments: bool
    min_price_pence: int | None
    easting: int | None
    northing: int | None
    serves_nationally: bool = False  # online or by phone for anyone in England


def document_from_listing(listing: Listing) -> ListingDocument:
    """Copy what search needs out of a Listing (with its organisation, categories, councils)."""
    return listing_document(
        id=listing.id,
        name=listing.name,
        summary=listing.summary,
        description=listing.description,
        organisation=listing.organisation.name if listing.organisation is not None else None,
        tags=listing.tag_list,
        categories=[category.slug for category in listing.categories],
        delivery_modes=listing.delivery_mode_list,
        languages=listing.language_list,
        communities=listing.community_list,
        councils=[council.code for council in listing.councils],
        takes_direct_payments=listing.takes_direct_payments,
        min_price_pence=listing.min_price_pence,
        cheapest_option_pence=min((option.amount_pence for option in listing.prices), default=None),
        easting=listing.easting,
        northing=listing.northing,
        serves_nationally=listing.serves_nationally,
    )


def listing_document(
    *,
    id: int,  # noqa: A002 - the listing's own name for it
    name: str | None,
    summary: str | None,
    description: str | None,
    organisation: str | None,
    tags: Iterable[str],
    categories: Iterable[str],
    delivery_modes: Iterable[str],
    languages: Iterable[str],
    communities: Iterable[str],
    councils: Iterable[str],
    takes_direct_payments: bool | None,
    min_price_pence: int | None,
    cheapest_option_pence: int | None,
    easting: int | None,
    northing: int | None,
    serves_nationally: bool | None,
) -> ListingDocument:
    """A listing's document from its values, however they were loaded (one listing with its
    relationships, or many at once with plain queries when the index is rebuilt).

    The price is the listing's lowest price, or else its cheapest price option's; a point needs
    both coordinates.
    """
    price = min_price_pence if min_price_pence is not None else cheapest_option_pence
    has_point = easting is not None and northing is not None
    return ListingDocument(
        id=id,
        name=name or "",
        summary=summary or "",
        description=description or "",
        organisation=organisation or "",
        tags=tuple(tags),
        categories=tuple(categories),
        delivery_modes=tuple(delivery_modes),
        languages=tuple(languages),
        communities=tuple(communities),
        councils=tuple(councils),
        takes_direct_payments=bool(takes_direct_payments),
        min_price_pence=price,
        easting=easting if has_point else None,
        northing=northing if has_point else None,
        serves_nationally=bool(serves_nationally),
    )


@dataclass(frozen=True)
class SearchQuery:
    """One search: free text, filters (OR within a facet, AND across facets), place, sort, page."""

    text: str = ""
    categories: tuple[str, ...] = ()
    delivery_modes: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    communities: tuple[str, ...] = ()
    councils: tuple[str, ...] = ()
    takes_direct_payments: bool = False
    max_price_pence: int | None = None  # free (0) included; listings without a price excluded
    near: tuple[int, int] | None = None  # (easting, northing) in metres on the OS grid
    within_miles: int | None = None  # only with near
    # The ONS code of the council area `near` is in: with within_miles, services online or by
    # phone that serve this council (or all of England) are found wherever they are based.
    near_council: str | None = None
    sort: str = "relevance"  # "relevance" | "distance" (needs near) | "price" (cheapest first)
    page: int = 1
    per_page: int = 20


@dataclass(frozen=True)
class Hit:
    """One listing in the results; score is 0.0 unless ranked by relevance to some text."""

    listing_id: int
    score: float
    distance_miles: float | None
    # With a place and a distance: True when within the distance, False when found because it
    # is offered online or by phone to the place's council area or to all of England.
    nearby: bool | None = None


@dataclass(frozen=True)
class Coverage:
    """Where the listed services are for: ONS codes of councils served, and all of England."""

    councils: tuple[str, ...]
    national: bool


@dataclass(frozen=True)
class SearchResult:
    """A page of hits, the total, facet counts and a "Did you mean" suggestion."""

    hits: list[Hit]
    total: int
    page: int
    pages: int  # at least 1, so that page 1 of an empty result is still a page
    facets: dict[str, dict[str, int]]
    suggestion: str | None


class SearchIndexLocked(RuntimeError):
    """Another process held the index's write lock for longer than we were willing to wait."""


# ---------------------------------------------------------------------------------------------
# Schema and documents

_STEMMING = StemmingAnalyzer()
_WORDS = RegexTokenizer() | LowercaseFilter()

# What StandardAnalyzer and StemmingAnalyzer do, in a few C-level calls instead of a chain of
# Python generators passing a Token along: Whoosh's default word pattern (without the capturing
# group, so that findall gives whole matches), lowercasing, stop words and words of one letter
# dropped, then the same Porter stemmer. Building the index spent most of its time in that chain.
# tests/providers/test_search_analysis.py checks both give the same terms.
_TOKEN = re.compile(r"[\w\*]+(?:\.?[\w\*]+)*")
_MIN_WORD = 2
_stem = lru_cache(maxsize=1 << 16)(porter_stem)


def _plain_words(text: str) -> list[str]:
    """StandardAnalyzer's terms for the text: lowercased words, stop words left out."""
    return [
        word
        for word in map(str.lower, _TOKEN.findall(text))
        if len(word) >= _MIN_WORD and word not in STOP_WORDS
    ]


def _stemmed_words(text: str) -> list[str]:
    """StemmingAnalyzer's terms for the text."""
    return list(map(_stem, _plain_words(text)))


class _FastText(TEXT):  # type: ignore[misc]
    """A TEXT field without positions that analyses text with the functions above.

    Only the writer calls ``index``; queries are analysed with _STEMMING by this module, which
    gives the same terms. Pickled with the schema into the index's table of contents, so the
    class must keep this name and module.
    """

    def __init__(self, stemmed: bool) -> None:
        # No positions: user input has no phrase syntax, and positions cost a third of the index.
        super().__init__(analyzer=_STEMMING if stemmed else StandardAnalyzer(), phrase=False)
        self.stemmed = stemmed

    def index(self, value: Any, **kwargs: Any) -> Iterator[tuple[bytes, int, float, bytes]]:
        if not isinstance(value, str) or kwargs:
            yield from super().index(value, **kwargs)
            return
        words = _stemmed_words(value) if self.stemmed else _plain_words(value)
        boost = self.format.field_boost
        # What whoosh.formats.Frequency.word_values gives: (term, frequency, weight, encoded).
        for word, count in Counter(words).items():
            yield word.encode(), count, count * boost, pack_uint(count)


class _LengthsOnce:
    """A new segment's field lengths, each read once rather than once per posting.

    Writing a segment's postings asks for the document's field length with every posting (for
    each block's shortest and longest document), and Whoosh reads it back from the lengths file
    each time: a fifth of a rebuild. Here each field's lengths are read on first use into a list.
    """

    def __init__(self, reader: Any) -> None:
        self._reader = reader
        self._lengths: dict[str, list[Any]] = {}

    def doc_field_length(self, docnum: int, fieldname: str, default: int = 0) -> Any:
        lengths = self._lengths.get(fieldname)
        if lengths is None:
            read = self._reader.doc_field_length
            lengths = [read(d, fieldname, default) for d in range(self._reader.doc_count_all())]
            self._lengths[fieldname] = lengths
        return lengths[docnum]

    def __getattr__(self, name: str) -> Any:
        return getattr(self._reader, name)


class _RebuildCodec(W3Codec):  # type: ignore[misc]
    """Whoosh's codec, with the field lengths read once when a segment's postings are written.

    The segments it makes name Whoosh's own codec, so what is on disk and in the table of
    contents is exactly what W3Codec writes.
    """

    def per_document_reader(self, storage: Any, segment: Any) -> Any:
        return _LengthsOnce(super().per_document_reader(storage, segment))

    def new_segment(self, storage: Any, indexname: str) -> Any:
        return W3Segment(W3Codec(), indexname)


def build_schema() -> Schema:
    """The index's fields. Text is stemmed; facets are exact comma-separated keywords."""

    def text() -> TEXT:
        return _FastText(stemmed=True)

    def facet() -> KEYWORD:
        return KEYWORD(commas=True)

    return Schema(
        id=ID(unique=True, stored=True, sortable=True),
        name=text(),
        summary=text(),
        description=text(),
        organisation=text(),
        tags=text(),
        # The unstemmed words of all the text fields: the vocabulary for "Did you mean" and for
        # typo tolerance (stems such as "advocaci" are not words to suggest).
        spelling=_FastText(stemmed=False),
        categories=facet(),
        delivery_modes=facet(),
        languages=facet(),
        communities=facet(),
        councils=facet(),
        takes_direct_payments=ID(),  # "true" or "false"
        serves_nationally=ID(),  # "true" or "false"
        grid_cell=ID(),  # 10 km square of the OS grid, for listings with a point
        min_price=NUMERIC(bits=32, stored=True, sortable=True, shift_step=0),
        easting=NUMERIC(bits=32, stored=True, sortable=True, shift_step=0),
        northing=NUMERIC(bits=32, stored=True, sortable=True, shift_step=0),
        name_key=COLUMN(VarBytesColumn()),  # casefolded name, for A-Z order
    )


def _keywords(values: Iterable[str]) -> str:
    # A comma inside a value would split it into two keywords.
    return ",".join(value.replace(",", " ").strip() for value in values if value.strip())


def _grid_cell(easting: int, northing: int) -> str:
    return f"{easting // GRID_CELL_METRES}:{northing // GRID_CELL_METRES}"


def _fields(document: ListingDocument) -> dict[str, Any]:
    tags = " ".join(document.tags)
    fields: dict[str, Any] = {
        "id": str(document.id),
        "name": document.name,
        "summary": document.summary,
        "description": document.description,
        "organisation": document.organisation,
        "tags": tags,
        "spelling": " ".join(
            (document.name, document.summary, document.description, document.organisation, tags)
        ),
        "takes_direct_payments": "true" if document.takes_direct_payments else "false",
        "serves_nationally": "true" if document.serves_nationally else "false",
        "min_price": (
            PRICE_UNKNOWN if document.min_price_pence is None else document.min_price_pence
        ),
        "easting": NO_POINT,
        "northing": NO_POINT,
        "name_key": document.name.casefold().encode(),
    }
    for name in FACET_FIELDS:
        value = _keywords(getattr(document, name))
        if value:
            fields[name] = value
    if document.easting is not None and document.northing is not None:
        fields["easting"] = document.easting
        fields["northing"] = document.northing
        fields["grid_cell"] = _grid_cell(document.easting, document.northing)
    return fields


# ---------------------------------------------------------------------------------------------
# Bitsets: a Python int with bit n set when document number n is in the set


def _bitset(docnums: Iterable[int], size: int) -> int:
    # One ASCII digit per document, written by a C-level loop, then read as a base-2 number
    # (int() of a power-of-two base is linear): several times faster than setting bits in Python.
    digits = bytearray(b"0") * size
    deque(map(digits.__setitem__, docnums, itertools.repeat(ord("1"))), maxlen=0)
    digits.reverse()  # document 0 is the lowest bit, the last digit
    return int(digits, 2) if size else 0


_ONE = re.compile("1")


def _members(bitset: int) -> list[int]:
    """The document numbers in a bitset, in increasing order."""
    digits = bin(bitset)[:1:-1]  # lowest bit first, without the "0b"
    return [match.start() for match in _ONE.finditer(digits)]


class _Membership:
    """Constant-time "is document n in this bitset?" for loops over many documents."""

    __slots__ = ("data",)

    def __init__(self, bitset: int) -> None:
        self.data = bitset.to_bytes((bitset.bit_length() >> 3) + 1, "little")

    def __contains__(self, docnum: int) -> bool:
        index = docnum >> 3
        return index < len(self.data) and bool(self.data[index] >> (docnum & 7) & 1)


class _LRU(OrderedDict):
    """Least recently used entries go first once their total size passes the capacity."""

    def __init__(self, capacity: int, size: Callable[[Any], int] = lambda _value: 1) -> None:
        super().__init__()
        self.capacity = capacity
        self.size = size
        self.used = 0

    def remember(self, key: Any, value: Any) -> Any:
        if key in self:
            self.used -= self.size(self.pop(key))
        self[key] = value
        self.used += self.size(value)
        while self.used > self.capacity and len(self) > 1:
            self.used -= self.size(self.popitem(last=False)[1])
        return value

    def recall(self, key: Any) -> Any:
        value = self.get(key)
        if value is not None:
            self.move_to_end(key)
        return value


# ---------------------------------------------------------------------------------------------
# Per-segment and per-generation caches


def _posting_blocks(
    matcher: Any, frequencies: bool = True
) -> Iterator[tuple[Sequence[int], Sequence[float]]]:
    """A term's postings a block at a time: (document numbers, frequencies).

    Whoosh's public API hands out one posting per call (about 2.5 microseconds each: seconds
    for the facet postings of 100,000 listings). Its on-disk matcher decodes a whole block of
    128 at once; when the matcher is that one (whoosh.codec.whoosh3.W3LeafMatcher, whose private
    attributes this relies on) we take each block's arrays whole. Anything else, such as the
    wrapper Whoosh puts around a segment with deletions, goes through the public API.
    """
    if type(matcher).__name__ == "W3LeafMatcher" and all(
        hasattr(matcher, name) for name in ("_read_ids", "_read_weights", "_next_block")
    ):
        while matcher.is_active():
            matcher._read_ids()
            if frequencies:
                matcher._read_weights()
            yield matcher._ids, matcher._weights if frequencies else ()
            matcher._next_block()
        return
    docnums: list[int] = []
    weights: list[float] = []
    while matcher.is_active():
        docnums.append(matcher.id())
        if frequencies:
            weights.append(matcher.weight())
        matcher.next()
    yield docnums, weights


class _Postings:
    """One term's postings in one segment, copied out of Whoosh into compact arrays."""

    __slots__ = ("bits", "docnums", "frequencies", "lengths")

    def __init__(self) -> None:
        self.bits = 0
        self.docnums = array("I")
        self.frequencies = array("f")
        self.lengths = array("I")

    def nbytes(self) -> int:
        return 12 * len(self.docnums) + _bitset_bytes(self.bits)


def _bitset_bytes(bits: int) -> int:
    return bits.bit_length() // 8 + 64


def _scores_bytes(scores: dict[int, float]) -> int:
    return 100 * len(scores) + 64  # an int key, a float and a hash table slot


class _Segment:
    """Data derived from one Whoosh segment, in the segment's own document numbers.

    A segment's documents never change (only deletions are added, and the view masks those out),
    so this stays valid for as long as the segment exists, across index generations.
    """

    def __init__(self) -> None:
        self.postings: _LRU = _LRU(SEGMENT_POSTINGS_BYTES, _Postings.nbytes)
        self.keywords: dict[tuple[str, str], int] = {}
        self.columns: dict[str, list[Any]] = {}
        self.orders: dict[str, list[int]] = {}

    def keyword(self, reader: IndexReader, fieldname: str, text: str) -> int:
        """The documents with this facet value (or grid cell). There are few: never evicted."""
        key = (fieldname, text)
        bits = self.keywords.get(key)
        if bits is None:
            if key in reader:
                blocks = _posting_blocks(reader.postings(fieldname, text), frequencies=False)
                docnums = (docnum for block, _ in blocks for docnum in block)
                bits = _bitset(docnums, reader.doc_count_all())
            else:
                bits = 0
            self.keywords[key] = bits
        return bits

    def text_postings(self, reader: IndexReader, fieldname: str, text: str) -> _Postings:
        """A text term's documents, with what BM25F needs: frequency and field length."""
        key = (fieldname, text)
        postings = self.postings.recall(key)
        if postings is None:
            postings = _Postings()
            if key in reader:
                for docnums, frequencies in _posting_blocks(reader.postings(fieldname, text)):
                    postings.docnums.extend(docnums)
                    postings.frequencies.extend(frequencies)
                length = reader.doc_field_length
                postings.lengths.extend(length(docnum, fieldname) for docnum in postings.docnums)
                postings.bits = _bitset(postings.docnums, reader.doc_count_all())
            self.postings.remember(key, postings)
        return postings

    def column(self, reader: IndexReader, name: str) -> list[Any]:
        values = self.columns.get(name)
        if values is None:
            values = self.columns[name] = list(reader.column_reader(name))
        return values

    def order(self, reader: IndexReader, kind: str) -> list[int]:
        """Local document numbers sorted A-Z by name ("name") or cheapest first ("price")."""
        ordered = self.orders.get(kind)
        if ordered is None:
            names = self.column(reader, "name_key")
            if kind == "price":
                prices = self.column(reader, "min_price")
                ordered = sorted(range(len(names)), key=lambda d: (prices[d], names[d]))
            else:
                ordered = sorted(range(len(names)), key=names.__getitem__)
            self.orders[kind] = ordered
        return ordered


class _View:
    """One generation of the index: a Whoosh searcher plus bitsets over its document numbers."""

    def __init__(self, searcher: Searcher, segments: dict[str, _Segment]) -> None:
        self.searcher = searcher
        self.reader = searcher.reader()
        self.size = self.reader.doc_count_all()
        self.leaves: list[tuple[IndexReader, int, _Segment]] = []
        live = 0
        self.has_deletions = False
        for leaf, offset in self.reader.leaf_readers():
            segment = leaf.segment()
            if segment is None:  # an empty index has a reader without segments
                continue
            self.leaves.append((leaf, offset, segments[segment.segment_id()]))
            count = leaf.doc_count_all()
            leaf_live = (1 << count) - 1
            if segment.has_deletions():
                leaf_live &= ~_bitset(segment.deleted_docs(), count)
                self.has_deletions = True
            live |= leaf_live << offset
        self.live = live
        self._terms: _LRU = _LRU(VIEW_BITSETS_BYTES, _bitset_bytes)
        self._words: _LRU = _LRU(VIEW_SCORES_BYTES, _scores_bytes)
        self._facets: dict[str, dict[str, int]] = {}
        self._columns: dict[str, list[Any]] = {}
        self._derived: _LRU = _LRU(VIEW_DERIVED_ENTRIES)
        self._rankings: _LRU = _LRU(VIEW_RANKINGS_BYTES, _ranking_bytes)

    def term(self, fieldname: str, text: str) -> int:
        """Live documents whose text field holds this (already analysed) term."""
        key = (fieldname, text)
        bits = self._terms.recall(key)
        if bits is None:
            bits = 0
            for leaf, offset, segment in self.leaves:
                bits |= segment.text_postings(leaf, fieldname, text).bits << offset
            bits = self._terms.remember(key, bits & self.live)
        return bits

    def word_scores(self, variants: dict[str, float]) -> dict[int, float]:
        """Each live document's score for one word: its best field's boosted BM25F score.

        `variants` maps stems to a weight (the typed word 1.0, typo guesses less). This is what
        Whoosh's Or of DisjunctionMax(Term(field, stem, boost)...) computes per document, using
        Whoosh's own BM25F statistics, but from cached arrays: Whoosh's matcher tree costs tens
        of microseconds per matching document, which is seconds for a common word at 100,000.
        """
        key = tuple(sorted(variants.items()))
        scores = self._words.recall(key)
        if scores is not None:
            return scores
        scores = {}
        best = scores.get
        for stem, weight in variants.items():
            for fieldname, boost in TEXT_BOOSTS.items():
                found = [
                    (offset, segment.text_postings(leaf, fieldname, stem))
                    for leaf, offset, segment in self.leaves
                ]
                if not any(postings.bits for _offset, postings in found):
                    continue  # (Whoosh's scorer raises for a term it does not have)
                # BM25F as whoosh.scoring.bm25 computes it, with the constants hoisted:
                # idf * tf * (K1 + 1) / (tf + K1 * ((1 - B) + B * length / average length))
                scorer = self.searcher.weighting.scorer(self.searcher, fieldname, stem)
                factor = weight * boost * scorer.idf * (scorer.K1 + 1)
                fixed = scorer.K1 * (1 - scorer.B)
                per_length = scorer.K1 * scorer.B / scorer.avgfl
                for offset, postings in found:
                    for docnum, tf, length in zip(
                        postings.docnums, postings.frequencies, postings.lengths, strict=True
                    ):
                        score = factor * tf / (tf + fixed + per_length * length)
                        docnum += offset
                        if score > best(docnum, 0.0):
                            scores[docnum] = score
        if self.has_deletions:
            live = _Membership(self.live)
            scores = {docnum: score for docnum, score in scores.items() if docnum in live}
        return self._words.remember(key, scores)

    def facet(self, fieldname: str) -> dict[str, int]:
        """Every value of a keyword field with the live documents that have it."""
        values = self._facets.get(fieldname)
        if values is None:
            values = {}
            for btext in self.reader.lexicon(fieldname):
                text = btext.decode("utf-8")
                bits = 0
                for leaf, offset, segment in self.leaves:
                    bits |= segment.keyword(leaf, fieldname, text) << offset
                if bits & self.live:
                    values[text] = bits & self.live
            self._facets[fieldname] = values
        return values

    def column(self, name: str) -> list[Any]:
        values = self._columns.get(name)
        if values is None:
            values = []
            for leaf, _offset, segment in self.leaves:
                values.extend(segment.column(leaf, name))
            self._columns[name] = values
        return values

    def in_order(self, kind: str) -> Iterator[int]:
        """All document numbers (deleted ones too) A-Z by name, or by price then name."""
        names = self.column("name_key")
        if len(self.leaves) == 1:
            leaf, _offset, segment = self.leaves[0]
            return iter(segment.order(leaf, kind))
        prices = self.column("min_price")

        def keyed(leaf: IndexReader, offset: int, segment: _Segment) -> Iterator[Any]:
            for local in segment.order(leaf, kind):
                docnum = local + offset
                if kind == "price":
                    yield prices[docnum], names[docnum], docnum
                else:
                    yield names[docnum], docnum

        merged = heapq.merge(*(keyed(*leaf) for leaf in self.leaves))
        return (entry[-1] for entry in merged)

    def ranking(self, key: Any, per_word: list[dict[int, float]]) -> array:
        """Every document the words match, best total score first, ties in index order.

        Sorting all the matches costs more than picking one page's best, but it is done once
        per set of words per index generation: after that a page is the first documents of
        this list (that pass the filters), instead of a pass over every match on each request.
        """
        order = self._rankings.recall(key)
        if order is None:
            totals = _totals(per_word)
            ascending = sorted(totals)
            # A stable sort keeps equal scores in the ascending order of document numbers.
            ascending.sort(key=totals.__getitem__, reverse=True)
            order = self._rankings.remember(key, array("i", ascending))
        return order

    def cached(self, key: Any, compute: Callable[[], Any]) -> Any:
        value = self._derived.recall(key)
        if value is None:
            value = self._derived.remember(key, compute())
        return value

    def listing_id(self, docnum: int) -> int:
        return int(self.searcher.stored_fields(docnum)["id"])


# ---------------------------------------------------------------------------------------------
# The index


class SearchIndex:
    """The listings' search index in one directory; safe to share between processes."""

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self._ix = self._open_or_create()
        # One searcher per process, and Whoosh's readers are not safe to share between threads.
        self._lock = threading.RLock()
        self._searcher: Searcher | None = None
        self._view: _View | None = None
        self._segments: dict[str, _Segment] = {}

    def _open_or_create(self) -> Any:
        # create_in deletes whatever index files are there, so two workers starting at once
        # must not both decide to create: decide under a lock.
        lock = FileStorage(str(self.directory)).lock("_create_lock")
        lock.acquire(blocking=True)
        try:
            return self._open_or_create_locked()
        finally:
            lock.release()

    def _open_or_create_locked(self) -> Any:
        schema = build_schema()
        if whoosh_index.exists_in(str(self.directory)):
            try:
                ix = whoosh_index.open_dir(str(self.directory))
            except whoosh_index.IndexError:
                log.warning("Search index at %s is unreadable; starting a new one", self.directory)
            else:
                if set(ix.schema.names()) == set(schema.names()):
                    # With this module's field classes rather than those pickled in the index:
                    # an index written before _FastText has Whoosh's TEXT there, which gives the
                    # same terms more slowly. The next commit pickles these classes.
                    return whoosh_index.open_dir(str(self.directory), schema=schema)
                # An index from an older version of this module: its documents lack fields we
                # rely on. Start empty; `flask search rebuild` fills it again.
                log.warning(
                    "Search index at %s has an old schema; starting a new one", self.directory
                )
        return whoosh_index.create_in(str(self.directory), schema)

    # Writing ---------------------------------------------------------------------------------

    def _writer(self, **options: Any) -> Any:
        """A writer, waiting for other processes' writers with a short, growing backoff."""
        deadline = time.monotonic() + LOCK_TIMEOUT_SECONDS
        delay = 0.01
        while True:
            try:
                return self._ix.writer(**options)
            except whoosh_index.LockError:
                if time.monotonic() >= deadline:
                    raise SearchIndexLocked(
                        f"search index {self.directory} stayed locked for "
                        f"{LOCK_TIMEOUT_SECONDS:.0f}s"
                    ) from None
                # Jitter, so that workers that collided do not collide again in step.
                time.sleep(delay * (0.5 + random.random()))  # noqa: S311 - not for security
                delay = min(delay * 2, 0.5)

    def upsert(self, documents: Iterable[ListingDocument]) -> None:
        """Add these listings, replacing any earlier version of each."""
        # The last version of each: a second update of one id in one writer would leave both.
        batch = {document.id: document for document in documents}
        if not batch:
            return
        writer = self._writer()
        try:
            for document in batch.values():
                writer.update_document(**_fields(document))
        except BaseException:
            writer.cancel()
            raise
        writer.commit()

    def remove(self, listing_ids: Iterable[int]) -> None:
        """Take these listings out of the index (ids not in it are ignored)."""
        ids = [str(listing_id) for listing_id in listing_ids]
        if not ids:
            return
        writer = self._writer()
        try:
            for listing_id in ids:
                writer.delete_by_term("id", listing_id)
        except BaseException:
            writer.cancel()
            raise
        writer.commit()

    def rebuild(self, documents: Iterable[ListingDocument], processes: int = 1) -> int:
        """Replace the whole index with these listings; returns how many were indexed.

        With processes > 1, Whoosh's multiprocessing writer analyses documents in that many
        worker processes (1.7 times faster with two); each leaves its own segment.
        """
        codec = _RebuildCodec()
        if processes > 1:
            writer = self._writer(procs=processes, multisegment=True, limitmb=256, codec=codec)
        else:
            writer = self._writer(limitmb=256, codec=codec)
        count = 0
        try:
            for document in documents:
                writer.add_document(**_fields(document))
                count += 1
        except BaseException:
            writer.cancel()
            raise
        # CLEAR drops every existing segment: the new segment is the whole index.
        writer.commit(mergetype=writing.CLEAR)
        return count

    # Reading ---------------------------------------------------------------------------------

    def doc_count(self) -> int:
        """How many listings the index holds (as of the latest commit by any process)."""
        with self._lock:
            return self._current_view().reader.doc_count()

    def close(self) -> None:
        """Release the open searcher (the index stays on disk)."""
        with self._lock:
            if self._searcher is not None:
                self._searcher.close()
            self._searcher = None
            self._view = None
            self._segments = {}

    def _current_view(self) -> _View:
        # Other processes commit new generations. A new searcher for each one, not refresh():
        # Whoosh 2.7.5's reader reuse keys segments by id alone, so a refreshed reader misses
        # deletions made since, and it adds back segments that a merge or rebuild removed.
        # Opening is cheap; what is expensive (the bitsets) is kept per segment anyway.
        if self._searcher is None or not self._searcher.up_to_date():
            previous = self._searcher
            self._searcher = self._ix.searcher()
            self._view = None
            if previous is not None:
                previous.close()
        if self._view is None:
            reader = self._searcher.reader()
            present = {
                leaf.segment().segment_id()
                for leaf, _offset in reader.leaf_readers()
                if leaf.segment() is not None
            }
            self._segments = {
                segment_id: self._segments.get(segment_id) or _Segment() for segment_id in present
            }
            self._view = _View(self._searcher, self._segments)
        return self._view

    def matching_ids(self, text: str) -> list[int]:
        """The ids of every listing this text finds, as the directory's search finds them
        (synonyms and typos included), in no particular order: for callers that filter further."""
        query = _normalised(SearchQuery(text=text))
        with self._lock:
            return _Search(self._current_view(), query).matching_ids()

    def coverage(self) -> Coverage:
        """The council areas some listing serves, and whether any serves all of England."""
        with self._lock:
            view = self._current_view()
            return Coverage(
                councils=tuple(sorted(view.facet("councils"))),
                national=bool(view.facet("serves_nationally").get("true", 0)),
            )

    def search(self, query: SearchQuery) -> SearchResult:
        """Run one search; never raises for anything a user can type or put in a URL."""
        query = _normalised(query)
        with self._lock:
            return _Search(self._current_view(), query).run()


# ---------------------------------------------------------------------------------------------
# One search


def _int(value: Any, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError, OverflowError):
        return default


def _normalised(query: SearchQuery) -> SearchQuery:
    """The query with every number in range and the sort one we can do."""
    near = query.near
    within = query.within_miles
    if near is not None:
        try:
            near = (int(near[0]), int(near[1]))
        except (TypeError, ValueError, IndexError, OverflowError):
            near = None
    if near is None:
        within = None
    elif within is not None:
        within = max(0, min(_int(within, 0), MAX_WITHIN_MILES))
    council = query.near_council if near is not None and within is not None else None
    sort = query.sort if query.sort in SORTS else "relevance"
    if sort == "distance" and near is None:
        sort = "relevance"
    max_price = query.max_price_pence
    return replace(
        query,
        text=(query.text or "")[:MAX_QUERY_CHARS],
        near=near,
        within_miles=within,
        near_council=council or None,
        sort=sort,
        max_price_pence=None if max_price is None else max(0, _int(max_price, 0)),
        page=max(1, _int(query.page, 1)),
        per_page=max(1, min(_int(query.per_page, 20), MAX_PER_PAGE)),
    )


@dataclass
class _Word:
    typed: str  # lowercased, as typed (words joined by spaces for a phrase from synonyms)
    stems: tuple[str, ...]  # what the stemming analyser makes of it (empty for a stop word)
    # Words and phrases that mean the same (marketplace.providers.synonyms), each as its words.
    synonyms: tuple[tuple[str, ...], ...] = ()


@dataclass(frozen=True)
class _Alternatives:
    """What one typed word matches: stems with their weights, and phrases (all words needed)."""

    stems: tuple[tuple[str, float], ...]
    phrases: tuple[tuple[tuple[str, ...], float], ...] = ()


@dataclass
class _TextMatch:
    variants: list[_Alternatives]  # one per word that matched something
    bits: int  # live documents matching any of the words


class _Search:
    def __init__(self, view: _View, query: SearchQuery) -> None:
        self.view = view
        self.query = query
        self.nearby: _Membership | None = None

    def run(self) -> SearchResult:
        query = self.query
        view = self.view

        # Restrictions that are not facets: they narrow the counts of every facet.
        base = view.live
        if query.max_price_pence is not None:
            base &= self._price_at_most(query.max_price_pence)
        if query.near is not None and query.within_miles is not None:
            nearby = self._within(query.near, query.within_miles)
            self.nearby = _Membership(nearby)
            base &= nearby | self._serving_remotely(query.near_council)

        filters = self._facet_filters()
        selected = base
        for bits in filters.values():
            selected &= bits

        text_match: _TextMatch | None = None
        suggestion: str | None = None
        words = _words(query.text)
        if words:
            text_match = self._match(words, selected)
            suggestion = self._suggestion(words)
            base &= text_match.bits
            selected &= text_match.bits

        total = selected.bit_count()
        pages = max(1, math.ceil(total / query.per_page))
        start = (query.page - 1) * query.per_page
        hits: list[Hit] = []
        if start < total:
            ranked = self._rank(selected, total, start + query.per_page, text_match)
            hits = [self._hit(docnum, score) for docnum, score in ranked[start:]]
        return SearchResult(
            hits=hits,
            total=total,
            page=query.page,
            pages=pages,
            facets=self._facet_counts(base, filters),
            suggestion=suggestion,
        )

    def _match(self, words: list[_Word], selected: int) -> _TextMatch:
        """The words' matches; with typo guesses too when the words alone find few of selected."""
        text_match = self._text_match(words, fuzzy=False)
        if (selected & text_match.bits).bit_count() < FEW_RESULTS:
            fuzzy = self._text_match(words, fuzzy=True)
            if (selected & fuzzy.bits).bit_count() > (selected & text_match.bits).bit_count():
                text_match = fuzzy
        return text_match

    def matching_ids(self) -> list[int]:
        """Every listing the query's text matches (all of them when there is no text)."""
        words = _words(self.query.text)
        bits = self._match(words, self.view.live).bits if words else self.view.live
        return [self.view.listing_id(docnum) for docnum in _members(bits & self.view.live)]

    # Filters ---------------------------------------------------------------------------------

    def _facet_filters(self) -> dict[str, int]:
        filters: dict[str, int] = {}
        for name in FACET_FIELDS:
            chosen = getattr(self.query, name)
            if chosen:
                values = self.view.facet(name)
                bits = 0
                for value in chosen:
                    bits |= values.get(value, 0)
                filters[name] = bits
        if self.query.takes_direct_payments:
            filters[DIRECT_PAYMENTS] = self.view.facet(DIRECT_PAYMENTS).get("true", 0)
        return filters

    def _price_at_most(self, pence: int) -> int:
        def compute() -> int:
            prices = self.view.column("min_price")
            return _bitset((d for d, price in enumerate(prices) if price <= pence), len(prices))

        return self.view.cached(("price", pence), compute) & self.view.live

    def _within(self, near: tuple[int, int], miles: int) -> int:
        """Live documents whose point is within this many miles of near (exactly, not by cell)."""

        def compute() -> int:
            east, north = near
            radius = miles * METRES_PER_MILE
            inside = boundary = 0
            for cell, bits in self.view.facet("grid_cell").items():
                x, y = (int(part) * GRID_CELL_METRES for part in cell.split(":"))
                # Nearest and farthest points of the square from the centre of the circle.
                dx_near = max(x - east, 0, east - (x + GRID_CELL_METRES))
                dy_near = max(y - north, 0, north - (y + GRID_CELL_METRES))
                if math.hypot(dx_near, dy_near) > radius:
                    continue
                dx_far = max(abs(east - x), abs(east - x - GRID_CELL_METRES))
                dy_far = max(abs(north - y), abs(north - y - GRID_CELL_METRES))
                if math.hypot(dx_far, dy_far) <= radius:
                    inside |= bits
                else:
                    boundary |= bits
            if not boundary:
                return inside
            eastings = self.view.column("easting")
            northings = self.view.column("northing")
            limit = radius * radius
            near_enough = (
                d
                for d in _members(boundary)
                if (eastings[d] - east) ** 2 + (northings[d] - north) ** 2 <= limit
            )
            return inside | _bitset(near_enough, self.view.size)

        return self.view.cached(("within", near, miles), compute)

    def _serving_remotely(self, council: str | None) -> int:
        """Live documents offered online or by phone to this council area or to all of England.

        A person at home can use them wherever the provider is, so a place search keeps them
        whatever the distance.
        """
        modes = self.view.facet("delivery_modes")
        remote = 0
        for mode in REMOTE_DELIVERY:
            remote |= modes.get(mode, 0)
        serving = self.view.facet("serves_nationally").get("true", 0)
        if council:
            serving |= self.view.facet("councils").get(council, 0)
        return remote & serving

    # Text ------------------------------------------------------------------------------------

    def _text_match(self, words: list[_Word], fuzzy: bool) -> _TextMatch:
        """Documents matching any of the words (OR), in any text field.

        Built from the words rather than with MultifieldParser: user input has no operators to
        parse, so none can raise or change the meaning. Ranking (see word_scores) gives each word
        its best field's score and adds the words up, so listings with more of the words rank
        higher. There is no OrGroup.factory(0.9) coordination bonus: Whoosh 2.7.5's CoordMatcher
        scores a document differently depending on how many results are asked for, so page 2
        could repeat or skip listings from page 1.
        """
        variants: list[_Alternatives] = []
        bits = 0
        for word in words:
            alternatives = self._alternatives(word, fuzzy)
            word_bits = self._any_stem(stem for stem, _weight in alternatives.stems)
            for phrase, _weight in alternatives.phrases:
                word_bits |= self._phrase(phrase)
            if word_bits:
                variants.append(alternatives)
                bits |= word_bits
        return _TextMatch(variants, bits)

    def _any_stem(self, stems: Iterable[str]) -> int:
        bits = 0
        for stem in stems:
            for fieldname in TEXT_BOOSTS:
                bits |= self.view.term(fieldname, stem)
        return bits

    def _phrase(self, stems: tuple[str, ...]) -> int:
        """Documents with every one of these stems, each in any text field."""
        bits = self.view.live
        for stem in stems:
            bits &= self._any_stem((stem,))
        return bits

    def _alternatives(self, word: _Word, fuzzy: bool) -> _Alternatives:
        """The word's stems, its synonyms' (weighed less), and with fuzzy, its near misses'."""
        stems = dict.fromkeys(word.stems, 1.0)
        phrases: dict[tuple[str, ...], float] = {}

        def add_synonyms(entries: Iterable[tuple[str, ...]], weight: float) -> None:
            for entry in entries:
                entry_stems = tuple(stem for part in entry for stem in _stems(part)[:1])
                if len(entry_stems) == 1:
                    stems.setdefault(entry_stems[0], weight)
                elif entry_stems:
                    phrases.setdefault(entry_stems, weight)

        add_synonyms(word.synonyms, SYNONYM_BOOST)
        if fuzzy and FUZZY_MIN_LETTERS <= len(word.typed) <= FUZZY_MAX_LETTERS and word.stems:
            for near_word in sorted(self._vocabulary_within(word.typed, 1)):
                for stem in _stems(near_word):
                    stems.setdefault(stem, FUZZY_VARIANT_BOOST)
                add_synonyms(
                    synonyms.alternatives((near_word,)), FUZZY_VARIANT_BOOST * SYNONYM_BOOST
                )
            # A typo of a word in the synonym list that no listing uses ("bereavment").
            for near_word in synonyms.near_words(word.typed):
                add_synonyms(((near_word,),), FUZZY_VARIANT_BOOST)
                add_synonyms(
                    synonyms.alternatives((near_word,)), FUZZY_VARIANT_BOOST * SYNONYM_BOOST
                )
        return _Alternatives(tuple(sorted(stems.items())), tuple(sorted(phrases.items())))

    def _word_scores(self, alternatives: _Alternatives) -> dict[int, float]:
        """Each document's score for one word: its best alternative's score.

        A phrase scores the sum of its words' scores, weighed, in the documents with all of them.
        """
        scores = self.view.word_scores(dict(alternatives.stems))
        if not alternatives.phrases:
            return scores

        def compute() -> dict[int, float]:
            merged = dict(scores)
            for phrase, weight in alternatives.phrases:
                parts = [self.view.word_scores({stem: weight}) for stem in phrase]
                for docnum in _members(self._phrase(phrase)):
                    score = sum(part.get(docnum, 0.0) for part in parts)
                    if score > merged.get(docnum, 0.0):
                        merged[docnum] = score
            return merged

        return self.view.cached(("word scores", alternatives), compute)

    def _vocabulary_within(self, word: str, distance: int) -> frozenset[str]:
        """Indexed words this many edits from the word, counting a swap of two neighbouring
        letters as one edit (Damerau), with the same first letter unless it was swapped."""

        def compute() -> frozenset[str]:
            # Whoosh walks each segment's word list with a Levenshtein automaton: a few ms.
            found: set[str] = set()
            for leaf, _offset, _segment in self.view.leaves:
                found.update(leaf.terms_within("spelling", word, distance, prefix=1))
            # Whoosh's automaton counts a swap ("anxeity") as two edits: try each swap as a word.
            reader = self.view.reader
            for at in range(len(word) - 1):
                swapped = word[:at] + word[at + 1] + word[at] + word[at + 2 :]
                if ("spelling", swapped) in reader:
                    found.add(swapped)
            found.discard(word)
            return frozenset(found)

        return self.view.cached(("vocabulary", word, distance), compute)

    def _suggestion(self, words: list[_Word]) -> str | None:
        """The text with each word that matches nothing replaced by the closest indexed word."""
        reader = self.view.reader
        changed = False
        corrected = []
        for word in words:
            if not word.stems:
                continue  # a phrase found in the synonyms: its words are there one by one
            known = not word.stems or bool(self._text_match([word], fuzzy=False).bits)
            replacement = None
            if not known and 1 < len(word.typed) <= FUZZY_MAX_LETTERS:
                for distance in (1, 2):  # the closest words first, then the most frequent
                    candidates = self._vocabulary_within(word.typed, distance)
                    if candidates:
                        replacement = max(
                            sorted(candidates),
                            key=lambda c: reader.doc_frequency("spelling", c),
                        )
                        break
            corrected.append(replacement or word.typed)
            changed = changed or replacement is not None
        return " ".join(corrected) if changed else None

    # Ranking ---------------------------------------------------------------------------------

    def _rank(
        self, selected: int, total: int, needed: int, text_match: _TextMatch | None
    ) -> list[tuple[int, float]]:
        """The first `needed` (docnum, score) pairs of the selected documents in sort order."""
        sort = self.query.sort
        if sort == "distance":
            return self._by_distance(selected, needed)
        if sort == "price" or text_match is None:
            return self._in_order(selected, total, needed, "price" if sort == "price" else "name")
        return self._by_relevance(selected, total, needed, text_match)

    def _in_order(
        self, selected: int, total: int, needed: int, kind: str
    ) -> list[tuple[int, float]]:
        view = self.view
        if total <= SMALL_RESULT:
            # Few enough to sort outright rather than walk the whole presorted order.
            names = view.column("name_key")
            if kind == "price":
                prices = view.column("min_price")
                key: Callable[[int], Any] = lambda d: (prices[d], names[d], d)  # noqa: E731
            else:
                key = lambda d: (names[d], d)  # noqa: E731
            return [(d, 0.0) for d in heapq.nsmallest(needed, _members(selected), key=key)]
        wanted = _Membership(selected)
        chosen = itertools.islice((d for d in view.in_order(kind) if d in wanted), needed)
        return [(d, 0.0) for d in chosen]

    def _by_distance(self, selected: int, needed: int) -> list[tuple[int, float]]:
        assert self.query.near is not None  # noqa: S101 - _normalised guarantees it
        east, north = self.query.near
        eastings = self.view.column("easting")
        northings = self.view.column("northing")
        names = self.view.column("name_key")

        def key(d: int) -> tuple[float, bytes, int]:
            if eastings[d] == NO_POINT:
                return (math.inf, names[d], d)  # no place: after every listing with one
            return ((eastings[d] - east) ** 2 + (northings[d] - north) ** 2, names[d], d)

        return [(d, 0.0) for d in heapq.nsmallest(needed, _members(selected), key=key)]

    def _by_relevance(
        self, selected: int, total: int, needed: int, text_match: _TextMatch
    ) -> list[tuple[int, float]]:
        per_word = [self._word_scores(variants) for variants in text_match.variants]
        if total * len(per_word) < WALK_SELECTED_BELOW * sum(len(scores) for scores in per_word):
            # Filters keep few of the matches: add up the words for those documents only.
            return _best(
                [(d, sum(scores.get(d, 0.0) for scores in per_word)) for d in _members(selected)],
                needed,
            )
        ranking = self.view.ranking(tuple(text_match.variants), per_word)
        if total == len(ranking):  # nothing filtered out
            chosen: Iterable[int] = ranking[:needed]
        else:
            wanted = _Membership(selected)
            chosen = itertools.islice((d for d in ranking if d in wanted), needed)
        # The same sum, in the same order, as _totals: the same floats, so the same ranks.
        return [(d, sum(scores.get(d, 0.0) for scores in per_word)) for d in chosen]

    def _hit(self, docnum: int, score: float) -> Hit:
        distance = None
        if self.query.near is not None:
            east = self.view.column("easting")[docnum]
            north = self.view.column("northing")[docnum]
            if east != NO_POINT:
                metres = math.hypot(east - self.query.near[0], north - self.query.near[1])
                distance = metres / METRES_PER_MILE
        return Hit(
            listing_id=self.view.listing_id(docnum),
            score=score,
            distance_miles=distance,
            nearby=None if self.nearby is None else docnum in self.nearby,
        )

    # Facets ----------------------------------------------------------------------------------

    def _facet_counts(self, base: int, filters: dict[str, int]) -> dict[str, dict[str, int]]:
        """Counts per value, each facet counted under every filter except its own.

        So choosing "advocacy" still shows how many listings each other category would give.
        """
        counts: dict[str, dict[str, int]] = {}
        for name in FACETS:
            scope = base
            for other, bits in filters.items():
                if other != name:
                    scope &= bits
            facet: dict[str, int] = {}
            if scope:
                for value, bits in self.view.facet(name).items():
                    count = (scope & bits).bit_count()
                    if count:
                        facet[value] = count
            for value in self._chosen(name):
                facet.setdefault(value, 0)  # a chosen value stays visible even at zero
            counts[name] = dict(sorted(facet.items(), key=lambda item: (-item[1], item[0])))
        return counts

    def _chosen(self, name: str) -> tuple[str, ...]:
        if name == DIRECT_PAYMENTS:
            return ("true",) if self.query.takes_direct_payments else ()
        return tuple(getattr(self.query, name))


def _totals(per_word: list[dict[int, float]]) -> dict[int, float]:
    """Each matching document's score for all the words: its words' scores added up."""
    totals = per_word[0]
    if len(per_word) > 1:
        totals = dict(totals)
        for scores in per_word[1:]:
            for d, score in scores.items():
                totals[d] = totals.get(d, 0.0) + score
    return totals


def _ranking_bytes(order: array) -> int:
    return len(order) * order.itemsize + 64


def _best(scored: Collection[tuple[int, float]], needed: int) -> list[tuple[int, float]]:
    """The top `needed` (docnum, score) pairs: highest score first, ties in index order.

    Ties are broken the same way on every page, so pages never overlap or leave gaps.
    """
    top = heapq.nlargest(needed, scored, key=itemgetter(1))  # a C-level key: fast on 100k
    if len(top) == needed:
        cut = top[-1][1]
        top = [pair for pair in scored if pair[1] >= cut]  # every pair tied at the cut
    top.sort(key=lambda pair: (-pair[1], pair[0]))
    return top[:needed]


def _stems(word: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(token.text for token in _STEMMING(word, mode="query")))


def _words(text: str) -> list[_Word]:
    """The distinct words of user input. Operators and punctuation are just separators here.

    A phrase that has synonyms ("low mood") is one more word, whose synonyms are searched for as
    well as its own words.
    """
    tokens: list[str] = []
    for token in _WORDS(text, mode="query"):
        tokens.append(token.text)
        if len(set(tokens)) >= MAX_QUERY_WORDS:
            break
    words: dict[str, _Word] = {}
    for typed in tokens:
        if typed not in words:
            words[typed] = _Word(typed, _stems(typed), synonyms.alternatives((typed,)))
    longest = synonyms.longest_phrase()
    for size in range(2, longest + 1):
        for start in range(len(tokens) - size + 1):
            phrase = tuple(tokens[start : start + size])
            alternatives = synonyms.alternatives(phrase)
            if alternatives and " ".join(phrase) not in words:
                words[" ".join(phrase)] = _Word(" ".join(phrase), (), alternatives)
    # Stop words ("the", "and", "or") carry nothing to search for.
    return [word for word in words.values() if word.stems or word.synonyms]
