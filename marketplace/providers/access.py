"""Who may see and change which listing."""

from __future__ import annotations

from flask import abort
from flask_login import current_user

from marketplace.extensions import db
from marketplace.organisations import services as organisations
from marketplace.organisations.models import Organisation, OrganisationKind
from marketplace.providers import services
from marketplace.providers.models import Listing


def listing_for_staff_or_404(listing_id: int) -> Listing:
    """A listing the signed-in person works on; 404 for anyone else (no hint it exists)."""
    listing = db.session.get(Listing, listing_id)
    if listing is None:
        abort(404)
    if not services.can_manage(db.session, current_user, listing):
        abort(404)
    return listing


def provider_org_for_staff_or_404(org_id: int) -> Organisation:
    """An approved provider organisation the signed-in person works for."""
    org = db.session.get(Organisation, org_id)
    if org is None:
        abort(404)
    if org.kind != OrganisationKind.PROVIDER.value:
        abort(404)
    if not organisations.is_staff(db.session, current_user, org):
        abort(404)
    return org
