"""Wellbeing controls: taking a break from everything at once, crisis plans, gentler emails."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register this package's pages, commands and hooks with the app."""
    from marketplace.wellbeing import break_routes, breaks, crisis_plan_routes, crisis_plans

    app.register_blueprint(break_routes.bp)
    app.register_blueprint(crisis_plan_routes.bp)
    # Registered when imported: breaks, crisis_plans.
    del breaks, crisis_plans
