"""The index follows commits, not SAVEPOINT releases inside a transaction that is still open."""

from __future__ import annotations

from marketplace.providers import services
from marketplace.providers.models import ListingStatus
from tests.listing_helpers import listing_data, provider_with_staff


def test_a_savepoint_inside_a_transaction_does_not_index_before_the_commit(
    app, db_session, council
):
    index = app.extensions["search_index"]
    org, staff, _ = provider_with_staff(council)
    with app.app_context():  # the index hook runs only in an app, as in a request
        listing = services.create_listing(db_session, staff, org, listing_data(db_session, council))
        listing.status = ListingStatus.PUBLISHED.value
        db_session.flush()
        with db_session.begin_nested():  # e.g. a service trying something it may undo
            pass
        assert index.doc_count() == 0  # nothing is committed yet, so nothing is searchable
        db_session.commit()
        assert index.doc_count() == 1
