"""ULO memberships: a monthly fee (a Stripe subscription) or reciprocity (time given back, kept in
a double-entry time ledger), help requests that reciprocity members can take, and the ULO's view."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register this package's pages, commands and hooks with the app."""
    from marketplace.memberships import cli, moderation_subject, privacy_hooks, routes, services

    app.register_blueprint(routes.bp)
    app.cli.add_command(cli.memberships_cli)
    moderation_subject.register()
    # Registered when imported: services, privacy_hooks.
    del services, privacy_hooks
