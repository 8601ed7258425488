"""The provider directory: listings, search, the Open Referral UK API."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """The directory's pages, its API, its moderated kinds and its search index job."""
    from marketplace.jobs.registry import handler
    from marketplace.providers import api, csv_routes, jobs, manage_routes, routes, services

    app.register_blueprint(routes.bp)
    app.register_blueprint(manage_routes.bp)
    app.register_blueprint(csv_routes.bp)
    app.register_blueprint(api.bp)
    handler("search.index_listings")(jobs.index_listings)
    # Registered when imported (moderation kinds): services.
    del services
