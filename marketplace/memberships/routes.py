"""Membership pages: a ULO's offer, joining (check your answers, then a card for the fee), your
memberships (switch, pause, leave), giving time back, help requests, and the staff dashboard.

Thin views: each turns a form into plain values, calls one service and commits once. A ULO that
is not approved is 404; someone else's membership, time log or help request is 404; staff pages
need approved staff of THIS ULO with a second factor (403 otherwise). Carers with the
"memberships" grant act for the holder (`for` in the query string, or the for_whom question).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from sqlalchemy import select
from werkzeug.wrappers import Response as BaseResponse
from wtforms import SelectChoice

from marketplace.auth.access import current_person, moderator_required
from marketplace.auth.models import User
from marketplace.auth.sessions import second_factor_done
from marketplace.carers import acting
from marketplace.carers import services as carers
from marketplace.carers.acting import MYSELF, chosen_holder
from marketplace.carers.models import CarerScope
from marketplace.db import utcnow
from marketplace.errors import DomainError, NotAllowed
from marketplace.extensions import db
from marketplace.memberships import (
    billing,
    charts,
    clearance,
    dashboard,
    help_notices,
    help_requests,
    help_threads,
    hours_notices,
    reciprocity,
    services,
)
from marketplace.memberships.common import (
    live_membership,
    month_start,
    next_month,
    previous_month,
)
from marketplace.memberships.forms import (
    BASIS_LABELS,
    KIND_LABELS,
    REQUEST_CHOICE,
    ClearanceForm,
    CompleteForm,
    HelpMessageForm,
    HelpRequestForm,
    JoinForm,
    LogTimeForm,
    MembershipCardForm,
    OfferForm,
    SwitchCardForm,
    kind_choices,
    minutes_of,
    recipient_choices,
    request_of_choice,
)
from marketplace.memberships.models import (
    Basis,
    HelpOffer,
    HelpRequest,
    HelpRequestStatus,
    LogStatus,
    Membership,
    MembershipStatus,
    OfferStatus,
    Standing,
    TimeLog,
)
from marketplace.moderation import crisis
from marketplace.money import format_pence
from marketplace.organisations import services as organisations
from marketplace.organisations.models import Organisation, OrganisationKind
from marketplace.payments.services import CardDetails
from marketplace.web.actions import button_action, form_action
from marketplace.web.forms import ConfirmForm, as_date, failed
from marketplace.web.template_globals import format_date

bp = Blueprint("memberships", __name__)

JOIN_KEY = "membership_join"
STANDING_WORDS = {
    Standing.GOOD.value: "On track",
    Standing.SHORT.value: "Short of the hours",
    Standing.SO_FAR.value: "On the way",
    Standing.PAUSED.value: "Paused (no hours asked)",
    Standing.FORGIVEN.value: "Shortfall forgiven",
    Standing.NOT_APPLICABLE.value: "Not applicable",
}
STATUS_WORDS = {
    MembershipStatus.ACTIVE.value: "Active",
    MembershipStatus.PAUSED.value: "Paused",
    MembershipStatus.PAYMENT_DUE.value: "Payment due",
    MembershipStatus.LAPSED.value: "Lapsed",
    MembershipStatus.ENDED.value: "Ended",
}
LOG_WORDS = {
    LogStatus.LOGGED.value: "Waiting for confirmation",
    LogStatus.CONFIRMED.value: "Confirmed",
    LogStatus.REJECTED.value: "Not confirmed",
}
REQUEST_WORDS = {
    HelpRequestStatus.OPEN.value: "Open: waiting for offers",
    HelpRequestStatus.ACCEPTED.value: "Someone is helping",
    HelpRequestStatus.DONE.value: "Done",
    HelpRequestStatus.CANCELLED.value: "Cancelled",
}
OFFER_WORDS = {
    OfferStatus.OFFERED.value: "Offered",
    OfferStatus.ACCEPTED.value: "Accepted",
    OfferStatus.DECLINED.value: "Not needed",
    OfferStatus.WITHDRAWN.value: "Withdrawn",
}
# Service field names that the forms call something else (None: above the form).
OFFER_FIELDS = {"reciprocity_minutes": "reciprocity_hours", "organisation": None}
JOIN_FIELDS = {"organisation": None, "membership": None}
CARD_FIELDS = {"card": "number", "basis": None, "organisation": None, "membership": None}
LOG_FIELDS = {"minutes": "hours", "organisation": None}
HELP_FIELDS = {"minutes": "hours", "request": None, "offer": None, "recipient": None}


@bp.app_context_processor
def _membership_labels() -> dict[str, Any]:
    return {
        "membership_status_words": STATUS_WORDS,
        "standing_words": STANDING_WORDS,
        "kind_words": KIND_LABELS,
        "basis_words": BASIS_LABELS,
        "log_words": LOG_WORDS,
        "request_words": REQUEST_WORDS,
        "offer_words": OFFER_WORDS,
        "hours_text": charts.hours_text,
        "standing_text": standing_text,
    }


def standing_text(found: reciprocity.MonthStanding) -> str:
    """A month's standing in words: never "short" while there is still time this month."""
    done = charts.hours_text(found.confirmed_minutes)
    owed = charts.hours_text(found.commitment_minutes)
    if found.standing == Standing.SO_FAR:
        days = f"{found.days_left} day{'' if found.days_left == 1 else 's'} left"
        return f"{done} of {owed} so far, {days}"
    if found.standing in (Standing.PAUSED, Standing.NOT_APPLICABLE):
        return STANDING_WORDS[found.standing.value]  # nothing asked: no "0 of 0"
    return f"{STANDING_WORDS[found.standing.value]}: {done} of {owed}"


