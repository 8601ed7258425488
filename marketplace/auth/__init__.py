"""Accounts: registering, signing in, passwords, second factor, access rules."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask


def init_app(app: Flask) -> None:
    """Register this package's pages, commands and hooks with the app."""
    from marketplace.auth import jobs, routes
    from marketplace.jobs.registry import handler
    from marketplace.jobs.schedule import every

    app.register_blueprint(routes.bp)
    handler("auth.purge_expired_links")(jobs.purge_expired_links)
    every("auth.purge_expired_links", timedelta(hours=1))
