"""Keeps the search index in step with the database, and the `flask search` commands.

Listings are (re)indexed when the transaction that changed them commits, never before: a rolled
back change must not reach the index, and an unpublished listing must never be found. During a
transaction we only note in the outbox (marketplace/outbox.py) which listings were touched; after
the commit its runner loads each one afresh and indexes it if it is published, or removes it if
it is not (or no longer exists).

The hooks sit on the sessionmaker behind ``marketplace.extensions.db.scoped``, once per process,
and find the index through ``current_app``; so several apps in one process (as in tests) each
keep their own index.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from itertools import islice
from typing import Any

import click
from flask import Flask, current_app, has_app_context
from flask.cli import AppGroup
from sqlalchemy import event, func, select
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session

from marketplace import outbox
from marketplace.extensions import db
from marketplace.ops import health
from marketplace.organisations.models import Organisation
from marketplace.places.models import Council
from marketplace.providers.models import (
    Category,
    Listing,
    ListingPrice,
    ListingStatus,
    listing_categories,
    listing_councils,
)
from marketplace.providers.search import (
    ListingDocument,
    SearchIndex,
    document_from_listing,
    listing_document,
)

log = logging.getLogger(__name__)

EXTENSION_KEY = "search_index"
OUTBOX_KIND = "search-index"
BATCH = 500

search_cli = AppGroup("search", help="The directory's full-text search index.")


def init_app(app: Flask) -> None:
    """Open the app's index, hook index updates onto commits, and add `flask search`."""
    app.extensions[EXTENSION_KEY] = SearchIndex(app.config["SEARCH_INDEX_DIR"])
    listen(db.scoped.session_factory)
    register_cli(app)
    health.register_check("search_index", check_search_index)


def register_cli(app: Flask) -> None:
    """Add the `flask search` command group."""
    app.cli.add_command(search_cli)


def check_search_index() -> None:
    """Readiness: raise unless the search index's latest generation opens for reading."""
    get_index().doc_count()


def get_index() -> SearchIndex:
    """The current app's search index."""
    return current_app.extensions[EXTENSION_KEY]


# ---------------------------------------------------------------------------------------------
# Session hooks: which listings a transaction touched, noted in the outbox


def listen(target: Any) -> None:
    """Hook the index updates onto a sessionmaker (or Session class); repeated calls do nothing."""
    for name, function in _HOOKS:
        if not event.contains(target, name, function):
            event.listen(target, name, function)


def _pending(session: Session) -> set[int]:
    """The listing ids this transaction touched: the `what` of its one outbox note, whose work
    (run after the commit) reads the set as it is by then."""
    noted = outbox.waiting(session, OUTBOX_KIND)
    if noted:
        ids: set[int] = noted[0]
        return ids
    ids = set()
    outbox.note(
        session, (OUTBOX_KIND,), lambda own: _index_after_commit(own, ids), ids, at_commit=True
    )
    return ids


def _before_flush(session: Session, _flush_context: Any, _instances: Any) -> None:
    # An organisation's name is in its listings' documents, and a category's slug is a facet
    # value. Their listings are found now, while the rows still exist: deleting an organisation
    # deletes its listings by ON DELETE CASCADE, which the session never sees.
    organisations = [
        obj.id
        for obj in (*session.dirty, *session.deleted)
        if isinstance(obj, Organisation) and obj.id is not None
    ]
    categories = [
        obj.id
        for obj in (*session.dirty, *session.deleted)
        if isinstance(obj, Category) and obj.id is not None
    ]
    if not organisations and not categories:
        return
    with session.no_autoflush:
        if organisations:
            _pending(session).update(
                session.scalars(
                    select(Listing.id).where(Listing.organisation_id.in_(organisations))
                )
            )
        if categories:
            _pending(session).update(
                session.scalars(
                    select(listing_categories.c.listing_id).where(
                        listing_categories.c.category_id.in_(categories)
                    )
                )
            )


def _after_flush(session: Session, _flush_context: Any) -> None:
    # After the flush new listings have their ids; the collections still list what changed.
    pending = None
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, Listing):
            listing_id = obj.id
        elif isinstance(obj, ListingPrice):
            listing_id = obj.listing_id
        else:
            continue
        if listing_id is not None:
            pending = _pending(session) if pending is None else pending
            pending.add(listing_id)


def _before_commit(session: Session) -> None:
    # SEARCH_INDEX_DELIVERY = "queue": the update becomes a job in this very transaction, run by
    # `flask worker` once it has committed; the outbox note then finds nothing to do.
    if not has_app_context() or current_app.config.get("SEARCH_INDEX_DELIVERY") != "queue":
        return
    nested = session.get_nested_transaction()
    if nested is not None and nested.parent is not None:
        return  # a SAVEPOINT released: wait for the outer commit
    session.flush()  # changes still unflushed reach _after_flush now, not after this hook
    noted = outbox.waiting(session, OUTBOX_KIND)
    listing_ids: set[int] = noted[0] if noted else set()
    if listing_ids:
        from marketplace.jobs.services import enqueue

        enqueue(session, "search.index_listings", {"ids": sorted(listing_ids)})
        listing_ids.clear()