# --- who and what -------------------------------------------------------------------------------


def _ulo_or_404(org_id: int) -> Organisation:
    org = db.session.get(Organisation, org_id)
    if org is None or org.kind != OrganisationKind.ULO.value or not org.is_approved:
        abort(404)
    return org


def _staff_org(org_id: int) -> Organisation:
    """The ULO, if the signed-in person is its approved staff (403 otherwise)."""
    org = _ulo_or_404(org_id)
    if not organisations.is_staff(db.session, current_person(), org):
        abort(403)
    return org


def _helped() -> list[User]:
    """Holders who let the signed-in person act for them on memberships."""
    return carers.people_i_act_for(db.session, current_person(), CarerScope.MEMBERSHIPS)


def _membership_or_404(membership_id: int) -> tuple[Membership, User, User | None]:
    """A membership of the signed-in person (or of someone they act for): (it, holder, carer)."""
    membership = db.session.get(Membership, membership_id)
    if membership is None:
        abort(404)
    if membership.user_id == current_person().id:
        return membership, current_person(), None
    helped = _helped()
    if not any(h.id == membership.user_id for h in helped):
        abort(404)
    return membership, membership.user, current_person()


def _request_or_404(request_id: int) -> tuple[HelpRequest, bool, bool]:
    """A help request the signed-in person may see: (it, asked by me or someone I act for,
    I am staff). Members of the ULO and its staff see it too; anyone else gets 404."""
    found = db.session.get(HelpRequest, request_id)
    if found is None:
        abort(404)
    me = current_person()
    mine = found.requester_id == me.id or any(h.id == found.requester_id for h in _helped())
    org = db.session.get(Organisation, found.organisation_id)
    staff = org is not None and organisations.is_staff(db.session, me, org)
    member = live_membership(db.session, found.organisation_id, me.id) is not None
    if not (mine or staff or member):
        abort(404)
    return found, mine, staff


def _requester(found: HelpRequest) -> tuple[User, User | None]:
    """(the requester, the carer acting for them or None), for the signed-in person."""
    return acting.holder_or_404(found.requester_id, _helped())


# --- the ULO's page and its offer ---------------------------------------------------------------


@bp.route("/organisations/<int:org_id>/membership")
def ulo(org_id: int) -> str:
    org = _ulo_or_404(org_id)
    signed_in = current_user.is_authenticated
    mine = live_membership(db.session, org.id, current_person().id) if signed_in else None
    return render_template(
        "memberships/ulo.html",
        org=org,
        offer=services.offer_for(db.session, org),
        mine=mine,
        is_staff=signed_in and organisations.is_staff(db.session, current_person(), org),
    )


