"""Budget buddies: people who hold a personal budget helping newcomers who are starting out."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask


def init_app(app: Flask) -> None:
    """Pages, moderated kinds, "Your data", one-click actions and jobs of budget buddies."""
    from marketplace.buddies import (
        handover,
        hellos,
        jobs,
        link_actions,
        moderation_subject,
        profiles,
        question_routes,  # noqa: F401 - its question pages are routes of routes.bp
        routes,
        services,
        suggestion_routes,  # noqa: F401 - its pages are routes of routes.bp
    )
    from marketplace.jobs.registry import handler
    from marketplace.jobs.schedule import every

    app.register_blueprint(routes.bp)
    moderation_subject.register()
    profiles.register()
    hellos.register()
    services.register_privacy()
    services.on_ended_by_buddy(handover.offer_handover)
    link_actions.register_actions()
    handler("buddies.resume_due")(jobs.resume_due)
    every("buddies.resume_due", timedelta(hours=1))
    handler("buddies.tell_when_free")(jobs.tell_when_free)
    every("buddies.tell_when_free", timedelta(hours=1))
