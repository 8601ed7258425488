"""Wellbeing controls: taking a break from everything at once, crisis plans, gentler emails."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask


def init_app(app: Flask) -> None:
    """Pages, and what a break does to everything else: wellbeing sits above the features it
    pauses, so it installs its rules into them here."""
    from marketplace.buddies import handover
    from marketplace.buddies import services as buddies
    from marketplace.jobs.registry import handler
    from marketplace.jobs.schedule import every
    from marketplace.notifications import digest
    from marketplace.wellbeing import break_routes, breaks, crisis_plan_routes, crisis_plans, jobs

    app.register_blueprint(break_routes.bp)
    app.register_blueprint(crisis_plan_routes.bp)
    digest.set_break_check(breaks.is_holding_emails)
    handover.set_hold_while_away(breaks.hold_buddy_request)
    buddies.set_pause_holder(breaks.pause_held_by)
    breaks.on_break_started(crisis_plans.on_break_started)
    breaks.add_plan_items(crisis_plans.break_plan_items)
    breaks.on_break_ended(crisis_plans.on_break_ended)
    breaks.on_break_ended(handover.on_break_ended)
    breaks.on_break_ended(breaks.send_kept_emails)
    breaks.register_privacy()
    crisis_plans.register_privacy()
    handler("wellbeing.end_due_breaks")(jobs.end_due_breaks)
    every("wellbeing.end_due_breaks", timedelta(hours=1))
