"""Your commitments: one page listing everything a person has agreed to (pools, buddies,
memberships, help), for them and for a carer they let see it. Sits above the features it
reads; nothing imports it."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """The page."""
    from marketplace.commitments import routes

    app.register_blueprint(routes.bp)
