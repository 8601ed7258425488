"""Provider staff pages: their listings, creating, editing, previewing and submitting."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_login import current_user, login_required
from werkzeug.wrappers import Response
from wtforms import SelectChoice

from marketplace.errors import DomainError
from marketplace.extensions import db
from marketplace.organisations import services as organisations
from marketplace.organisations.models import OrganisationKind
from marketplace.places.services import all_councils
from marketplace.providers import checks, services
from marketplace.providers.access import listing_for_staff_or_404, provider_org_for_staff_or_404
from marketplace.providers.forms import ListingForm
from marketplace.providers.listing_form_data import data_from_form, form_values
from marketplace.web.actions import form_action
from marketplace.web.forms import ConfirmForm, failed

bp = Blueprint("provider", __name__, url_prefix="/provider")


def _form(**values: object) -> ListingForm:
    form = ListingForm(**values)
    form.category_ids.choices = [
        SelectChoice(c.id, c.name) for c in services.all_categories(db.session)
    ]
    form.council_ids.choices = [SelectChoice(c.id, c.name) for c in all_councils(db.session)]
    return form


@bp.route("/listings")
@login_required
def listings() -> str:
    records = [
        r
        for r in organisations.organisations_of(db.session, current_user)
        if r.is_approved
        and r.organisation.is_approved
        and r.organisation.kind == OrganisationKind.PROVIDER.value
    ]
    return render_template(
        "providers/manage/listings.html",
        organisations=[
            (r.organisation, services.listings_of(db.session, r.organisation)) for r in records
        ],
    )


def _parsed(form: ListingForm) -> services.ListingData | None:
    """The form's content as ListingData, or None if a field has an error."""
    if not form.validate_on_submit():
        return None
    return data_from_form(form)


@bp.route("/organisations/<int:org_id>/listings/new", methods=["GET", "POST"])
@login_required
def new_listing(org_id: int) -> str | Response:
    org = provider_org_for_staff_or_404(org_id)
    form = _form()
    if (data := _parsed(form)) is not None:
        done = form_action(
            form,
            lambda: services.create_listing(db.session, current_user, org, data),
            fallback="name",
        )
        if done.ok:
            listing = done.value
            flash("Draft saved. Check it, then send it for approval", "success")
            return redirect(url_for("provider.show_listing", listing_id=listing.id))
    return render_template("providers/manage/form.html", form=form, org=org, listing=None)


@bp.route("/listings/<int:listing_id>")
@login_required
def show_listing(listing_id: int) -> str:
    listing = listing_for_staff_or_404(listing_id)
    pending = (
        services.ListingData.from_json(listing.pending_changes) if listing.pending_changes else None
    )
    return render_template(
        "providers/manage/show.html",
        listing=listing,
        pending=pending,
        confirm=ConfirmForm(),
        reminder_date=checks.reminder_date(listing),
        out_of_date=checks.is_out_of_date(listing),
    )


@bp.route("/listings/<int:listing_id>/edit", methods=["GET", "POST"])
@login_required
def edit_listing(listing_id: int) -> str | Response:
    listing = listing_for_staff_or_404(listing_id)
    current = (
        services.ListingData.from_json(listing.pending_changes)
        if listing.pending_changes
        else services.data_from_listing(listing)
    )
    form = _form(**form_values(current))
    if (data := _parsed(form)) is not None:
        try:
            services.update_listing(db.session, current_user, listing, data)
        except DomainError as error:
            failed(form, error, fallback="name")
            return render_template(
                "providers/manage/form.html", form=form, org=listing.organisation, listing=listing
            )
        db.session.commit()
        if listing.pending_changes is not None:
            flash(
                "Changes saved. The live listing stays as it is until your changes are approved",
                "success",
            )
        else:
            flash("Changes saved", "success")
        return redirect(url_for("provider.show_listing", listing_id=listing.id))
    return render_template(
        "providers/manage/form.html", form=form, org=listing.organisation, listing=listing
    )


@bp.route("/listings/<int:listing_id>/submit", methods=["POST"])
@login_required
def submit_listing(listing_id: int) -> Response:
    listing = listing_for_staff_or_404(listing_id)
    if ConfirmForm().validate_on_submit():
        try:
            services.submit_listing(db.session, current_user, listing)
        except DomainError as error:
            flash(error.message, "error")
        else:
            db.session.commit()
            flash("Sent for checking. We will tell you when it is published", "success")
    return redirect(url_for("provider.show_listing", listing_id=listing.id))


@bp.route("/listings/<int:listing_id>/discard-changes", methods=["POST"])
@login_required
def discard_changes(listing_id: int) -> Response:
    listing = listing_for_staff_or_404(listing_id)
    if ConfirmForm().validate_on_submit():
        services.discard_changes(db.session, current_user, listing)
        db.session.commit()
        flash("Your unpublished changes have been discarded", "success")
    return redirect(url_for("provider.show_listing", listing_id=listing.id))


@bp.route("/listings/<int:listing_id>/confirm-checked", methods=["POST"])
@login_required
def confirm_checked(listing_id: int) -> Response:
    listing = listing_for_staff_or_404(listing_id)
    if ConfirmForm().validate_on_submit():
        checks.confirm_checked(db.session, current_user, listing)
        db.session.commit()
        flash("Thank you. The listing now shows it was checked today", "success")
    return redirect(url_for("provider.show_listing", listing_id=listing.id))
