"""Low-energy participation: one-click email links, fewer emails, weekly digests, and quiet
while someone is on a break (only emails about money that is due still go out)."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register this package's pages, commands and hooks with the app."""
    from marketplace.notifications import actions, digest, privacy_hooks, routes

    app.register_blueprint(routes.bp)
    # Registered when imported: digest, actions, privacy_hooks.
    del digest, actions, privacy_hooks
