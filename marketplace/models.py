"""Imports every model module so that Base.metadata knows every table."""

from __future__ import annotations


def import_all_models() -> None:
    """Import the model modules (for Alembic and for creating test schemas)."""
    import marketplace.audit
    import marketplace.auth.models
    import marketplace.buddies.models
    import marketplace.carers.models
    import marketplace.casework.models
    import marketplace.engagement.models
    import marketplace.jobs.models
    import marketplace.memberships.models
    import marketplace.moderation.models
    import marketplace.notifications.models
    import marketplace.organisations.models
    import marketplace.payments.models
    import marketplace.places.models
    import marketplace.pools.models
    import marketplace.providers.models
    import marketplace.receipts.models
    import marketplace.statements.models
    import marketplace.wellbeing.crisis_plan_models
    import marketplace.wellbeing.models  # noqa: F401
