"""Pools: holders jointly commissioning a service, all or nothing."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register this package's pages, commands and hooks with the app."""
    from marketplace.pools import cli, funding, moderation_subject, routes

    app.register_blueprint(routes.bp)
    app.cli.add_command(cli.pools_cli)
    moderation_subject.register()
    # Registered when imported: funding.
    del funding
