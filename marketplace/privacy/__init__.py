"""Your data: export and erasure (features register exporters and erasers)."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register this package's pages, commands and hooks with the app."""
    from marketplace.privacy import routes, services

    app.register_blueprint(routes.bp)
    services.register_privacy()
