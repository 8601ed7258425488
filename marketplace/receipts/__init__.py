"""Receipts: every successful payment (a pool share, a membership fee) gets a numbered receipt."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Pages, the command, "Your data" and the periodic job of receipts. What each kind of
    receipt says is registered by the package that owns the payment (see registry)."""
    from marketplace.jobs.registry import handler
    from marketplace.jobs.schedule import every
    from marketplace.receipts import cli, jobs, routes, services

    app.register_blueprint(routes.bp)
    app.cli.add_command(cli.receipts_cli)
    services.register_privacy()
    handler(services.JOB, commits=True)(jobs.issue)
    every(services.JOB, services.EVERY)
