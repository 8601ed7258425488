""" "Report this" pages: anyone signed in can report what they can see."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from marketplace.errors import NotAllowed
from marketplace.extensions import db
from marketplace.moderation import crisis, reporter_outcomes, reports
from marketplace.moderation.forms import ReportForm
from marketplace.web.actions import form_action

bp = Blueprint("reports", __name__, url_prefix="/report")


@bp.route("/yours")
@login_required
def yours() -> str:
    """The person's own reports and what happened to each."""
    return render_template(
        "moderation/your_reports.html",
        summaries=reporter_outcomes.reports_of(db.session, current_user),
    )


@bp.route("/<subject_type>/<int:subject_id>", methods=["GET", "POST"])
@login_required
def report(subject_type: str, subject_id: int) -> str | Response:
    try:
        subject = reports.load_subject(db.session, current_user, subject_type, subject_id)
    except NotAllowed:
        abort(404)
    values: dict[str, Any] = dict(subject.back_args)
    back = url_for(subject.back_endpoint, **values)
    form = ReportForm()
    if form.validate_on_submit():
        done = form_action(
            form,
            lambda: reports.submit_report(
                db.session,
                current_user,
                subject.type,
                subject.id,
                form.reason.data or "",
                form.details.data or "",
            ),
            fallback="reason",
        )
        if done.ok:
            _, notices = done.value
            reports.send_under_review(notices)
            flash("Thank you. A moderator will look at your report", "success")
            crisis.signpost_if_needed(form.details.data)
            return redirect(back)
    return render_template("moderation/report.html", form=form, subject=subject, back=back)
