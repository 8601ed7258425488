"""Budget buddies: people who hold a personal budget helping newcomers who are starting out."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register this package's pages, commands and hooks with the app."""
    from marketplace.buddies import handover, moderation_subject, routes, services

    app.register_blueprint(routes.bp)
    moderation_subject.register()
    # Registered when imported: services (exporter, eraser), handover.
    del services, handover
