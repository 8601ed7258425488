"""Take a break pages: choose how long, check what will happen, confirm; come back in one click.

A carer with the "wellbeing" grant uses the same pages with ?for=<holder id>.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from marketplace.auth import sessions
from marketplace.auth.access import current_person
from marketplace.auth.models import User
from marketplace.errors import DomainError, NotAllowed
from marketplace.extensions import db
from marketplace.web.forms import failed
from marketplace.wellbeing import break_steps, breaks, crisis_plans
from marketplace.wellbeing.forms import LEND, BreakForm, ConfirmBreakForm
from marketplace.wellbeing.models import BreakLength

bp = Blueprint("breaks", __name__)

LENGTHS = {length.value for length in BreakLength}


def _subject() -> tuple[User, User | None]:
    """(whose break, the carer acting for them or None); 404 without the grant."""
    me = current_person()
    holder_id = request.args.get("for", type=int)
    if holder_id is None or holder_id == me.id:
        return me, None
    try:
        return breaks.holder_for(db.session, me, holder_id), me
    except NotAllowed:
        abort(404)


def _for(holder: User, carer: User | None) -> dict[str, Any]:
    """The ?for= argument to keep on every link while a carer acts."""
    return {"for": holder.id} if carer is not None else {}


def _page(template: str, holder: User, carer: User | None, **context: Any) -> str:
    """A break page: every one shows whose break it is and keeps ?for= on its links."""
    return render_template(
        template, holder=holder, carer=carer, args=_for(holder, carer), **context
    )


ON_BREAK = "on_break"
sessions.load_with_user(ON_BREAK, breaks.live_break_exists)


@bp.app_context_processor
def _break_in_navigation() -> dict[str, Any]:
    """Lets the navigation say "You're on a break" instead of "Take a break"."""

    def on_break() -> bool:
        if not current_user.is_authenticated:
            return False
        loaded = sessions.user_fact(ON_BREAK)
        if loaded is None:
            return breaks.is_on_break(db.session, current_user.id)
        return bool(loaded)

    return {"on_break": on_break}


@bp.route("/break", methods=["GET", "POST"])
@login_required
def choose() -> str | Response:
    holder, carer = _subject()
    current = breaks.current_break(db.session, holder.id)
    if current is not None:
        return _page("wellbeing/break_on.html", holder, carer, brk=current)
    form = BreakForm()
    if request.method == "GET" and request.args.get("length") in LENGTHS:
        form.length.data = request.args["length"]  # "Change" from the check page
    if request.method == "GET" and request.args.get("places") == LEND:
        form.places.data = LEND
    if form.validate_on_submit():
        places = LEND if form.places.data == LEND else None
        return redirect(
            url_for("breaks.check", length=form.length.data, places=places, **_for(holder, carer))
        )
    return _page(
        "wellbeing/break_choose.html",
        holder,
        carer,
        form=form,
        helped=[] if carer else breaks.people_i_act_for(db.session, holder),
        can_lend=bool(breaks.places_to_lend(db.session, holder)),
    )


@bp.route("/break/check", methods=["GET", "POST"])
@login_required
def check() -> str | Response:
    holder, carer = _subject()
    args = _for(holder, carer)
    form = ConfirmBreakForm()
    length = (form.length.data if request.method == "POST" else request.args.get("length")) or ""
    chosen = form.places.data if request.method == "POST" else request.args.get("places")
    lend = chosen == LEND
    if length not in LENGTHS or breaks.is_on_break(db.session, holder.id):
        return redirect(url_for("breaks.choose", **args))
    if form.validate_on_submit():
        try:
            # Committed there: any fee is paused at Stripe first, with no transaction open.
            break_steps.start(
                db.session, holder, length, offer_pool_places=lend, acting_carer=carer
            )
        except DomainError as error:
            failed(form, error, fallback="submit")
        else:
            return redirect(url_for("breaks.started", **args))
    form.length.data = length
    form.places.data = LEND if lend else ""
    return _page(
        "wellbeing/break_check.html",
        holder,
        carer,
        form=form,
        plan=breaks.plan(db.session, holder, length, lend_places=lend),
        lend=lend,
    )


@bp.route("/break/started")
@login_required
def started() -> str | Response:
    holder, carer = _subject()
    current = breaks.current_break(db.session, holder.id)
    if current is None:
        return redirect(url_for("breaks.choose", **_for(holder, carer)))
    return _page(
        "wellbeing/break_started.html",
        holder,
        carer,
        brk=current,
        told=crisis_plans.told_about(db.session, holder),
        # Only whether there is one: reading it (an audited view) is the person's own choice.
        has_crisis_plan=carer is None and crisis_plans.plan_of(db.session, holder.id) is not None,
    )


@bp.route("/break/end", methods=["POST"])
@login_required
def end() -> Response:
    holder, carer = _subject()
    try:
        breaks.end_break(db.session, holder, acting_carer=carer)
    except DomainError:
        db.session.rollback()  # already back (another tab, or the break ran out)
    else:
        db.session.commit()
        flash(
            f"{holder.display_name}'s break has ended. Everything is as it was."
            if carer
            else "Welcome back. Everything is as you left it.",
            "success",
        )
    return redirect(url_for("breaks.choose", **_for(holder, carer)))
