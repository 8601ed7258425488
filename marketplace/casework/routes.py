"""Pages: make a complaint, make a data-protection request, and the admin's list of both."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from marketplace.auth.access import admin_required
from marketplace.casework import services
from marketplace.casework.forms import AnswerForm, ComplaintForm, RightsRequestForm
from marketplace.casework.models import Case
from marketplace.errors import DomainError
from marketplace.extensions import db, limiter
from marketplace.moderation import crisis
from marketplace.web.actions import form_action
from marketplace.web.forms import failed

bp = Blueprint("casework", __name__)


def _open(form: ComplaintForm | RightsRequestForm, contact_email: str = "") -> Case | None:
    """Open the case the form describes; errors go beside the fields."""
    user = current_user._get_current_object() if current_user.is_authenticated else None
    try:
        case = services.open_case(
            db.session, user, form.kind.data or "", form.details.data or "", contact_email
        )
    except DomainError as error:
        failed(form, error, fallback="kind")
        return None
    db.session.commit()
    crisis.signpost_if_needed(form.details.data)
    flash(
        f"Thank you. Your reference is {case.id}. We will answer by {case.due_on:%d %B %Y}",
        "success",
    )
    return case


@bp.route("/complaints", methods=["GET", "POST"])
@limiter.limit("10 per hour", methods=["POST"])
def complaint() -> str | Response:
    form = ComplaintForm()
    if form.validate_on_submit() and _open(form, form.contact_email.data or ""):
        if current_user.is_authenticated:
            return redirect(url_for("privacy.your_data"))
        return redirect(url_for("pages.home"))
    return render_template("casework/complaint.html", form=form)


@bp.route("/account/your-data/request", methods=["GET", "POST"])
@login_required
def rights_request() -> str | Response:
    form = RightsRequestForm()
    if form.validate_on_submit() and _open(form):
        return redirect(url_for("privacy.your_data"))
    return render_template("casework/rights_request.html", form=form)


@bp.route("/admin/cases")
@admin_required
def cases() -> str:
    return render_template(
        "casework/cases.html",
        cases=services.open_cases(db.session),
        labels=services.LABELS,
        days_left=services.days_left,
    )


@bp.route("/admin/cases/<int:case_id>", methods=["GET", "POST"])
@admin_required
def case(case_id: int) -> str | Response:
    found = db.session.get(Case, case_id)
    if found is None:
        abort(404)
    form = AnswerForm()
    if found.closed_at is None and form.validate_on_submit():
        done = form_action(
            form,
            lambda: services.close_case(
                db.session, current_user._get_current_object(), found, form.response.data or ""
            ),
            fallback="response",
        )
        if done.ok:
            answer = done.value
            services.send_answer(answer)
            flash(f"Answer sent; case {found.id} is closed", "success")
            return redirect(url_for("casework.cases"))
    return render_template(
        "casework/case.html",
        case=found,
        form=form,
        labels=services.LABELS,
        days_left=services.days_left(found),
        is_complaint=services.is_complaint(found.kind),
    )
