"""Several worker processes writing and reading one Whoosh index directory at the same time."""

from __future__ import annotations

import multiprocessing

from marketplace.providers.search import SearchIndex, SearchQuery
from tests.ops.index_writers import PER_WRITER, ids_for, word_for, write_and_read

WRITERS = 4


def test_four_processes_writing_at_once_lose_no_listing(tmp_path):
    directory = str(tmp_path / "index")
    SearchIndex(directory).close()  # created once, as the app does before workers start

    # spawn: a fresh interpreter per worker, like gunicorn's workers (and no forked threads).
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(WRITERS)
    results = context.Queue()
    writers = [
        context.Process(target=write_and_read, args=(directory, w, start, results))
        for w in range(WRITERS)
    ]
    for process in writers:
        process.start()
    missing = dict(results.get(timeout=120) for _ in writers)
    for process in writers:
        process.join(timeout=30)

    assert [process.exitcode for process in writers] == [0] * WRITERS
    # Each writer found each of its listings straight after writing it, whoever wrote between.
    assert missing == {w: [] for w in range(WRITERS)}
    index = SearchIndex(directory)
    try:
        expected = sorted(i for w in range(WRITERS) for i in ids_for(w))
        assert index.doc_count() == WRITERS * PER_WRITER
        everything = index.search(SearchQuery(per_page=100))
        assert everything.total == len(expected)
        assert sorted(hit.listing_id for hit in everything.hits) == expected
        for listing_id in expected:
            hits = index.search(SearchQuery(text=word_for(listing_id))).hits
            assert hits and hits[0].listing_id == listing_id, listing_id
    finally:
        index.close()
