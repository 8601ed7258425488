"""Engagement with the directory: shortlists, enquiries to providers, and reviews."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register this package's pages, commands and hooks with the app."""
    from marketplace.engagement import moderation_subject, routes, services

    app.register_blueprint(routes.bp)
    moderation_subject.register()
    # Registered when imported: services (exporter, eraser).
    del services
