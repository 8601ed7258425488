"""Pages around a seeker's suggestions, on the buddies blueprint: the one hello before asking
(`hellos`), and "Tell me when a buddy who fits becomes free" (`free_alerts`)."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_login import login_required
from werkzeug.wrappers import Response

from marketplace.auth.access import current_person
from marketplace.buddies import free_alerts, hellos, rounds
from marketplace.buddies.hello_forms import AnswerForm, HelloForm
from marketplace.buddies.models import BuddyHello
from marketplace.buddies.routes import _request_or_404, bp
from marketplace.errors import NotAllowed
from marketplace.extensions import db
from marketplace.moderation import crisis
from marketplace.web.actions import button_action, form_action
from marketplace.web.forms import ConfirmForm


@bp.route("/requests/<int:request_id>/hello/<int:profile_id>", methods=["GET", "POST"])
@login_required
def say_hello(request_id: int, profile_id: int) -> str | Response:
    buddy_request, as_carer = _request_or_404(request_id)
    chosen = next(
        (
            s
            for s in rounds.suggestions_for(db.session, buddy_request)
            if s.profile.id == profile_id
        ),
        None,
    )
    back = url_for("buddies.request_page", request_id=buddy_request.id)
    if chosen is None:
        flash("That buddy is no longer available. Choose from the suggestions below", "error")
        return redirect(back)
    earlier = hellos.hello_between(db.session, buddy_request.seeker_id, chosen.profile.user_id)
    form = HelloForm()
    if earlier is None and form.validate_on_submit():
        done = form_action(
            form,
            lambda: hellos.say_hello(
                db.session,
                buddy_request.seeker,
                buddy_request,
                profile_id,
                form.body.data,
                acting_carer=current_person() if as_carer else None,
            ),
            fallback="body",
        )
        if done.ok:
            flash("Your hello is sent", "success")
            crisis.signpost_if_needed(form.body.data)
            return redirect(url_for("buddies.hello", hello_id=done.value.id))
    return render_template(
        "buddies/questions/say_hello.html",
        form=form,
        chosen=chosen,
        earlier=earlier,
        buddy_request=buddy_request,
        back=back,
    )


def _hello_or_404(hello_id: int) -> BuddyHello:
    try:
        return hellos.get_hello_for(db.session, current_person(), hello_id)
    except NotAllowed:
        abort(404)


def _hello_page(hello: BuddyHello, form: AnswerForm) -> str:
    me = current_person()
    return render_template(
        "buddies/questions/hello.html",
        hello=hello,
        is_buddy=me.id == hello.buddy_user_id,
        is_seeker=me.id == hello.seeker_id,  # not a carer looking on their behalf
        form=form,
    )


@bp.route("/hellos/<int:hello_id>", methods=["GET", "POST"])
@login_required
def hello(hello_id: int) -> str | Response:
    """The hello and its answer; the buddy answers here, once."""
    found = _hello_or_404(hello_id)
    form = AnswerForm()
    if form.validate_on_submit():
        done = form_action(
            form,
            lambda: hellos.answer(db.session, current_person(), found, form.body.data),
            fallback="body",
        )
        if done.ok:
            flash("Your answer is sent", "success")
            crisis.signpost_if_needed(form.body.data)
            return redirect(url_for("buddies.hello", hello_id=found.id))
    return _hello_page(found, form)


@bp.route("/requests/<int:request_id>/tell-when-free", methods=["POST"])
@login_required
def tell_when_free(request_id: int) -> Response:
    buddy_request, as_carer = _request_or_404(request_id)
    if ConfirmForm().validate_on_submit():
        carer = current_person() if as_carer else None
        button_action(
            lambda: free_alerts.tell_me(db.session, buddy_request.seeker, buddy_request, carer),
            "We will email you once when a buddy who fits becomes free",
        )
    return redirect(url_for("buddies.request_page", request_id=buddy_request.id))


@bp.route("/requests/<int:request_id>/tell-when-free/stop", methods=["POST"])
@login_required
def stop_telling(request_id: int) -> Response:
    buddy_request, as_carer = _request_or_404(request_id)
    if ConfirmForm().validate_on_submit():
        carer = current_person() if as_carer else None
        button_action(
            lambda: free_alerts.stop(db.session, buddy_request.seeker, buddy_request, carer),
            "We will not email you when a buddy becomes free",
        )
    return redirect(url_for("buddies.request_page", request_id=buddy_request.id))
