"""Pages: how often we email you, and the page behind every one-click email link."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from marketplace.errors import DomainError
from marketplace.extensions import db
from marketplace.notifications import (  # noqa: F401 - digest and privacy_hooks register hooks
    digest,
    links,
    preferences,
    privacy_hooks,
)
from marketplace.notifications.forms import DoForm, EmailFrequencyForm
from marketplace.web.actions import form_action

bp = Blueprint("notifications", __name__)

# The link is no longer any use: 410 Gone, as for an old password-reset link.
GONE = 410


@bp.route("/account/emails", methods=["GET", "POST"])
@login_required
def emails() -> str | Response:
    user = current_user._get_current_object()
    form = EmailFrequencyForm()
    if form.validate_on_submit():
        done = form_action(
            form, lambda: preferences.set_frequency(db.session, user, form.frequency.data or "")
        )
        if done.ok:
            flash("Saved. We will email you the way you chose", "success")
            return redirect(url_for("account.overview"))
    elif not form.is_submitted():
        form.frequency.data = preferences.frequency_of(db.session, user.id).value
    return render_template("notifications/emails.html", form=form)


@bp.route("/do/<token>", methods=["GET", "POST"])
def do(token: str) -> str | tuple[str, int]:
    """GET shows exactly what the link will do and changes nothing; the button POSTs."""
    form = DoForm()
    if form.validate_on_submit():
        try:
            found, done = links.use(db.session, token)
        except links.LinkUnusable as unusable:
            db.session.rollback()
            return _unusable(unusable.found)
        except DomainError as error:  # NotAllowed too: the service said no
            db.session.rollback()
            return render_template("notifications/do_failed.html", message=error.message), GONE
        db.session.commit()
        return render_template("notifications/do_done.html", message=done)
    found = links.find(db.session, token)
    db.session.rollback()  # only read
    if found.state is not links.State.READY or found.action is None:
        return _unusable(found)
    return render_template(
        "notifications/do.html", form=form, action=found.action, description=found.description
    )


def _unusable(found: links.Found) -> tuple[str, int]:
    return render_template("notifications/do_unusable.html", found=found, states=links.State), GONE
