"""Payments: the only package that talks to Stripe."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register this package's pages, commands and hooks with the app."""
    from marketplace.payments import cli, routes, services

    app.register_blueprint(routes.bp)
    app.cli.add_command(cli.payments_cli)
    services.register()
