"""Asking for a buddy and offering to be one, one question a page (`question_pages`), on the
buddies blueprint: /buddies/ask and /buddies/offer start (or carry on), each page is
/buddies/<ask|offer>/<question>, and /buddies/<ask|offer>/check sends the answers."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import login_required
from werkzeug.wrappers import Response
from wtforms import SelectChoice

from marketplace.auth.access import current_person
from marketplace.auth.models import User
from marketplace.buddies import question_pages as qp
from marketplace.buddies import rounds, services
from marketplace.buddies.models import BuddyProfile, ProfileStatus
from marketplace.buddies.routes import _council_choices, bp
from marketplace.carers import acting
from marketplace.errors import DomainError, NotAllowed
from marketplace.extensions import db
from marketplace.providers.services import all_categories
from marketplace.web.forms import ConfirmForm, add_error

CAPTIONS = {qp.ASK: "Ask for a budget buddy", qp.OFFER: "Offer to be a budget buddy"}
# Only the questions' own names, so that /buddies/offer/pause etc. stay the offer's buttons.
_ASK_SLUGS = ", ".join(repr(s.slug) for s in qp.ASK_STEPS)
_OFFER_SLUGS = ", ".join(repr(s.slug) for s in qp.OFFER_STEPS)


def _helped(flow: str) -> list[User]:
    return services.people_i_ask_for(db.session, current_person()) if flow == qp.ASK else []


def _choices(flow: str, helped: list[User]) -> dict[str, list[Any]]:
    """Choices that come from the database, set on the forms by the view."""
    found: dict[str, list[Any]] = {"council_id": _council_choices()}
    if flow == qp.OFFER:
        found["used_for"] = [SelectChoice(c.slug, c.name) for c in all_categories(db.session)]
    else:
        found["for_whom"] = acting.for_whom_choices(helped)
    return found


def _changing_offer(profile: BuddyProfile | None) -> bool:
    return profile is not None and profile.status != ProfileStatus.WITHDRAWN.value


def _step_url(flow: str, step: qp.Step) -> str:
    return url_for(f"buddies.{flow}_step", slug=step.slug)


def _check_url(flow: str) -> str:
    return url_for(f"buddies.{flow}_check")


def _next(flow: str, draft: qp.Draft, steps: tuple[qp.Step, ...]) -> Response:
    """The next page not answered yet; once all are (or when changing one), the check page."""
    step = qp.unanswered(draft, steps)
    return redirect(_step_url(flow, step) if step else _check_url(flow))


def _draft_or_start(flow: str) -> qp.Draft:
    draft = qp.load(flow, current_person().id)
    if draft is None:
        abort(redirect(url_for(f"buddies.{flow}")))
    return draft


# --- the start of each flow -------------------------------------------------------------------


@bp.route("/ask")
@login_required
def ask() -> Response:
    """Start asking (or carry on where they left off). ?for=<id> asks for someone they help."""
    me = current_person()
    helped = _helped(qp.ASK)
    steps = qp.steps_of(qp.ASK, bool(helped))
    wanted = request.args.get("for", "")
    draft = qp.load(qp.ASK, me.id)
    if draft is None or wanted:
        draft = qp.new_draft(qp.ASK)
        if any(str(h.id) == wanted for h in helped):
            draft.answers["for_whom"] = wanted
            draft.done.append("who")
    qp.save(qp.ASK, me.id, draft)
    return _next(qp.ASK, draft, steps)


@bp.route("/offer")
@login_required
def offer() -> Response:
    """A new offer starts at the first question; an existing one opens at "Check your answers"."""
    me = current_person()
    profile = services.profile_of(db.session, me.id)
    draft = qp.load(qp.OFFER, me.id)
    if _changing_offer(profile) and profile is not None:
        draft = qp.draft_from_profile(profile)
    elif draft is None or draft.changing:
        draft = qp.new_draft(qp.OFFER)
    qp.save(qp.OFFER, me.id, draft)
    return _next(qp.OFFER, draft, qp.OFFER_STEPS)


# --- one question a page ----------------------------------------------------------------------


def _render_step(
    flow: str,
    step: qp.Step,
    form: Any,
    draft: qp.Draft,
    steps: tuple[qp.Step, ...],
) -> str:
    if qp.unanswered(draft, steps) is None:
        back = _check_url(flow)
    else:
        index = steps.index(step)
        back = _step_url(flow, steps[index - 1]) if index else url_for("buddies.index")
    return render_template(
        "buddies/questions/step.html",
        form=form,
        step=step,
        back=back,
        caption=CAPTIONS[flow],
        action=_step_url(flow, step),
        note=_about_me_note(step) if flow == qp.OFFER else None,
    )


def _about_me_note(step: qp.Step) -> str | None:
    """Where a confirmed buddy's words are: waiting to be read, or not shown and why."""
    profile = services.profile_of(db.session, current_person().id)
    if step.slug != "about-me" or profile is None:
        return None
    if profile.status not in (ProfileStatus.CONFIRMED.value, ProfileStatus.PAUSED.value):
        return None
    if profile.about_me_pending:
        return (
            "Your new words are waiting for your local user-led organisation to read them. "
            "Until then, people see the words it read before."
        )
    if profile.about_me_refused:
        return f"The organisation did not show your last words: {profile.about_me_refused}"
    return None


