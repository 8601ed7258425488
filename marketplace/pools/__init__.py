"""Pools: holders jointly commissioning a service, all or nothing."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Pages, commands, moderated kinds and one-click actions of pools."""
    from marketplace.pools import cli, funding, link_actions, moderation_subject, routes

    app.register_blueprint(routes.bp)
    app.cli.add_command(cli.pools_cli)
    moderation_subject.register()
    link_actions.register_actions()
    # Registered when imported: funding.
    del funding
