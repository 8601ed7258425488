"""The provider directory: listings, search, the Open Referral UK API."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """The directory's pages, its API, its moderated kinds and its search index job."""
    from marketplace.jobs.registry import handler
    from marketplace.providers import (
        api,
        csv_routes,
        jobs,
        manage_routes,
        moderation_routes,
        moderation_subject,
        routes,
    )

    app.register_blueprint(routes.bp)
    app.register_blueprint(manage_routes.bp)
    app.register_blueprint(csv_routes.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(moderation_routes.bp)
    moderation_subject.register()
    handler("search.index_listings")(jobs.index_listings)