def _step_page(flow: str, slug: str) -> str | Response:
    me = current_person()
    helped = _helped(flow)
    steps = qp.steps_of(flow, bool(helped))
    step = qp.step_called(flow, slug, bool(helped))
    if step is None:
        abort(404)
    draft = _draft_or_start(flow)
    form = qp.step_form(flow, step, data={n: draft.answers.get(n) for n in step.fields})
    for name, options in _choices(flow, helped).items():
        if hasattr(form, name):
            getattr(form, name).choices = options
    if form.validate_on_submit():
        qp.record(draft, step, form)
        qp.save(flow, me.id, draft)
        return _next(flow, draft, steps)
    return _render_step(flow, step, form, draft, steps)


@bp.route(f"/ask/<any({_ASK_SLUGS}):slug>", methods=["GET", "POST"])
@login_required
def ask_step(slug: str) -> str | Response:
    return _step_page(qp.ASK, slug)


@bp.route(f"/offer/<any({_OFFER_SLUGS}):slug>", methods=["GET", "POST"])
@login_required
def offer_step(slug: str) -> str | Response:
    return _step_page(qp.OFFER, slug)


# --- check your answers, then send ------------------------------------------------------------


def _refused(
    flow: str, draft: qp.Draft, steps: tuple[qp.Step, ...], helped: list[User], error: DomainError
) -> str | None:
    """A rule only the service can check: show the page that asked, with the message beside
    the answer (None when the message names no page: the check page shows it)."""
    step = qp.step_for_field(flow, error.field, bool(helped))
    if step is None:
        return None
    form = qp.step_form(
        flow, step, formdata=None, data={n: draft.answers.get(n) for n in step.fields}
    )
    for name, options in _choices(flow, helped).items():
        if hasattr(form, name):
            getattr(form, name).choices = options
    add_error(form, error)
    return _render_step(flow, step, form, draft, steps)


def _check_page(
    flow: str,
    draft: qp.Draft,
    steps: tuple[qp.Step, ...],
    helped: list[User],
    problem: str | None,
    **extra: Any,
) -> str:
    return render_template(
        f"buddies/questions/{flow}_check.html",
        answers=qp.answers_in_words(flow, draft, steps, _choices(flow, helped)),
        draft=draft,
        form=ConfirmForm(),
        caption=CAPTIONS[flow],
        problem=problem,
        step_url=lambda step: _step_url(flow, step),
        **extra,
    )


@bp.route("/ask/check", methods=["GET", "POST"])
@login_required
def ask_check() -> str | Response:
    me = current_person()
    helped = _helped(qp.ASK)
    steps = qp.steps_of(qp.ASK, bool(helped))
    draft = _draft_or_start(qp.ASK)
    if qp.unanswered(draft, steps) is not None:
        return _next(qp.ASK, draft, steps)
    seeker, carer = acting.holder_or_404(
        acting.chosen_holder(draft.answers.get("for_whom")), helped
    )
    problem = None
    if ConfirmForm().validate_on_submit():
        try:
            made = services.ask_for_buddy(db.session, seeker, qp.request_data(draft.answers), carer)
        except NotAllowed:
            abort(403)
        except DomainError as error:
            db.session.rollback()
            page = _refused(qp.ASK, draft, steps, helped, error)
            if page is not None:
                return page
            problem = error.message
        else:
            db.session.commit()
            qp.save(qp.ASK, me.id, None)
            # Only say "here are the people" when there are some to show.
            flash(
                "You have asked for a buddy. Here are the people we suggest"
                if rounds.suggestions_for(db.session, made)
                else "You have asked for a buddy. You have a place in the queue",
                "success",
            )
            return redirect(url_for("buddies.request_page", request_id=made.id))
    return _check_page(qp.ASK, draft, steps, helped, problem, seeker=seeker, carer=carer)


@bp.route("/offer/check", methods=["GET", "POST"])
@login_required
def offer_check() -> str | Response:
    me = current_person()
    steps = qp.OFFER_STEPS
    draft = _draft_or_start(qp.OFFER)
    if qp.unanswered(draft, steps) is not None:
        return _next(qp.OFFER, draft, steps)
    profile = services.profile_of(db.session, me.id)
    changing = _changing_offer(profile)
    problem = None
    if ConfirmForm().validate_on_submit():
        data = qp.offer_data(draft.answers)
        try:
            if changing:
                saved = services.update_profile(db.session, me, data)
            else:
                saved = services.offer_to_be_buddy(db.session, me, data)
        except DomainError as error:
            db.session.rollback()
            page = _refused(qp.OFFER, draft, steps, [], error)
            if page is not None:
                return page
            problem = error.message
        else:
            db.session.commit()
            qp.save(qp.OFFER, me.id, None)
            if changing and saved.status != ProfileStatus.PENDING.value:
                flash("Your changes are saved", "success")
            elif services.checked_locally(db.session, saved):
                flash(
                    "Thank you. Your local user-led organisation will be in touch about "
                    "their buddy induction, then confirm your offer",
                    "success",
                )
            else:
                flash(
                    "Thank you. The site's own team will check your offer, as there is no "
                    "user-led organisation for your area on the site yet. We will email you "
                    "when it is confirmed",
                    "success",
                )
            return redirect(url_for("buddies.index"))
    return _check_page(qp.OFFER, draft, steps, [], problem, changing=changing)
