"""Run in child processes by test_search_processes: each writes its own listings to one shared
index directory, one commit per listing, reading each back as it goes (as gunicorn workers do
when listings are published while people search)."""

from __future__ import annotations

from typing import Any

from marketplace.providers.search import ListingDocument, SearchIndex, SearchQuery

PER_WRITER = 15


def word_for(listing_id: int) -> str:
    """A made-up word only this listing's document contains."""
    return f"zebwort{listing_id:05d}"


def document(listing_id: int) -> ListingDocument:
    return ListingDocument(
        id=listing_id,
        name=f"Peer support group {word_for(listing_id)}",
        summary="Meet people who understand, once a week.",
        description="A friendly group run by people with lived experience.",
        organisation=f"Organisation {listing_id % 3}",
        tags=("peer support",),
        categories=("peer-support",),
        delivery_modes=("in_person",),
        languages=("en",),
        communities=(),
        councils=("E08000035",),
        takes_direct_payments=bool(listing_id % 2),
        min_price_pence=1000 + listing_id,
        easting=None,
        northing=None,
    )


def ids_for(writer: int) -> list[int]:
    return [writer * 1000 + n for n in range(1, PER_WRITER + 1)]


def write_and_read(directory: str, writer: int, start: Any, results: Any) -> None:
    """Index this writer's listings one commit at a time, once every writer is ready; put
    (writer, ids it could not find again straight after writing them) on `results`."""
    index = SearchIndex(directory)
    missing = []
    try:
        start.wait(timeout=60)  # all writers begin together, so their commits interleave
        for listing_id in ids_for(writer):
            index.upsert([document(listing_id)])
            found = index.search(SearchQuery(text=word_for(listing_id)))
            if listing_id not in [hit.listing_id for hit in found.hits]:
                missing.append(listing_id)
    finally:
        index.close()
        results.put((writer, missing))
