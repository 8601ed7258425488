"""The provider directory: listings, search, the Open Referral UK API."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask


def init_app(app: Flask) -> None:
    """The directory's pages, its API, its moderated kinds, its search index job and
    the daily reminder to check listings."""
    from marketplace.jobs.registry import handler
    from marketplace.jobs.schedule import every
    from marketplace.providers import (
        api,
        checks,
        csv_routes,
        jobs,
        manage_routes,
        moderation_routes,
        moderation_subject,
        routes,
    )

    app.register_blueprint(routes.bp)
    # A global, not a context variable, so that the shared listing macro sees it.
    app.add_template_global(checks.is_out_of_date, "listing_out_of_date")
    app.register_blueprint(manage_routes.bp)
    app.register_blueprint(csv_routes.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(moderation_routes.bp)
    moderation_subject.register()
    handler("search.index_listings")(jobs.index_listings)
    handler("providers.check_reminders")(jobs.check_reminders)
    every("providers.check_reminders", timedelta(days=1))
