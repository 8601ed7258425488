"""Moderation pages for ULO staff and admins (second factor required)."""

from __future__ import annotations

from typing import Any

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
from marketplace.auth.models import Role, User
from marketplace.errors import DomainError, NotAllowed
from marketplace.extensions import db
from marketplace.moderation import decisions, reports, safeguarding, services
from marketplace.moderation.forms import (
    AppealForm,
    DecideForm,
    SafeguardingContactForm,
    TakeOverForm,
)
from marketplace.moderation.models import Appeal, Decision, ModerationItem, Sanction
from marketplace.web.actions import button_action, form_action
from marketplace.web.forms import ConfirmForm, failed

bp = Blueprint("moderation", __name__, url_prefix="/moderation")


def _item_or_404(item_id: int) -> ModerationItem:
    try:
        return services.get_for_moderator(db.session, current_user, item_id)
    except NotAllowed:
        abort(404)


@bp.app_context_processor
def _moderation_counts() -> dict[str, Any]:
    """The navigation's "Moderation" link, with how many items wait, for moderators."""

    def moderation_counts() -> tuple[int, int] | None:
        user = current_user
        if not user.is_authenticated or not (
            user.has_role(Role.ADMIN) or user.has_role(Role.ULO_STAFF)
        ):
            return None
        return services.counts_for(db.session, user)

    return {"moderation_counts": moderation_counts}


@bp.route("")
@moderator_required
def queue() -> str:
    return render_template(
        "moderation/queue.html",
        rows=services.queue_rows(db.session, current_user),
        reasons_of=lambda items: reports.reasons_of(db.session, items),
        kind_label=services.kind_label,
        is_overdue=services.is_overdue,
        claim_holder=services.claim_holder,
    )


@bp.route("/items/<int:item_id>", methods=["GET", "POST"])
@moderator_required
def item(item_id: int) -> str | Response:
    entry = _item_or_404(item_id)
    form = DecideForm()
    actions = services.actions_for(db.session, entry)
    form.decision.choices = [SelectChoice(d.value, label) for d, label in actions]
    person_actions = decisions.person_actions_for(db.session, entry)
    form.also.choices = [SelectChoice("", "Nothing more")] + [
        SelectChoice(d.value, label) for d, label in person_actions
    ]
    offers_suspend = any(d in decisions.TIMED_ACTIONS for d, _ in actions)
    if form.validate_on_submit():
        try:
            notices = decisions.decide(
                db.session,
                current_user,
                entry,
                Decision(form.decision.data),
                form.reason.data or "",
                form.days.data,
                Decision(form.also.data) if form.also.data else None,
                form.also_reason.data or "",
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
        offers_also=bool(person_actions),
        author=decisions.author_of(db.session, entry),
        action_words=decisions.MODERATOR_WORDS,
        may_handle=services.may_handle(db.session, current_user, entry),
        holder=_holder(entry),
        lapses_at=services.claim_lapses_at(entry),
        claim_for=services.duration_words(services.claim_lapses_after()),
        take_over=TakeOverForm(),
        history=services.history(db.session, entry),
        safeguarding_contacts=safeguarding.contacts_for_item(db.session, entry)
        if entry.urgent
        else [],
        appeal=appeal,
        **view,
    )


def _holder(entry: ModerationItem) -> User | None:
    holder_id = services.claim_holder(entry)
    return db.session.get(User, holder_id) if holder_id else None


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


@bp.route("/items/<int:item_id>/release", methods=["POST"])
@moderator_required
def release(item_id: int) -> Response:
    entry = _item_or_404(item_id)
    if ConfirmForm().validate_on_submit():
        button_action(
            lambda: services.release(db.session, current_user, entry),
            "You have given this back to the queue",
        )
    return redirect(url_for("moderation.item", item_id=entry.id))


@bp.route("/items/<int:item_id>/take-over", methods=["GET", "POST"])
@moderator_required
def take_over(item_id: int) -> str | Response:
    entry = _item_or_404(item_id)
    form = TakeOverForm()
    if form.validate_on_submit():
        done = form_action(
            form,
            lambda: services.take_over(db.session, current_user, entry, form.reason.data or ""),
            fallback="reason",
        )
        if done.ok:
            flash("You are dealing with this now. The other moderator has been told", "success")
            return redirect(url_for("moderation.item", item_id=entry.id))
    return render_template(
        "moderation/take_over.html", entry=entry, form=form, holder=_holder(entry)
    )


@bp.route("/safeguarding-contacts")
@moderator_required
def safeguarding_contacts() -> str:
    return render_template(
        "moderation/safeguarding_contacts.html",
        councils=safeguarding.councils_for(db.session, current_user),
    )


@bp.route("/safeguarding-contacts/<code>", methods=["GET", "POST"])
@moderator_required
def safeguarding_contact(code: str) -> str | Response:
    try:
        found = safeguarding.council_for(db.session, current_user, code)
    except NotAllowed:
        abort(404)
    form = SafeguardingContactForm(obj=found.contact)
    if form.validate_on_submit():
        data = safeguarding.ContactData(
            form.phone.data or "",
            form.email.data or "",
            form.hours.data or "",
            form.out_of_hours.data or "",
        )
        done = form_action(
            form,
            lambda: safeguarding.record(db.session, current_user, code, data),
            fallback="phone",
        )
        if done.ok:
            flash(f"Saved the adult safeguarding contact for {found.council.name}", "success")
            return redirect(url_for("moderation.safeguarding_contacts"))
    return render_template("moderation/safeguarding_contact.html", form=form, council=found.council)
