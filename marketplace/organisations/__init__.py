"""Providers and user-led organisations, and their staff."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register this package's pages, commands and hooks with the app."""
    from marketplace.auth import display_names
    from marketplace.organisations import moderation_subject, privacy_hooks, routes, services

    app.register_blueprint(routes.bp)
    display_names.add_reserved_names(services.all_organisation_names)
    privacy_hooks.register()
    moderation_subject.register()
