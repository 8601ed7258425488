"""Pools: holders jointly commissioning a service, all or nothing."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask


def init_app(app: Flask) -> None:
    """Pages, commands, moderated kinds, one-click actions and jobs of pools."""
    from marketplace.jobs.registry import handler
    from marketplace.jobs.schedule import every
    from marketplace.pools import (
        cli,
        funding,
        invoice_routes,
        jobs,
        link_actions,
        moderation_subject,
        receipt_lines,
        routes,
    )

    app.register_blueprint(routes.bp)
    app.register_blueprint(invoice_routes.bp)
    app.cli.add_command(cli.pools_cli)
    moderation_subject.register()
    link_actions.register_actions()
    # Collecting money commits as it goes (each claim before Stripe), hence commits=True.
    handler(jobs.FUND, commits=True)(jobs.fund)
    handler(jobs.CHARGE_DUE, commits=True)(jobs.charge_due)
    every(jobs.CHARGE_DUE, timedelta(minutes=15))
    # Votes close by themselves when their window ends; commits after each pool, like charging.
    handler(jobs.VOTES, commits=True)(jobs.votes)
    every(jobs.VOTES, timedelta(minutes=15))
    # Invoices are raised as shares are invoiced; this job reminds, and applies the grace rule.
    handler(jobs.CHASE_INVOICES, commits=True)(jobs.chase_invoices)
    every(jobs.CHASE_INVOICES, timedelta(hours=1))
    funding.register_webhooks()
    receipt_lines.register()
