"""Your account pages."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register this package's pages, commands and hooks with the app."""
    from marketplace.account import routes
    from marketplace.auth.services import erase_sign_in_links
    from marketplace.privacy.services import register_eraser

    app.register_blueprint(routes.bp)
    # Auth sits below privacy, so the account pages (above both) add its eraser step.
    register_eraser(erase_sign_in_links)
