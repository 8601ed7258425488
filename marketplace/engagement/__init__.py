"""Engagement with the directory: shortlists, enquiries to providers, and reviews."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Pages, moderated kinds and "Your data" of shortlists, enquiries and reviews."""
    from marketplace.engagement import moderation_subject, routes, services

    app.register_blueprint(routes.bp)
    moderation_subject.register()
    services.register_privacy()
