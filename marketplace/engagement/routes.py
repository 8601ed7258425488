"""Shortlist, enquiry and review pages, and the panel on each public service page."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_login import current_user, login_required
from werkzeug.wrappers import Response
from wtforms import SelectChoice

from marketplace.auth.access import current_person
from marketplace.auth.models import User
from marketplace.carers import acting
from marketplace.carers.acting import chosen_holder
from marketplace.engagement import services
from marketplace.engagement.forms import (
    EnquiryForm,
    MessageForm,
    ReviewForm,
    ReviewReplyForm,
    ShortlistForm,
)
from marketplace.engagement.models import Enquiry, Review, ShortlistEntry, Side
from marketplace.errors import DomainError, NotAllowed
from marketplace.extensions import db
from marketplace.moderation import crisis
from marketplace.providers import services as providers
from marketplace.providers.models import Listing
from marketplace.web.actions import form_action
from marketplace.web.forms import ConfirmForm, failed
from marketplace.web.redirects import safe_next

bp = Blueprint("engagement", __name__)


def _published_or_404(listing_id: int) -> Listing:
    listing = providers.published_listing(db.session, listing_id)
    if listing is None:
        abort(404)
    return listing


def _enquiry_or_404(enquiry_id: int) -> Enquiry:
    try:
        return services.get_enquiry_for(db.session, current_person(), enquiry_id)
    except NotAllowed:
        abort(404)


@bp.app_context_processor
def _engagement() -> dict[str, Any]:
    """`engagement_for(listing)`: shortlist state, enquiries and reviews for the service page."""

    def engagement_for(listing: Listing) -> services.ServicePanel:
        user = current_person() if current_user.is_authenticated else None
        return services.service_panel(db.session, user, listing)

    return {"engagement_for": engagement_for}


# --- Shortlist ----------------------------------------------------------------------------


def _holder_name(holder_id: int | None) -> str:
    if holder_id is None:
        return "your"
    holder = db.session.get(User, holder_id)
    return f"{holder.display_name}'s" if holder else "their"


@bp.route("/services/<int:listing_id>/shortlist", methods=["POST"])
@login_required
def shortlist_add(listing_id: int) -> Response:
    listing = _published_or_404(listing_id)
    form = ShortlistForm()
    if form.validate_on_submit():
        holder_id = chosen_holder(form.for_holder.data)
        try:
            services.add_to_shortlist(db.session, current_person(), listing, holder_id)
        except DomainError as error:
            db.session.rollback()
            flash(error.message, "error")
        else:
            db.session.commit()
            flash(f"{listing.name} is on {_holder_name(holder_id)} shortlist", "success")
    return redirect(safe_next(form.next.data, "engagement.shortlist"))


@bp.route("/services/<int:listing_id>/shortlist/remove", methods=["POST"])
@login_required
def shortlist_remove(listing_id: int) -> Response:
    form = ShortlistForm()
    if form.validate_on_submit():
        holder_id = chosen_holder(form.for_holder.data)
        try:
            removed = services.remove_from_shortlist(
                db.session, current_person(), listing_id, holder_id
            )
        except DomainError as error:
            db.session.rollback()
            flash(error.message, "error")
        else:
            db.session.commit()
            if removed:
                flash(f"Removed from {_holder_name(holder_id)} shortlist", "success")
    return redirect(safe_next(form.next.data, "engagement.shortlist"))


@bp.route("/shortlist")
@login_required
def shortlist() -> str:
    me = current_person()
    sections: list[tuple[User | None, list[ShortlistEntry]]] = [
        (None, services.shortlist_of(db.session, me))
    ]
    sections += [
        (holder, services.shortlist_of(db.session, me, holder.id))
        for holder in {
            h.id: h
            for scope in (services.SEE, services.ACT)
            for h in services.people_i_help(db.session, me, scope)
        }.values()
    ]
    return render_template("engagement/shortlist.html", sections=sections)


# --- Enquiries ----------------------------------------------------------------------------


def _for_whom_choices(me: User) -> list[SelectChoice]:
    return acting.for_whom_choices(services.people_i_help(db.session, me))


@bp.route("/services/<int:listing_id>/enquire", methods=["GET", "POST"])
@login_required
def enquire(listing_id: int) -> str | Response:
    listing = _published_or_404(listing_id)
    me = current_person()
    form = EnquiryForm()
    form.for_whom.choices = _for_whom_choices(me)
    if form.validate_on_submit():
        done = form_action(
            form,
            lambda: services.start_enquiry(
                db.session,
                me,
                listing,
                form.subject.data or "",
                form.body.data or "",
                chosen_holder(form.for_whom.data),
            ),
        )
        if done.ok:
            posted = done.value
            services.send_notices(posted.notices)
            flash("Your enquiry has been sent. We will email you when they reply", "success")
            crisis.signpost_if_needed(form.body.data)
            return redirect(url_for("engagement.thread", enquiry_id=posted.enquiry.id))
    return render_template("engagement/enquire.html", form=form, listing=listing)


@bp.route("/enquiries")
@login_required
def enquiries() -> str:
    return render_template(
        "engagement/enquiries.html", lists=services.enquiries_for(db.session, current_person())
    )


@bp.route("/enquiries/<int:enquiry_id>", methods=["GET", "POST"])
@login_required
def thread(enquiry_id: int) -> str | Response:
    enquiry = _enquiry_or_404(enquiry_id)
    me = current_person()
    form = MessageForm()
    if form.validate_on_submit():
        done = form_action(
            form,
            lambda: services.reply(db.session, me, enquiry, form.body.data or ""),
            fallback="body",
        )
        if done.ok:
            posted = done.value
            services.send_notices(posted.notices)
            flash("Your reply has been sent", "success")
            crisis.signpost_if_needed(form.body.data)
            return redirect(url_for("engagement.thread", enquiry_id=enquiry.id))
    return render_template(
        "engagement/thread.html",
        enquiry=enquiry,
        side=services.side_of(db.session, me, enquiry),
        can_write=services.may_write(db.session, me, enquiry),
        provider_side=Side.PROVIDER.value,
        form=form,
        confirm=ConfirmForm(),
    )


@bp.route("/enquiries/<int:enquiry_id>/close", methods=["POST"])
@login_required
def close(enquiry_id: int) -> Response:
    enquiry = _enquiry_or_404(enquiry_id)
    if ConfirmForm().validate_on_submit():
        services.close_enquiry(db.session, current_person(), enquiry)
        db.session.commit()
        flash("This conversation is closed", "success")
    return redirect(url_for("engagement.thread", enquiry_id=enquiry.id))


# --- Reviews ------------------------------------------------------------------------------


@bp.route("/services/<int:listing_id>/review", methods=["GET", "POST"])
@login_required
def review(listing_id: int) -> str | Response:
    listing = _published_or_404(listing_id)
    me = current_person()
    if not services.has_been_in_touch(db.session, me.id, listing.id):
        return render_template("engagement/review_not_yet.html", listing=listing)
    existing = services.review_by(db.session, me.id, listing.id)
    if existing is not None and existing.is_published:
        flash("Your review of this service is published", "info")
        return redirect(url_for("directory.service", listing_id=listing.id, _anchor="reviews"))
    data = {"rating": str(existing.rating), "body": existing.body} if existing else None
    form = ReviewForm(data=data)
    if form.validate_on_submit():
        rating, body = int(form.rating.data or 0), form.body.data or ""
        try:
            if existing is None:
                services.write_review(db.session, me, listing, rating, body)
            else:
                services.revise_review(db.session, me, existing, rating, body)
        except DomainError as error:
            failed(form, error, fallback="body")
        else:
            db.session.commit()
            flash("Thank you. A moderator will read your review before it is published", "success")
            return redirect(url_for("directory.service", listing_id=listing.id, _anchor="reviews"))
    return render_template("engagement/review.html", form=form, listing=listing, existing=existing)


@bp.route("/reviews/<int:review_id>/reply", methods=["GET", "POST"])
@login_required
def review_reply(review_id: int) -> str | Response:
    me = current_person()
    target = db.session.get(Review, review_id)
    if target is None or not target.is_published:
        abort(404)
    if not providers.can_manage(db.session, me, target.listing):
        abort(404)
    back = url_for("directory.service", listing_id=target.listing_id, _anchor="reviews")
    answer = target.reply
    if answer is not None and answer.is_published:
        flash("Your reply to this review is published", "info")
        return redirect(back)
    form = ReviewReplyForm(data={"body": answer.body} if answer else None)
    if form.validate_on_submit():
        try:
            if answer is None:
                services.reply_to_review(db.session, me, target, form.body.data or "")
            else:
                services.revise_reply(db.session, me, answer, form.body.data or "")
        except DomainError as error:
            failed(form, error, fallback="body")
        else:
            db.session.commit()
            flash("A moderator will read your reply before it is published", "success")
            return redirect(back)
    return render_template(
        "engagement/review_reply.html", form=form, review=target, answer=answer, back=back
    )
