"""Crisis plan pages: the person's own plan, and plans that name the signed-in person.

Every page that shows a plan writes an audit entry, so a GET commits.
"""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, url_for
from flask_login import login_required
from werkzeug.wrappers import Response
from wtforms import SelectChoice

from marketplace.auth.access import current_person
from marketplace.auth.models import User
from marketplace.carers.models import SCOPE_LABELS
from marketplace.email import ACTION, send_email
from marketplace.errors import DomainError, NotAllowed
from marketplace.extensions import db
from marketplace.web.forms import ConfirmForm, add_error
from marketplace.wellbeing import breaks, crisis_plans
from marketplace.wellbeing.crisis_plan_forms import PAUSE_LABELS, CrisisPlanForm
from marketplace.wellbeing.crisis_plan_models import CrisisPlan

bp = Blueprint("crisis_plans", __name__)


def _fill_choices(form: CrisisPlanForm, user: User) -> None:
    form.tell.choices = [
        SelectChoice(c.user.id, c.label) for c in crisis_plans.candidates(db.session, user)
    ]
    form.delegate.choices = [
        SelectChoice("", "Nobody"),
        *(
            SelectChoice(str(carer.id), f"{carer.display_name} (your carer)")
            for carer in crisis_plans.delegate_choices(db.session, user)
        ),
        SelectChoice(crisis_plans.BY_EMAIL, "Someone else: we will email them an invitation"),
    ]


def _prefill(form: CrisisPlanForm, plan: CrisisPlan) -> None:
    form.tell.data = [contact.user_id for contact in plan.contacts]
    form.pause.data = [
        name
        for name, wanted in (("buddies", plan.pause_buddies), ("emails", plan.pause_emails))
        if wanted
    ]
    grant = crisis_plans.delegate_of(plan)
    if grant is not None:
        if grant.carer_id is not None and grant.carer_id in {
            c.id for c in crisis_plans.delegate_choices(db.session, plan.user)
        }:
            form.delegate.data = str(grant.carer_id)
        else:
            form.delegate.data = crisis_plans.BY_EMAIL
            form.delegate_email.data = grant.invited_email
        form.scopes.data = sorted(s.value for s in grant.scope_set)
        form.days.data = plan.delegate_days
    form.message.data = plan.message


def _input(form: CrisisPlanForm) -> crisis_plans.PlanInput:
    pause = set(form.pause.data or [])
    return crisis_plans.PlanInput(
        tell=list(form.tell.data or []),
        pause_buddies="buddies" in pause,
        pause_emails="emails" in pause,
        delegate=form.delegate.data or crisis_plans.NO_DELEGATE,
        delegate_email=form.delegate_email.data or "",
        scopes=list(form.scopes.data or []),
        days=form.days.data,
        message=form.message.data or "",
    )


def _send_invitation(user: User, plan: CrisisPlan, token: str) -> None:
    grant = plan.grant
    if grant is None:
        return
    send_email(
        grant.invited_email,
        f"{user.display_name} has named you in their crisis plan on Budget Marketplace",
        render_template(
            "emails/crisis_plan_invitation.txt",
            holder=user,
            grant=grant,
            days=plan.delegate_days,
            labels=SCOPE_LABELS,
            link=url_for("carers.accept", token=token, _external=True),
        ),
        kind=ACTION,
    )


@bp.route("/account/crisis-plan", methods=["GET", "POST"])
@login_required
def mine() -> str | Response:
    me = current_person()
    form = CrisisPlanForm()
    _fill_choices(form, me)
    if form.validate_on_submit():
        try:
            saved, token = crisis_plans.save_plan(
                db.session,
                me,
                _input(form),
                current_app.config["CARER_INVITE_TTL_SECONDS"],
            )
        except DomainError as error:
            db.session.rollback()
            _fill_choices(form, me)
            add_error(form, error)
        else:
            db.session.commit()
            if token is not None:
                _send_invitation(me, saved, token)
            flash("Your crisis plan is saved", "success")
            return redirect(url_for("crisis_plans.mine"))
    plan: CrisisPlan | None = crisis_plans.view_own(db.session, me)
    if plan is not None and not form.is_submitted():
        _prefill(form, plan)
    db.session.commit()  # the audit entry for this view
    return render_template(
        "wellbeing/crisis_plan.html",
        form=form,
        plan=plan,
        taking_a_break=breaks.is_on_break(db.session, me.id),
        delete_form=ConfirmForm(),
        labels=SCOPE_LABELS,
        pause_labels=PAUSE_LABELS,
    )


@bp.route("/account/crisis-plan/delete", methods=["POST"])
@login_required
def delete() -> Response:
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    crisis_plans.delete_plan(db.session, current_person())
    db.session.commit()
    flash("Your crisis plan is deleted", "success")
    return redirect(url_for("crisis_plans.mine"))


@bp.route("/account/crisis-plans")
@login_required
def named_in() -> str:
    return render_template(
        "wellbeing/crisis_plan_named_in.html",
        plans=crisis_plans.plans_named_in(db.session, current_person()),
    )


@bp.route("/crisis-plans/<int:plan_id>")
@login_required
def named(plan_id: int) -> str | Response:
    me = current_person()
    own = crisis_plans.plan_of(db.session, me.id)
    if own is not None and own.id == plan_id:
        return redirect(url_for("crisis_plans.mine"))  # audited there
    try:
        plan = crisis_plans.view_plan(db.session, me, plan_id)
    except NotAllowed:
        abort(404)
    db.session.commit()  # the audit entry for this view
    return render_template(
        "wellbeing/crisis_plan_view.html",
        plan=plan,
        grant=crisis_plans.delegate_of(plan),
        labels=SCOPE_LABELS,
        pause_labels=PAUSE_LABELS,
    )
