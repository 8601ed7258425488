"""Statements: a person's money records for their council (pools and membership fees, with
refunds and where the money went), and each provider's payout ledger."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register this package's pages and privacy hooks with the app."""
    from marketplace.statements import privacy_hooks, routes

    app.register_blueprint(routes.bp)
    privacy_hooks.register()
