"""The home page and the guides."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register this package's pages, commands and hooks with the app."""
    from marketplace.pages import routes

    app.register_blueprint(routes.bp)
