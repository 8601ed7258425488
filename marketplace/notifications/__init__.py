"""Low-energy participation: one-click email links, fewer emails, weekly digests, and quiet
while someone is on a break (only emails about money that is due still go out)."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask


def init_app(app: Flask) -> None:
    """Pages, the email router (people's choices), the one-click action it owns, its jobs."""
    from marketplace import email
    from marketplace.jobs.registry import handler
    from marketplace.jobs.schedule import every
    from marketplace.notifications import actions, digest, jobs, privacy_hooks, routes

    app.register_blueprint(routes.bp)
    email.set_router(digest.route)
    actions.register_actions()
    privacy_hooks.register()
    handler("notifications.send_digests", commits=True)(jobs.send_digests)
    handler("notifications.send_digest")(jobs.send_digest)
    # Epoch-aligned weeks begin on Thursdays at 00:00 UTC (1 January 1970 was a Thursday).
    every("notifications.send_digests", timedelta(days=7))
