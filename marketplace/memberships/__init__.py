"""ULO memberships: a monthly fee (a Stripe subscription) or reciprocity (time given back, kept in
a double-entry time ledger), help requests that reciprocity members can take, and the ULO's view."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask


def init_app(app: Flask) -> None:
    """Pages, commands, moderated kinds, "Your data", webhooks, one-click actions and jobs of
    memberships."""
    from marketplace.jobs.registry import handler
    from marketplace.jobs.schedule import every
    from marketplace.memberships import (
        cli,
        jobs,
        link_actions,
        moderation_subject,
        privacy_hooks,
        receipt_lines,
        routes,
        services,
    )

    app.register_blueprint(routes.bp)
    app.cli.add_command(cli.memberships_cli)
    moderation_subject.register()
    privacy_hooks.register_privacy()
    services.register_webhooks()
    link_actions.register_actions()
    receipt_lines.register()
    handler("memberships.run_jobs", commits=True)(jobs.run_jobs)
    handler(jobs.STOP_SUBSCRIPTION, commits=True)(jobs.stop_subscription)
    every("memberships.run_jobs", timedelta(hours=1))
