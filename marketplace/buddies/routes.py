"""Budget buddy pages: offer, ask, suggestions, the pairing and its conversation, rounds."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import click
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import login_required
from werkzeug.wrappers import Response
from wtforms import SelectChoice

from marketplace import outbox
from marketplace.auth.access import current_person, moderator_required
from marketplace.buddies import conversations, handover, hellos, rounds, services
from marketplace.buddies.forms import (
    ConcernForm,
    ContactForm,
    EndForm,
    FeedbackForm,
    MessageForm,
    PauseForm,
)
from marketplace.buddies.handover_forms import HandoverForm
from marketplace.buddies.labels import (
    HELPFULNESS_LABELS,
    HOLDING_LABELS,
    STATUS_LABELS,
    TIME_LABELS,
    TOPIC_LABELS,
    WAY_LABELS,
)
from marketplace.buddies.models import (
    BuddyMatch,
    BuddyRequest,
    MatchStatus,
)
from marketplace.db import utcnow
from marketplace.errors import DomainError, NotAllowed
from marketplace.extensions import db
from marketplace.moderation import crisis
from marketplace.moderation import services as moderation
from marketplace.places.services import all_councils
from marketplace.web.actions import button_action, form_action
from marketplace.web.forms import ConfirmForm

bp = Blueprint("buddies", __name__, url_prefix="/buddies", cli_group="buddies")


@bp.cli.command("resume-due")
def resume_due_command() -> None:
    """Resume pairings whose chosen pause has run out (run daily)."""
    count = conversations.resume_due(db.session)
    outbox.commit(db.session)
    click.echo(f"Resumed {count} pairing{'s' if count != 1 else ''}.")


@bp.app_context_processor
def _labels() -> dict[str, Any]:
    return {
        "buddy_labels": {
            "holds": HOLDING_LABELS,
            "topics": TOPIC_LABELS,
            "ways": WAY_LABELS,
            "times": TIME_LABELS,
            "status": STATUS_LABELS,
            "helpfulness": HELPFULNESS_LABELS,
        }
    }


def _match_or_404(match_id: int) -> BuddyMatch:
    try:
        return conversations.get_match_for(db.session, current_person(), match_id)
    except NotAllowed:
        abort(404)


def _conversation_or_404(match_id: int) -> BuddyMatch:
    try:
        return conversations.get_conversation_for(db.session, current_person(), match_id)
    except NotAllowed:
        abort(404)


def _request_or_404(request_id: int) -> tuple[BuddyRequest, bool]:
    try:
        return services.get_request_for(db.session, current_person(), request_id)
    except NotAllowed:
        abort(404)


def _council_choices() -> list[SelectChoice]:
    return [SelectChoice("", "Choose your council")] + [
        SelectChoice(c.id, c.name) for c in all_councils(db.session)
    ]


# --- the hub ------------------------------------------------------------------------------------


@bp.route("")
@login_required
def index() -> str:
    me = current_person()
    matches = services.matches_of(db.session, me)
    helped = services.people_i_ask_for(db.session, me)
    profile = services.profile_of(db.session, me.id)
    return render_template(
        "buddies/index.html",
        profile=profile,
        checked_locally=profile is None or services.checked_locally(db.session, profile),
        requests=services.requests_of(db.session, me.id),
        matches=matches,
        unread=conversations.unread_counts(db.session, matches, me),
        feedback_due=conversations.feedback_due_in(db.session, me, matches),
        helped=helped,
        helped_requests={h.id: services.waiting_request_of(db.session, h.id) for h in helped},
        handovers=handover.handovers_of(db.session, me),
        hellos=hellos.hellos_received(db.session, me),
    )


# --- offering to be a buddy ---------------------------------------------------------------------


# The offer form's question pages are in question_routes.py.


@bp.route("/offer/<any(pause, resume, withdraw):action>", methods=["POST"])
@login_required
def offer_action(action: str) -> Response:
    if ConfirmForm().validate_on_submit():
        change, done = {
            "pause": (
                services.pause_offer,
                "You will not be suggested to anyone new until you resume",
            ),
            "resume": (services.resume_offer, "You can be suggested to people again"),
            "withdraw": (
                services.withdraw_offer,
                "Your offer is withdrawn. Thank you for offering",
            ),
        }[action]
        button_action(lambda: change(db.session, current_person()), done)
    return redirect(url_for("buddies.index"))


# --- asking for a buddy -------------------------------------------------------------------------


# The ask form's question pages are in question_routes.py.


@bp.route("/requests/<int:request_id>")
@login_required
def request_page(request_id: int) -> str:
    buddy_request, as_carer = _request_or_404(request_id)
    pending = rounds.pending_proposal(db.session, buddy_request)
    return render_template(
        "buddies/request.html",
        buddy_request=buddy_request,
        as_carer=as_carer,
        pending=pending,
        suggestions=[] if pending else rounds.suggestions_for(db.session, buddy_request),
        hellos=hellos.hellos_sent(db.session, buddy_request.seeker_id),
        local_ulo=services.area_has_ulo(db.session, buddy_request.council),
        confirm=ConfirmForm(),
    )


@bp.route("/requests/<int:request_id>/ask/<int:profile_id>", methods=["POST"])
@login_required
def ask_suggested(request_id: int, profile_id: int) -> Response:
    buddy_request, as_carer = _request_or_404(request_id)
    if ConfirmForm().validate_on_submit():
        me = current_person()
        try:
            match = rounds.ask_suggested(
                db.session,
                buddy_request.seeker,
                buddy_request,
                profile_id,
                acting_carer=me if as_carer else None,
            )
        except DomainError as error:
            db.session.rollback()
            flash(error.message, "error")
        else:
            db.session.commit()
            flash(
                f"We have asked {match.buddy_user.display_name}. "
                "We will email you when they answer",
                "success",
            )
    return redirect(url_for("buddies.request_page", request_id=buddy_request.id))


@bp.route("/requests/<int:request_id>/withdraw", methods=["POST"])
@login_required
def withdraw_request(request_id: int) -> Response:
    buddy_request, as_carer = _request_or_404(request_id)
    if ConfirmForm().validate_on_submit():
        button_action(
            lambda: services.withdraw_request(
                db.session,
                buddy_request.seeker,
                buddy_request,
                acting_carer=current_person() if as_carer else None,
            ),
            "You are no longer waiting for a buddy",
        )
    return redirect(url_for("buddies.index"))


# --- a pairing ----------------------------------------------------------------------------------


def _pairing_page(match: BuddyMatch, form: MessageForm, contact_form: ContactForm) -> str:
    me = current_person()
    role = conversations.role_in(match, me)
    return render_template(
        "buddies/pairing.html",
        match=match,
        role=role,
        # Only the seeker is offered another buddy; the old buddy never sees who follows them.
        handover=handover.handover_for(db.session, match) if role == conversations.SEEKER else None,
        other=match.buddy_user if me.id == match.seeker_id else match.seeker,
        form=form,
        contact_form=contact_form,
        their_contact=conversations.contact_from_other(match, me),
        feedback_due=conversations.feedback_due(db.session, me, match),
        # A pause made by a break: whose break it is decides what each side may do.
        break_holder=services.held_by_break(db.session, match),
        may_resume=services.may_resume(db.session, me, match),
        confirm=ConfirmForm(),
    )


@bp.route("/pairings/<int:match_id>")
@login_required
def pairing(match_id: int) -> str:
    match = _conversation_or_404(match_id)
    me = current_person()
    # Reading is not a change the person makes, but it decides when we email them next.
    conversations.resume_if_due(match)
    conversations.mark_read(match, me)
    db.session.commit()
    contact_form = ContactForm(contact=conversations.own_contact(match, me))
    return _pairing_page(match, MessageForm(), contact_form)


@bp.route("/pairings/<int:match_id>/messages", methods=["GET", "POST"])
@login_required
def send_message(match_id: int) -> str | Response:
    match = _conversation_or_404(match_id)
    if request.method == "GET":
        # A failed message leaves this address in the browser (the page is shown again with the
        # error); opening it later shows the conversation rather than "Method not allowed".
        return redirect(url_for("buddies.pairing", match_id=match.id))
    me = current_person()
    form = MessageForm()
    if form.validate_on_submit():
        done = form_action(
            form,
            lambda: conversations.send_message(db.session, me, match, form.body.data or ""),
            fallback="body",
        )
        if done.ok:
            flash("Message sent", "success")
            crisis.signpost_if_needed(form.body.data)
            return redirect(url_for("buddies.pairing", match_id=match.id, _anchor="latest"))
    contact_form = ContactForm(formdata=None, contact=conversations.own_contact(match, me))
    return _pairing_page(match, form, contact_form)


@bp.route("/pairings/<int:match_id>/contact", methods=["GET", "POST"])
@login_required
def share_contact(match_id: int) -> str | Response:
    match = _match_or_404(match_id)
    if request.method == "GET":
        # As for messages: a refused contact detail leaves this address in the browser.
        return redirect(url_for("buddies.pairing", match_id=match.id))
    form = ContactForm()
    if form.validate_on_submit():
        done = form_action(
            form,
            lambda: conversations.share_contact(
                db.session, current_person(), match, form.contact.data or ""
            ),
            fallback="contact",
        )
        if done.ok:
            flash(
                "Your buddy can now see how to reach you"
                if form.contact.data
                else "You are no longer sharing contact details",
                "success",
            )
            return redirect(url_for("buddies.pairing", match_id=match.id))
    return _pairing_page(match, MessageForm(formdata=None), form)


@bp.route("/pairings/<int:match_id>/<any(accept, decline, resume):action>", methods=["POST"])
@login_required
def answer(match_id: int, action: str) -> Response:
    match = _match_or_404(match_id)
    if ConfirmForm().validate_on_submit():
        me = current_person()
        change = {
            "accept": services.accept,
            "decline": services.decline,
            "resume": services.resume,
        }[action]
        try:
            change(db.session, me, match)
        except NotAllowed:
            abort(403)
        except DomainError as error:
            db.session.rollback()
            flash(error.message, "error")
        else:
            db.session.commit()
            if action == "accept":
                flash("You are now buddies. Say hello when you are ready", "success")
            elif action == "decline":
                flash(
                    "Thank you for letting us know. They keep their place in the queue", "success"
                )
                return redirect(url_for("buddies.index"))
            else:
                flash("The pairing is active again", "success")
    return redirect(url_for("buddies.pairing", match_id=match.id))


@bp.route("/pairings/<int:match_id>/pause", methods=["GET", "POST"])
@login_required
def pause(match_id: int) -> str | Response:
    match = _match_or_404(match_id)
    form = PauseForm()
    if form.validate_on_submit():
        days = int(form.days.data) if (form.days.data or "").isdigit() else None
        until = utcnow() + timedelta(days=days) if days else None
        done = form_action(
            form,
            lambda: services.pause(db.session, current_person(), match, until),
            fallback="days",
        )
        if done.ok:
            flash("The pairing is paused", "success")
            return redirect(url_for("buddies.pairing", match_id=match.id))
    return render_template("buddies/pause.html", form=form, match=match)


@bp.route("/pairings/<int:match_id>/end", methods=["GET", "POST"])
@login_required
def end(match_id: int) -> str | Response:
    match = _match_or_404(match_id)
    me = current_person()
    proposed = match.status == MatchStatus.PROPOSED.value
    if proposed and me.id == match.buddy_user_id:
        return redirect(url_for("buddies.pairing", match_id=match.id))  # yes or no, not "end"
    form = EndForm()
    if proposed:
        form.submit.label.text = f"Stop asking {match.buddy_user.display_name}"
    if form.validate_on_submit():
        done = form_action(
            form,
            lambda: services.end(db.session, me, match, form.reason.data),
            fallback="reason",
        )
        if done.ok:
            flash(
                "Done. You keep your place in the queue"
                if proposed
                else "The pairing has ended. Thank you both",
                "success",
            )
            return redirect(url_for("buddies.index"))
    return render_template("buddies/end.html", form=form, match=match)


@bp.route("/pairings/<int:match_id>/another/<int:profile_id>", methods=["GET", "POST"])
@login_required
def another_buddy(match_id: int, profile_id: int) -> str | Response:
    """After a handover: ask a suggested buddy, choosing whether to share a short summary."""
    match = _match_or_404(match_id)
    me = current_person()
    offered = handover.handover_for(db.session, match) if me.id == match.seeker_id else None
    chosen = handover.suggestion(offered, profile_id) if offered else None
    if offered is None or chosen is None:
        flash(
            "That buddy is no longer available. Choose from the suggestions below"
            if offered
            else "You are not looking for another buddy at the moment",
            "error",
        )
        return redirect(url_for("buddies.pairing", match_id=match.id))
    form = HandoverForm()
    form.submit.label.text = f"Ask {chosen.profile.user.display_name}"
    if form.validate_on_submit():
        done = form_action(
            form,
            lambda: handover.ask_new_buddy(
                db.session, me, match, profile_id, form.shared_summary()
            ),
            fallback="summary",
        )
        if done.ok:
            new = done.value
            flash(
                f"We have asked {new.buddy_user.display_name}. We will email you when they answer",
                "success",
            )
            return redirect(url_for("buddies.pairing", match_id=new.id))
    return render_template("buddies/another.html", form=form, match=match, chosen=chosen)


@bp.route("/pairings/<int:match_id>/report", methods=["GET", "POST"])
@login_required
def report(match_id: int) -> str | Response:
    match = _match_or_404(match_id)
    form = ConcernForm()
    if form.validate_on_submit():
        done = form_action(
            form,
            lambda: conversations.report_concern(
                db.session, current_person(), match, form.body.data or ""
            ),
            fallback="body",
        )
        if done.ok:
            flash(
                "Thank you for telling us. Staff at the local organisation will look into it",
                "success",
            )
            return redirect(url_for("buddies.pairing", match_id=match.id))
    return render_template("buddies/report.html", form=form, match=match)


@bp.route("/pairings/<int:match_id>/block", methods=["GET", "POST"])
@login_required
def block(match_id: int) -> str | Response:
    match = _match_or_404(match_id)
    me = current_person()
    form = ConfirmForm()
    if form.validate_on_submit():
        services.block(db.session, me, match.other_id(me.id))
        db.session.commit()
        flash("Done. You will never be paired with this person again", "success")
        return redirect(url_for("buddies.index"))
    other = match.buddy_user if me.id == match.seeker_id else match.seeker
    return render_template("buddies/block.html", form=form, match=match, other=other)


@bp.route("/pairings/<int:match_id>/feedback", methods=["GET", "POST"])
@login_required
def feedback(match_id: int) -> str | Response:
    match = _match_or_404(match_id)
    form = FeedbackForm()
    if form.validate_on_submit():
        done = form_action(
            form,
            lambda: conversations.give_feedback(
                db.session, current_person(), match, form.helpfulness.data or ""
            ),
            fallback="helpfulness",
        )
        if done.ok:
            flash("Thank you for your feedback", "success")
            return redirect(url_for("buddies.pairing", match_id=match.id))
    return render_template("buddies/feedback.html", form=form, match=match)


# --- ULO staff: matching rounds, feedback totals, concerns ---------------------------------------


@bp.route("/round", methods=["GET", "POST"])
@moderator_required
def matching_round() -> str | Response:
    me = current_person()
    form = ConfirmForm()
    problems: list[str] = []
    if form.validate_on_submit():
        pairs = []
        for value in request.form.getlist("pair"):
            request_id, _, profile_id = value.partition(":")
            if request_id.isdigit() and profile_id.isdigit():
                pairs.append((int(request_id), int(profile_id)))
        try:
            sent = rounds.send_round(db.session, me, pairs)
        except NotAllowed:
            abort(403)
        except DomainError as error:
            db.session.rollback()
            problems = [error.message]
        else:
            db.session.commit()
            flash(f"Sent {sent.sent} suggestion{'s' if sent.sent != 1 else ''}", "success")
            if not sent.problems:
                return redirect(url_for("buddies.matching_round"))
            problems = sent.problems
    return render_template(
        "buddies/round.html",
        plan=rounds.plan_round(db.session, me),
        totals=conversations.feedback_totals(db.session, me),
        ended=conversations.private_end_reasons(db.session, me),
        problems=problems,
        form=form,
    )


@bp.route("/concerns/<int:item_id>/conversation")
@moderator_required
def concern_conversation(item_id: int) -> str:
    me = current_person()
    try:
        item = moderation.get_for_moderator(db.session, me, item_id)
        match = conversations.conversation_for_moderator(db.session, me, item)
    except NotAllowed:
        abort(404)
    db.session.commit()  # the audit entry saying who read it
    return render_template(
        "buddies/concern_conversation.html",
        item=item,
        match=match,
        concern=conversations.concern_for_item(db.session, item),
        closed=match.status not in (MatchStatus.ACTIVE.value, MatchStatus.PAUSED.value),
    )
