"""Pools: holders jointly commissioning a service, all or nothing."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register this package's pages, commands and hooks with the app."""
    from marketplace.jobs.registry import handler
    from marketplace.pools import cli, funding, jobs, quotes, routes, services

    app.register_blueprint(routes.bp)
    app.cli.add_command(cli.pools_cli)
    # Collecting money commits as it goes (each claim before Stripe), hence commits=True.
    handler(jobs.FUND, commits=True)(jobs.fund)
    handler(jobs.CHARGE_DUE, commits=True)(jobs.charge_due)
    # Registered when imported: services, quotes, funding.
    del services, quotes, funding
