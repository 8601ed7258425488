"""Moderation pages for ULO staff and admins (second factor required)."""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from werkzeug.wrappers import Response
from wtforms import SelectChoice

from marketplace.auth.access import moderator_required
from marketplace.auth.models import User
from marketplace.errors import DomainError, NotAllowed
from marketplace.extensions import db
from marketplace.moderation import decisions, services
from marketplace.moderation.forms import AppealForm, DecideForm
from marketplace.moderation.models import Appeal, Decision, ModerationItem, Sanction
from marketplace.web.actions import form_action
from marketplace.web.forms import ConfirmForm, failed

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


@bp.route("/items/<int:item_id>", methods=["GET", "POST"])
@moderator_required
def item(item_id: int) -> str | Response:
    entry = _item_or_404(item_id)
    form = DecideForm()
    actions = services.actions_for(db.session, entry)
    form.decision.choices = [SelectChoice(d.value, label) for d, label in actions]
    offers_suspend = any(d is Decision.SUSPEND for d, _ in actions)
    if form.validate_on_submit():
        try:
            notices = decisions.decide(
                db.session,
                current_user,
                entry,
                Decision(form.decision.data),
                form.reason.data or "",
                form.days.data,
            )
            notices += decisions.appeal_outcome_notice(db.session, entry)
        except NotAllowed:
            db.session.rollback()
            abort(403)
        except DomainError as error:
            failed(form, error, fallback="decision")
        else:
            db.session.commit()
            decisions.send(notices)
            flash("Decision saved", "success")
            return redirect(url_for("moderation.queue"))
    # What the item's kind registered for the moderator to see (listing, pool, report...).
    view = services.item_view(db.session, entry)
    appeal = _appeal(entry)
    shown = [value for value in view.values() if isinstance(value, services.Subject)]
    if appeal is not None:
        shown.append(appeal.get("subject"))  # type: ignore[arg-type]
    services.record_viewing(db.session, current_user, entry, shown)
    db.session.commit()
    return render_template(
        "moderation/item.html",
        entry=entry,
        form=form,
        confirm=ConfirmForm(),
        kind_label=services.kind_label,
        offers_suspend=offers_suspend,
        may_handle=services.may_handle(db.session, current_user, entry),
        appeal=appeal,
        **view,
    )


def _appeal(entry: ModerationItem) -> dict[str, object] | None:
    """The appeal and the decision appealed, for the moderator."""
    if entry.item_type != decisions.ITEM_APPEAL:
        return None
    row = db.session.get(Appeal, entry.item_id)
    sanction = db.session.get(Sanction, row.sanction_id) if row else None
    if sanction is None:
        return {"appeal": row, "sanction": None}
    return {
        "appeal": row,
        "sanction": sanction,
        **decisions.appealed_decision(db.session, sanction),
    }


@bp.route("/appeals/<int:sanction_id>", methods=["GET", "POST"])
def appeal(sanction_id: int) -> str | Response:
    """The affected person's page: the decision, and one appeal against it.

    Signed in, or through the signed link in the decision email (a suspended person
    cannot sign in, but can still appeal).
    """
    token = request.args.get("t", "")
    try:
        if current_user.is_authenticated:
            sanction = decisions.sanction_for(db.session, current_user, sanction_id)
        elif token:
            sanction = decisions.sanction_from_token(db.session, sanction_id, token)
        else:
            return current_app.login_manager.unauthorized()  # type: ignore[attr-defined,no-any-return]
    except NotAllowed:
        abort(404)
    person = db.session.get(User, sanction.user_id)
    if person is None:
        abort(404)
    existing = decisions.appeal_of(db.session, sanction)
    form = AppealForm()
    if existing is None and form.validate_on_submit():
        done = form_action(
            form,
            lambda: decisions.appeal(db.session, person, sanction, form.text.data or ""),
            fallback="text",
        )
        if done.ok:
            flash("Your appeal has been sent. A different moderator will look at it", "success")
            return redirect(url_for("moderation.appeal", sanction_id=sanction.id, t=token or None))
    return render_template(
        "moderation/appeal.html",
        sanction=sanction,
        existing=existing,
        form=form,
        words=decisions.ACTION_WORDS,
    )


@bp.route("/items/<int:item_id>/claim", methods=["POST"])
@moderator_required
def claim(item_id: int) -> Response:
    entry = _item_or_404(item_id)
    if ConfirmForm().validate_on_submit():
        try:
            services.claim(db.session, current_user, entry)
        except NotAllowed:
            db.session.rollback()
            flash("A different moderator must deal with this", "error")
        except DomainError as error:
            db.session.rollback()
            flash(error.message, "error")
        else:
            db.session.commit()
            flash("You are dealing with this now", "success")
    return redirect(url_for("moderation.item", item_id=entry.id))
