"""Moderation: the queue, reports, decisions, alerts and escalation, safeguarding contacts."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register this package's pages, commands and hooks with the app."""
    from marketplace.jobs.registry import handler
    from marketplace.jobs.schedule import every
    from marketplace.moderation import (
        cli,
        decisions,
        jobs,
        limits,
        report_routes,
        reports,
        routes,
        services,
    )

    app.register_blueprint(routes.bp)
    app.register_blueprint(report_routes.bp)
    app.cli.add_command(cli.moderation_cli)
    # Registered here, not by the web layer, so that web never imports moderation.
    app.jinja_env.filters["message_text"] = limits.message_text
    reports.register()
    decisions.register()
    reports.register_privacy()
    decisions.register_privacy()
    handler(services.WATCH_JOB)(jobs.watch)
    every(services.WATCH_JOB, services.WATCH_EVERY)
