"""Moderation pages for ULO staff and admins (second factor required)."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_login import current_user
from werkzeug.wrappers import Response
from wtforms import SelectChoice

from marketplace.auth.access import moderator_required
from marketplace.buddies import moderation_subject as buddies
from marketplace.carers.forms import ConfirmForm
from marketplace.engagement import services as engagement
from marketplace.errors import DomainError, NotAllowed
from marketplace.extensions import db
from marketplace.moderation import reports, services
from marketplace.moderation.forms import DecideForm
from marketplace.moderation.models import Decision, ModerationItem
from marketplace.pools import moderation_subject as pools
from marketplace.providers import services as providers
from marketplace.providers.forms import ReasonForm
from marketplace.providers.models import Listing
from marketplace.web.forms import add_error

bp = Blueprint("moderation", __name__, url_prefix="/moderation")


def _item_or_404(item_id: int) -> ModerationItem:
    try:
        return services.get_for_moderator(db.session, current_user, item_id)
    except NotAllowed:
        abort(404)


@bp.route("")
@moderator_required
def queue() -> str:
    return render_template(
        "moderation/queue.html",
        items=services.queue_for(db.session, current_user),
        kind_label=services.kind_label,
        is_overdue=services.is_overdue,
    )


def _subject(item: ModerationItem) -> dict[str, object]:
    """What the moderator needs to see to decide."""
    if item.item_type in (providers.ITEM_LISTING, providers.ITEM_LISTING_EDIT):
        listing = db.session.get(Listing, item.item_id)
        proposed = (
            providers.ListingData.from_json(listing.pending_changes)
            if listing is not None and listing.pending_changes
            else None
        )
        return {"listing": listing, "proposed": proposed}
    if item.item_type in (engagement.ITEM_REVIEW, engagement.ITEM_REVIEW_REPLY):
        return engagement.moderation_subject(db.session, item)
    return {
        **reports.report_for_item(db.session, item),
        **buddies.moderation_subject(db.session, item),
        **pools.moderation_subject(db.session, item),
    }


@bp.route("/items/<int:item_id>", methods=["GET", "POST"])
@moderator_required
def item(item_id: int) -> str | Response:
    entry = _item_or_404(item_id)
    form = DecideForm()
    approve, reject = services.decision_labels(entry.item_type)
    form.decision.choices = [
        SelectChoice(Decision.APPROVE.value, approve),
        SelectChoice(Decision.REJECT.value, reject),
    ]
    if form.validate_on_submit():
        try:
            services.decide(
                db.session,
                current_user,
                entry,
                Decision(form.decision.data),
                form.reason.data or "",
            )
        except DomainError as error:
            db.session.rollback()
            add_error(form, error, fallback_field="decision")
        else:
            db.session.commit()
            flash("Decision saved", "success")
            return redirect(url_for("moderation.queue"))
    return render_template(
        "moderation/item.html",
        entry=entry,
        form=form,
        confirm=ConfirmForm(),
        kind_label=services.kind_label,
        **_subject(entry),
    )


@bp.route("/items/<int:item_id>/claim", methods=["POST"])
@moderator_required
def claim(item_id: int) -> Response:
    entry = _item_or_404(item_id)
    if ConfirmForm().validate_on_submit():
        try:
            services.claim(db.session, current_user, entry)
        except DomainError as error:
            flash(error.message, "error")
        else:
            db.session.commit()
            flash("You are dealing with this now", "success")
    return redirect(url_for("moderation.item", item_id=entry.id))


@bp.route("/listings/<int:listing_id>/<any(hide, show):action>", methods=["GET", "POST"])
@moderator_required
def listing_visibility(listing_id: int, action: str) -> str | Response:
    listing = db.session.get(Listing, listing_id)
    if listing is None:
        abort(404)
    form = ReasonForm()
    if form.validate_on_submit():
        try:
            providers.set_hidden(
                db.session, current_user, listing, action == "hide", form.reason.data or ""
            )
        except NotAllowed:
            abort(403)
        except DomainError as error:
            add_error(form, error, fallback_field="reason")
        else:
            db.session.commit()
            flash("Listing hidden" if action == "hide" else "Listing shown again", "success")
            return redirect(url_for("moderation.queue"))
    return render_template(
        "moderation/listing_visibility.html", listing=listing, form=form, action=action
    )
