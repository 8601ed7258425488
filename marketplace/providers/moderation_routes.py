"""A moderator hides a published listing, or shows it again (moderation's page for it)."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from marketplace.auth.access import moderator_required
from marketplace.extensions import db
from marketplace.providers import services
from marketplace.providers.forms import ReasonForm
from marketplace.providers.models import Listing
from marketplace.web.actions import form_action

# Same URL as before, under /moderation; it lives here because it changes a listing.
bp = Blueprint("listing_moderation", __name__, url_prefix="/moderation")


@bp.route("/listings/<int:listing_id>/<any(hide, show):action>", methods=["GET", "POST"])
@moderator_required
def listing_visibility(listing_id: int, action: str) -> str | Response:
    listing = db.session.get(Listing, listing_id)
    if listing is None:
        abort(404)
    form = ReasonForm()
    if form.validate_on_submit():
        done = form_action(
            form,
            lambda: services.set_hidden(
                db.session, current_user, listing, action == "hide", form.reason.data or ""
            ),
            fallback="reason",
        )
        if done.ok:
            flash("Listing hidden" if action == "hide" else "Listing shown again", "success")
            return redirect(url_for("moderation.queue"))
    return render_template(
        "moderation/listing_visibility.html", listing=listing, form=form, action=action
    )
