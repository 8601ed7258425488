"""Carers acting for a holder, with the holder's consent and a record of what they did."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register this package's pages, commands and hooks with the app."""
    from marketplace.carers import privacy_hooks, routes

    app.register_blueprint(routes.bp)
    privacy_hooks.register()