def _index_after_commit(session: Session, listing_ids: set[int]) -> None:
    if not listing_ids:
        return
    index = current_app.extensions.get(EXTENSION_KEY)
    if index is None:
        return
    try:
        # Our own session sees what was just committed (in tests, inside the test transaction).
        sync_listings(index, session.connection(), listing_ids)
    except Exception:
        # The data is committed whatever happens here; failing the request would not undo it.
        current_app.logger.exception(
            "Search index not updated for listings %s; run `flask search rebuild`",
            sorted(listing_ids),
        )


_HOOKS = (
    ("before_flush", _before_flush),
    ("after_flush", _after_flush),
    ("before_commit", _before_commit),
)


# ---------------------------------------------------------------------------------------------
# Loading listings


def _batches(values: Iterable[int], size: int = BATCH) -> Iterator[list[int]]:
    iterator = iter(values)
    while batch := list(islice(iterator, size)):
        yield batch


def sync_listings(
    index: SearchIndex, bind: Engine | Connection, listing_ids: Iterable[int]
) -> None:
    """Index these listings as the database now has them: published in, everything else out."""
    wanted = sorted(set(listing_ids))
    documents: list[ListingDocument] = []
    with Session(bind=bind) as session:
        for batch in _batches(wanted):
            for listing in session.scalars(select(Listing).where(Listing.id.in_(batch))):
                if listing.is_published:
                    documents.append(document_from_listing(listing))
    published = {document.id for document in documents}
    index.remove(listing_id for listing_id in wanted if listing_id not in published)
    index.upsert(documents)


def published_documents(bind: Engine | Connection) -> Iterator[ListingDocument]:
    """Every published listing as a document, loaded a batch at a time.

    With plain column queries, four a batch (the listings with their organisations' names, the
    category slugs, the council codes, the cheapest price options), not ORM objects: building
    a Listing with all its columns and relationships cost more than indexing it.
    """
    with Session(bind=bind) as session:
        ids = session.scalars(
            select(Listing.id)
            .where(Listing.status == ListingStatus.PUBLISHED.value)
            .order_by(Listing.id)
        ).all()
        for batch in _batches(ids):
            yield from _documents(session, batch)


def _documents(session: Session, ids: list[int]) -> Iterator[ListingDocument]:
    categories = _grouped(
        session.execute(
            select(listing_categories.c.listing_id, Category.slug)
            .join(Category, Category.id == listing_categories.c.category_id)
            .where(listing_categories.c.listing_id.in_(ids))
            .order_by(Category.position, Category.id)
        )
    )
    councils = _grouped(
        session.execute(
            select(listing_councils.c.listing_id, Council.code)
            .join(Council, Council.id == listing_councils.c.council_id)
            .where(listing_councils.c.listing_id.in_(ids))
            .order_by(Council.name, Council.id)
        )
    )
    cheapest: dict[int, int] = dict(
        session.execute(
            select(ListingPrice.listing_id, func.min(ListingPrice.amount_pence))
            .where(ListingPrice.listing_id.in_(ids))
            .group_by(ListingPrice.listing_id)
        ).all()
    )
    rows = session.execute(
        select(
            Listing.id,
            Listing.name,
            Listing.summary,
            Listing.description,
            Organisation.name,
            Listing.tags,
            Listing.delivery_modes,
            Listing.languages,
            Listing.communities,
            Listing.takes_direct_payments,
            Listing.min_price_pence,
            Listing.easting,
            Listing.northing,
            Listing.serves_nationally,
        )
        .outerjoin(Organisation, Organisation.id == Listing.organisation_id)
        .where(Listing.id.in_(ids))
        .order_by(Listing.id)
    )
    split = Listing.split
    for (
        listing_id,
        name,
        summary,
        description,
        organisation,
        tags,
        delivery_modes,
        languages,
        communities,
        takes_direct_payments,
        min_price_pence,
        easting,
        northing,
        serves_nationally,
    ) in rows:
        yield listing_document(
            id=listing_id,
            name=name,
            summary=summary,
            description=description,
            organisation=organisation,
            tags=split(tags or ""),
            categories=categories.get(listing_id, ()),
            delivery_modes=split(delivery_modes or ""),
            languages=split(languages or ""),
            communities=split(communities or ""),
            councils=councils.get(listing_id, ()),
            takes_direct_payments=takes_direct_payments,
            min_price_pence=min_price_pence,
            cheapest_option_pence=cheapest.get(listing_id),
            easting=easting,
            northing=northing,
            serves_nationally=serves_nationally,
        )


def _grouped(rows: Iterable[Any]) -> dict[int, list[str]]:
    grouped: dict[int, list[str]] = {}
    for listing_id, value in rows:
        grouped.setdefault(listing_id, []).append(value)
    return grouped


def rebuild_from_database(index: SearchIndex | None = None, processes: int = 1) -> int:
    """Replace the index with every published listing; returns how many were indexed."""
    index = index or get_index()
    return index.rebuild(published_documents(db.session.get_bind()), processes=processes)


@search_cli.command("rebuild")
@click.option(
    "--processes",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Analyse listings in this many processes (for very large directories).",
)
def rebuild_command(processes: int) -> None:
    """Rebuild the search index from all published listings."""
    count = rebuild_from_database(processes=processes)
    click.echo(f"Indexed {count} published listings.")