@bp.route("/organisations/<int:org_id>/membership/offer", methods=["GET", "POST"])
@moderator_required
def set_offer(org_id: int) -> str | BaseResponse:
    org = _staff_org(org_id)
    offer = services.offer_for(db.session, org)
    form = OfferForm()
    if request.method == "GET" and offer is not None:
        form.fee_pence.data = f"{offer.fee_pence / 100:.2f}" if offer.fee_pence else ""
        if offer.reciprocity_minutes:
            form.reciprocity_hours.process_data(offer.reciprocity_minutes // 60)
        form.reciprocity_kinds.data = list(offer.kinds)
        form.pause_fee_on_break.data = offer.pause_fee_on_break
    if form.validate_on_submit():
        hours = form.reciprocity_hours.data
        data = services.OfferData(
            fee_pence=form.fee_pence.pence,
            reciprocity_minutes=hours * 60 if hours is not None else None,
            reciprocity_kinds=tuple(form.reciprocity_kinds.data or ()),
            pause_fee_on_break=bool(form.pause_fee_on_break.data),
        )
        done = form_action(
            form, lambda: billing.set_offer(db.session, current_person(), org, data), OFFER_FIELDS
        )
        if done.ok:
            flash("The membership offer is saved", "success")
            return redirect(url_for("memberships.ulo", org_id=org.id))
    return render_template("memberships/offer.html", form=form, org=org)


# --- joining: the basis, check your answers, then a card for the fee ----------------------------


def _answers(org: Organisation) -> dict[str, Any] | None:
    answers = (session.get(JOIN_KEY) or {}).get(str(org.id))
    return answers if isinstance(answers, dict) else None


def _keep_answers(org: Organisation, answers: dict[str, Any] | None) -> None:
    saved = dict(session.get(JOIN_KEY) or {})
    if answers is None:
        saved.pop(str(org.id), None)
    else:
        saved[str(org.id)] = answers
    session[JOIN_KEY] = saved


def _answers_or_restart(org: Organisation) -> tuple[dict[str, Any], User, User | None]:
    answers = _answers(org)
    if answers is None:
        abort(redirect(url_for("memberships.join", org_id=org.id)))
    holder, carer = acting.holder_or_404(answers.get("holder_id"), _helped())
    return answers, holder, carer


def _joined(org: Organisation, holder: User, carer: User | None) -> BaseResponse:
    _keep_answers(org, None)
    who = "You are" if carer is None else f"{holder.display_name} is"
    flash(f"{who} now a member of {org.name}", "success")
    return redirect(url_for("memberships.mine"))


@bp.route("/organisations/<int:org_id>/membership/join", methods=["GET", "POST"])
@login_required
def join(org_id: int) -> str | BaseResponse:
    org = _ulo_or_404(org_id)
    offer = services.offer_for(db.session, org)
    if offer is None:
        abort(404)
    helped = _helped()
    form = JoinForm()
    form.for_whom.choices = acting.for_whom_choices(helped)
    form.basis.choices = [
        SelectChoice(b, f"{BASIS_LABELS[b]}: {text}")
        for b, text in (
            (Basis.FEE.value, f"{offer.fee_pence and format_pence(offer.fee_pence)} a month"),
            (Basis.RECIPROCITY.value, charts.hours_text(offer.reciprocity_minutes or 0)),
        )
        if (offer.fee_pence if b == Basis.FEE.value else offer.reciprocity_minutes)
    ]
    if request.method == "GET":
        answers = _answers(org)
        if answers:
            form.basis.data = answers["basis"]
            form.for_whom.data = str(answers.get("holder_id") or MYSELF)
        elif (wanted := request.args.get("for", "")) and any(str(h.id) == wanted for h in helped):
            form.for_whom.data = wanted
    if form.validate_on_submit():
        holder_id = chosen_holder(form.for_whom.data)
        holder, _ = acting.holder_or_404(holder_id, helped)
        if live_membership(db.session, org.id, holder.id) is not None:
            form.form_errors.append("You are already a member of this organisation")
        else:
            _keep_answers(org, {"holder_id": holder_id, "basis": form.basis.data})
            return redirect(url_for("memberships.join_check", org_id=org.id))
    return render_template("memberships/join.html", form=form, org=org, helped=helped)


@bp.route("/organisations/<int:org_id>/membership/join/check", methods=["GET", "POST"])
@login_required
def join_check(org_id: int) -> str | BaseResponse:
    org = _ulo_or_404(org_id)
    answers, holder, carer = _answers_or_restart(org)
    offer = services.offer_for(db.session, org)
    if offer is None:
        abort(404)
    form = ConfirmForm()
    problem = None
    if form.validate_on_submit():
        if answers["basis"] == Basis.FEE.value:
            return redirect(url_for("memberships.join_card", org_id=org.id))
        try:
            services.join(db.session, holder, org, answers["basis"], acting_carer=carer)
        except NotAllowed:
            abort(403)
        except DomainError as error:
            db.session.rollback()
            problem = error.message
        else:
            db.session.commit()
            return _joined(org, holder, carer)
    today = utcnow().date()
    return render_template(
        "memberships/join_check.html",
        org=org,
        offer=offer,
        answers=answers,
        holder=holder,
        carer=carer,
        form=form,
        problem=problem,
        today=today,
    )


def _card(form: Any) -> CardDetails:
    return CardDetails(
        (form.number.data or "").replace(" ", "").replace("-", ""),
        form.exp_month.data or 0,
        form.exp_year.data or 0,
        (form.cvc.data or "").strip(),
    )


@bp.route("/organisations/<int:org_id>/membership/join/card", methods=["GET", "POST"])
@login_required
def join_card(org_id: int) -> str | BaseResponse:
    org = _ulo_or_404(org_id)
    answers, holder, carer = _answers_or_restart(org)
    if answers["basis"] != Basis.FEE.value:
        return redirect(url_for("memberships.join_check", org_id=org.id))
    offer = services.offer_for(db.session, org)
    form = MembershipCardForm()
    if form.validate_on_submit():
        done = form_action(
            form,
            lambda: billing.join_paying(db.session, holder, org, _card(form), acting_carer=carer),
            CARD_FIELDS,
            "number",
        )
        if done.ok:
            return _joined(org, holder, carer)
    form.forget_card()
    return render_template("memberships/card.html", form=form, org=org, offer=offer)


# --- your memberships ---------------------------------------------------------------------------


@bp.route("/memberships")
@login_required
def mine() -> str:
    me = current_person()
    people = [me, *_helped()]
    today = utcnow().date()
    found = []
    for person in people:
        for membership in services.memberships_of(db.session, person):
            found.append(
                {
                    "membership": membership,
                    "person": person,
                    "for_me": person.id == me.id,
                    "subscription": services.current_subscription(membership),
                    "may_switch": services.may_offer_switch(db.session, membership),
                    "standing": reciprocity.standing(db.session, membership, today)
                    if membership.basis == Basis.RECIPROCITY.value and membership.is_live
                    else None,
                }
            )
    return render_template(
        "memberships/mine.html",
        found=found,
        waiting=reciprocity.waiting_for(db.session, me),
        requests=help_requests.requests_of(db.session, me),
    )


@bp.route("/memberships/<int:membership_id>/switch", methods=["GET", "POST"])
@login_required
def switch(membership_id: int) -> str | BaseResponse:
    membership, holder, carer = _membership_or_404(membership_id)
    if not membership.is_live or not services.may_offer_switch(db.session, membership):
        abort(404)
    new_basis = services.other_basis(membership)
    offer = services.offer_for(db.session, membership.organisation)
    form: FlaskForm = SwitchCardForm() if new_basis == Basis.FEE.value else ConfirmForm()
    if form.validate_on_submit():
        card = None
        if isinstance(form, SwitchCardForm) and (form.number.data or "").strip():
            card = _card(form)
        done = form_action(
            form,
            lambda: billing.switch(
                db.session, holder, membership, new_basis, card=card, acting_carer=carer
            ),
            CARD_FIELDS,
        )
        if done.ok:
            flash(
                f"From {membership.pending_from:%-d %B %Y}: {BASIS_LABELS[new_basis].lower()}",
                "success",
            )
            return redirect(url_for("memberships.mine"))
    if isinstance(form, SwitchCardForm):
        form.forget_card()
    return render_template(
        "memberships/switch.html",
        form=form,
        membership=membership,
        holder=holder,
        carer=carer,
        new_basis=new_basis,
        offer=offer,
        next_month=next_month(utcnow().date()),
    )


@bp.route("/memberships/<int:membership_id>/pause", methods=["POST"])
@login_required
def pause(membership_id: int) -> BaseResponse:
    membership, holder, carer = _membership_or_404(membership_id)
    if ConfirmForm().validate_on_submit():
        button_action(
            lambda: services.pause(db.session, holder, membership, acting_carer=carer),
            "Paused. No hours are asked of you until you resume, and this never counts against you",
        )
    return redirect(url_for("memberships.mine"))


@bp.route("/memberships/<int:membership_id>/resume", methods=["POST"])
@login_required
def resume(membership_id: int) -> BaseResponse:
    membership, holder, carer = _membership_or_404(membership_id)
    if ConfirmForm().validate_on_submit():
        button_action(
            lambda: services.resume(db.session, holder, membership, acting_carer=carer),
            "Welcome back. Your membership is active again",
        )
    return redirect(url_for("memberships.mine"))


@bp.route("/memberships/<int:membership_id>/leave", methods=["GET", "POST"])
@login_required
def leave(membership_id: int) -> str | BaseResponse:
    membership, holder, carer = _membership_or_404(membership_id)
    if not membership.is_live or membership.leaving:
        abort(404)
    form = ConfirmForm()
    problem = None
    if form.validate_on_submit():
        try:
            billing.leave(db.session, holder, membership, acting_carer=carer)
        except NotAllowed:
            abort(403)
        except DomainError as error:
            db.session.rollback()
            problem = error.message
        else:
            db.session.commit()
            if membership.is_live:
                running = services.current_subscription(membership)
                end = running.current_period_end if running else None
                flash(
                    "Your fee is cancelled. You stay a member until the end of the month "
                    f"paid for{f' ({end:%-d %B %Y})' if end else ''}. Nothing more is charged",
                    "success",
                )
            else:
                flash(f"You have left {membership.organisation.name}", "success")
            return redirect(url_for("memberships.mine"))
    return render_template(
        "memberships/leave.html",
        form=form,
        membership=membership,
        holder=holder,
        carer=carer,
        subscription=services.current_subscription(membership),
        problem=problem,
    )


# --- giving time back ---------------------------------------------------------------------------


@bp.route("/memberships/<int:membership_id>/time")
@login_required
def time(membership_id: int) -> str:
    membership, holder, carer = _membership_or_404(membership_id)
    today = utcnow().date()
    months = [month_start(today), previous_month(today)]
    return render_template(
        "memberships/time.html",
        membership=membership,
        holder=holder,
        carer=carer,
        logs=reciprocity.logs_of(db.session, membership),
        standings=[reciprocity.standing(db.session, membership, m) for m in months],
    )


@bp.route("/memberships/<int:membership_id>/time/new", methods=["GET", "POST"])
@login_required
def log_time(membership_id: int) -> str | BaseResponse:
    membership, holder, carer = _membership_or_404(membership_id)
    if not membership.is_live:
        abort(404)
    org = membership.organisation
    offer = services.offer_for(db.session, org)
    form = LogTimeForm()
    form.kind.choices = kind_choices(offer.kinds if offer else None)
    matches = reciprocity.matches_of(db.session, org.id, holder.id)
    form.recipient.choices = recipient_choices(
        [
            (m.id, f"{m.requester.display_name}: help on {format_date(m.needed_on)}")
            for m in matches
            if m.requester is not None
        ]
    )
    if request.method == "GET" and (wanted := request.args.get("request", "")).isdigit():
        chosen = next((m for m in matches if m.id == int(wanted)), None)
        if chosen is not None:
            form.recipient.data = f"{REQUEST_CHOICE}{chosen.id}"
            form.kind.data = chosen.kind
    if form.validate_on_submit():
        data = reciprocity.TimeGiven(
            kind=form.kind.data or "",
            given_on=as_date(form.given_on),
            minutes=minutes_of(form.hours, form.minutes),
            description=form.description.data or "",
            help_request_id=request_of_choice(form.recipient.data),
        )
        try:
            entry = reciprocity.log_time(db.session, holder, org, data, acting_carer=carer)
        except DomainError as error:  # NotAllowed too: "clear you first" belongs by the field
            failed(form, error, LOG_FIELDS)
        else:
            db.session.commit()
            hours_notices.ask_to_confirm(db.session, entry.id)
            flash("Time logged. It counts once it is confirmed", "success")
            return redirect(url_for("memberships.time", membership_id=membership.id))
    return render_template(
        "memberships/log_time.html",
        form=form,
        membership=membership,
        holder=holder,
        matched=bool(matches),
    )


@bp.route("/memberships/confirmations")
@login_required
def confirmations() -> str:
    return render_template(
        "memberships/confirmations.html",
        waiting=reciprocity.waiting_for(db.session, current_person()),
    )


def _decide(log_id: int, decision: str) -> BaseResponse:
    entry = db.session.get(TimeLog, log_id)
    if entry is None:
        abort(404)
    me = current_person()
    as_staff = entry.recipient_id != me.id and entry.giver_id != me.id
    if as_staff and not organisations.is_staff(db.session, me, entry.organisation):
        abort(404)
    if as_staff and not second_factor_done():
        abort(403)
    linked = db.session.scalar(select(HelpRequest.id).where(HelpRequest.time_log_id == entry.id))
    if as_staff:
        back = url_for("memberships.dashboard_page", org_id=entry.organisation_id)
    elif linked is not None and entry.recipient_id == me.id:
        back = url_for("memberships.help_request", request_id=linked)  # decided there
    else:
        back = url_for("memberships.confirmations")
    if ConfirmForm().validate_on_submit():
        try:
            if decision == "confirm":
                reciprocity.confirm(db.session, me, entry)
            else:
                reciprocity.reject(db.session, me, entry)
        except NotAllowed:
            abort(403)
        except DomainError as error:
            db.session.rollback()
            flash(error.message, "error")
        else:
            db.session.commit()
            flash(
                "Thank you. The hours are confirmed"
                if decision == "confirm"
                else "Marked as not given. These hours will not count",
                "success",
            )
    return redirect(back)


@bp.route("/memberships/time/<int:log_id>/confirm", methods=["POST"])
@login_required
def confirm_time(log_id: int) -> BaseResponse:
    return _decide(log_id, "confirm")


@bp.route("/memberships/time/<int:log_id>/reject", methods=["POST"])
@login_required
def reject_time(log_id: int) -> BaseResponse:
    return _decide(log_id, "reject")


# --- help requests ------------------------------------------------------------------------------


@bp.route("/organisations/<int:org_id>/help/new", methods=["GET", "POST"])
@login_required
def ask_for_help(org_id: int) -> str | BaseResponse:
    org = _ulo_or_404(org_id)
    helped = _helped()
    form = HelpRequestForm()
    form.for_whom.choices = acting.for_whom_choices(helped)
    if form.validate_on_submit():
        holder, carer = acting.holder_or_404(chosen_holder(form.for_whom.data), helped)
        data = help_requests.HelpRequestData(
            what=form.what.data or "",
            needed_on=as_date(form.needed_on),
            kind=form.kind.data or "",
            place=form.place.data or None,
        )
        done = form_action(
            form,
            lambda: help_requests.post_request(db.session, holder, org, data, acting_carer=carer),
            HELP_FIELDS,
        )
        if done.ok:
            found = done.value
            told = len(help_notices.who_can_take(db.session, found))
            flash(
                f"Your request is sent to {org.name}. "
                + (
                    "We have emailed the members who can help with it"
                    if told
                    else "No member can take this kind of task at the moment"
                )
                + ", and we will email you when someone offers",
                "success",
            )
            crisis.signpost_if_needed(data.what)
            return redirect(url_for("memberships.help_request", request_id=found.id))
    return render_template("memberships/ask.html", form=form, org=org, helped=helped)


@bp.route("/organisations/<int:org_id>/help")
@login_required
def open_help(org_id: int) -> str:
    org = _ulo_or_404(org_id)
    me = current_person()
    membership = live_membership(db.session, org.id, me.id)
    if membership is None and not organisations.is_staff(db.session, me, org):
        abort(403)
    return render_template(
        "memberships/open_help.html",
        org=org,
        requests=help_requests.open_requests(db.session, org),
        membership=membership,
    )


def _help_page(
    found: HelpRequest,
    mine: bool,
    staff: bool,
    form: CompleteForm | None = None,
    message_form: HelpMessageForm | None = None,
) -> str:
    me = current_person()
    my_offer = next((o for o in found.offers if o.user_id == me.id), None)
    membership = live_membership(db.session, found.organisation_id, me.id)
    role = help_threads.role_in(found, me)
    pending = db.session.get(TimeLog, found.time_log_id) if found.time_log_id else None
    return render_template(
        "memberships/help_request.html",
        found=found,
        org=db.session.get(Organisation, found.organisation_id),
        mine=mine,
        staff=staff,
        my_offer=my_offer,
        may_offer=not mine
        and found.status == HelpRequestStatus.OPEN.value
        and membership is not None
        and membership.basis == Basis.RECIPROCITY.value
        and (my_offer is None or my_offer.status != OfferStatus.OFFERED.value),
        accepted=help_requests.accepted_offer(found),
        form=form or CompleteForm(formdata=None),
        role=role,
        thread_messages=help_threads.messages(found) if role else [],
        may_write=role is not None and help_threads.may_write(found),
        other=help_threads.other_of(db.session, found, me) if role else None,
        their_email=help_threads.email_from_other(db.session, found, me) if role else None,
        i_share=role is not None and help_threads.shares_email(found, me),
        message_form=message_form or HelpMessageForm(formdata=None),
        pending=pending if pending is not None and pending.status == LogStatus.LOGGED else None,
        helper_membership=membership if role == help_threads.HELPER else None,
    )


@bp.route("/help/<int:request_id>")
@login_required
def help_request(request_id: int) -> str:
    found, mine, staff = _request_or_404(request_id)
    if help_threads.role_in(found, current_person()) is not None:
        # Reading is not a change the person makes, but it decides when we email them next.
        help_threads.mark_read(found, current_person())
        db.session.commit()
    return _help_page(found, mine, staff)


def _in_thread_or_404(request_id: int) -> tuple[HelpRequest, bool, bool]:
    found, mine, staff = _request_or_404(request_id)
    if help_threads.role_in(found, current_person()) is None:
        abort(404)
    return found, mine, staff


@bp.route("/help/<int:request_id>/messages", methods=["POST"])
@login_required
def send_help_message(request_id: int) -> str | BaseResponse:
    found, mine, staff = _in_thread_or_404(request_id)
    form = HelpMessageForm()
    if form.validate_on_submit():
        body = form.body.data or ""
        done = form_action(
            form,
            lambda: help_threads.send_message(db.session, current_person(), found, body),
        )
        if done.ok:
            crisis.signpost_if_needed(body)
            flash("Message sent", "success")
            return redirect(
                url_for("memberships.help_request", request_id=found.id, _anchor="latest")
            )
    return _help_page(found, mine, staff, message_form=form)


@bp.route("/help/<int:request_id>/share-email", methods=["POST"])
@login_required
def share_help_email(request_id: int) -> BaseResponse:
    found, _, _ = _in_thread_or_404(request_id)
    share = request.form.get("share") == "yes"
    if ConfirmForm().validate_on_submit():
        button_action(
            lambda: help_threads.share_email(db.session, current_person(), found, share),
            "Your email address is shared with them"
            if share
            else "Your email address is no longer shown to them",
        )
    return redirect(url_for("memberships.help_request", request_id=found.id))


@bp.route("/help/<int:request_id>/offer", methods=["POST"])
@login_required
def offer_help(request_id: int) -> BaseResponse:
    found, _, _ = _request_or_404(request_id)
    if ConfirmForm().validate_on_submit():
        try:
            help_requests.offer_help(db.session, current_person(), found)
        except DomainError as error:  # NotAllowed too: its message says what to do
            db.session.rollback()
            flash(error.message, "error")
        else:
            db.session.commit()
            flash(
                "Thank you for offering. We have emailed the person who asked, and we will "
                "email you when they answer",
                "success",
            )
    return redirect(url_for("memberships.help_request", request_id=found.id))


@bp.route("/help/offers/<int:offer_id>/withdraw", methods=["POST"])
@login_required
def withdraw_offer(offer_id: int) -> BaseResponse:
    offer = db.session.get(HelpOffer, offer_id)
    if offer is None or offer.user_id != current_person().id:
        abort(404)
    if ConfirmForm().validate_on_submit():
        try:
            help_requests.withdraw_offer(db.session, current_person(), offer)
        except DomainError as error:
            db.session.rollback()
            flash(error.message, "error")
        else:
            db.session.commit()
            flash("Your offer is withdrawn", "success")
    return redirect(url_for("memberships.help_request", request_id=offer.help_request_id))


@bp.route("/help/offers/<int:offer_id>/accept", methods=["POST"])
@login_required
def accept_offer(offer_id: int) -> BaseResponse:
    offer = db.session.get(HelpOffer, offer_id)
    if offer is None:
        abort(404)
    found, mine, _ = _request_or_404(offer.help_request_id)
    if not mine:
        abort(404)
    holder, carer = _requester(found)
    name = offer.user.display_name if offer.user else "the member"
    if ConfirmForm().validate_on_submit():
        button_action(
            lambda: help_requests.accept_offer(db.session, holder, offer, acting_carer=carer),
            f"Accepted. We have emailed {name}. You can now send each other messages here",
        )
    return redirect(url_for("memberships.help_request", request_id=found.id))


@bp.route("/help/<int:request_id>/complete", methods=["POST"])
@login_required
def complete_help(request_id: int) -> str | BaseResponse:
    found, mine, staff = _request_or_404(request_id)
    if not mine:
        abort(404)
    holder, carer = _requester(found)
    form = CompleteForm()
    if form.validate_on_submit():
        done = form_action(
            form,
            lambda: help_requests.complete(
                db.session,
                holder,
                found,
                minutes_of(form.hours, form.minutes),
                as_date(form.given_on),
                acting_carer=carer,
            ),
            HELP_FIELDS,
        )
        if done.ok:
            flash("Thank you. The hours are logged and confirmed", "success")
            return redirect(url_for("memberships.help_request", request_id=found.id))
    return _help_page(found, mine, staff, form)


@bp.route("/help/<int:request_id>/cancel", methods=["POST"])
@login_required
def cancel_help(request_id: int) -> BaseResponse:
    found, mine, _ = _request_or_404(request_id)
    if not mine:
        abort(404)
    holder, _ = _requester(found)
    offered = any(o.status in (OfferStatus.OFFERED, OfferStatus.ACCEPTED) for o in found.offers)
    if ConfirmForm().validate_on_submit():
        button_action(
            lambda: help_requests.cancel_request(db.session, holder, found),
            "Your request is cancelled"
            + (". We have emailed the people who offered to help" if offered else ""),
        )
    return redirect(url_for("memberships.help_request", request_id=found.id))


# --- the ULO's view -----------------------------------------------------------------------------


@bp.route("/organisations/<int:org_id>/membership/dashboard")
@moderator_required
def dashboard_page(org_id: int) -> str:
    org = _staff_org(org_id)
    me = current_person()
    hours = dashboard.hours_given_per_month(db.session, me, org)
    income = dashboard.fee_income_per_month(db.session, me, org)
    return render_template(
        "memberships/dashboard.html",
        org=org,
        members=dashboard.members(db.session, me, org),
        counts=dashboard.members_by_basis_and_standing(db.session, me, org),
        hours=hours,
        income=income,
        hours_chart=charts.bar_chart(
            "hours-chart", "Hours given each month", hours, charts.short_hours
        ),
        income_chart=charts.bar_chart(
            "income-chart", "Fee income each month", income, format_pence
        ),
        waiting=dashboard.confirmations_waiting(db.session, me, org),
        open_requests=dashboard.open_help_requests(db.session, me, org),
    )


@bp.route("/organisations/<int:org_id>/membership/members.csv")
@moderator_required
def members_csv(org_id: int) -> Response:
    org = _staff_org(org_id)
    return Response(
        dashboard.members_csv(db.session, current_person(), org),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="members-{org.id}.csv"'},
    )


def _staff_membership(org: Organisation, membership_id: int) -> Membership:
    membership = db.session.get(Membership, membership_id)
    if membership is None or membership.organisation_id != org.id:
        abort(404)
    return membership


def _member_page(org: Organisation, membership: Membership, form: ClearanceForm) -> str:
    today = utcnow().date()
    months = [month_start(today), previous_month(today)]
    return render_template(
        "memberships/member.html",
        org=org,
        membership=membership,
        form=form,
        standings=[reciprocity.standing(db.session, membership, m) for m in months]
        if membership.basis == Basis.RECIPROCITY.value
        else [],
        clearances=clearance.clearances_of(db.session, org.id, membership.user_id),
    )


@bp.route(
    "/organisations/<int:org_id>/membership/members/<int:membership_id>", methods=["GET", "POST"]
)
@moderator_required
def member(org_id: int, membership_id: int) -> str | BaseResponse:
    org = _staff_org(org_id)
    membership = _staff_membership(org, membership_id)
    form = ClearanceForm()
    if form.validate_on_submit():
        done = form_action(
            form,
            lambda: clearance.set_clearance(
                db.session,
                current_person(),
                org,
                membership.user,
                form.kind.data or "",
                cleared=form.cleared.data == "yes",
            ),
            {"member": None},
        )
        if done.ok:
            flash("Clearance saved", "success")
            return redirect(
                url_for("memberships.member", org_id=org.id, membership_id=membership.id)
            )
    return _member_page(org, membership, form)


@bp.route(
    "/organisations/<int:org_id>/membership/members/<int:membership_id>/forgive",
    methods=["POST"],
)
@moderator_required
def forgive(org_id: int, membership_id: int) -> BaseResponse:
    org = _staff_org(org_id)
    membership = _staff_membership(org, membership_id)
    month = _month_arg(request.form.get("month", ""))
    if ConfirmForm().validate_on_submit() and month is not None:
        try:
            reciprocity.forgive(db.session, current_person(), membership, month)
        except NotAllowed:
            abort(403)
        except DomainError as error:
            db.session.rollback()
            flash(error.message, "error")
        else:
            db.session.commit()
            flash(f"The shortfall for {month:%B %Y} is forgiven", "success")
    return redirect(url_for("memberships.member", org_id=org.id, membership_id=membership.id))


def _month_arg(text: str) -> date | None:
    """'2026-11' -> 1 November 2026 (None if it is not a month)."""
    try:
        year, month = (int(part) for part in text.split("-"))
        return date(year, month, 1)
    except ValueError:
        return None
