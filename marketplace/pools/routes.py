"""Pool pages: find, propose, join (check your answers, then a card), talk, quote, vote, pay.

Thin views: each turns a form into plain values, calls one service and commits once. Hidden
pools are 404 (`services.get_pool_for`); the wrong role is 403. A vote closes by itself (the last
member's vote or the `pools.votes` job); one that chooses a quote only marks the pool funded and
queues the `pools.fund` job (pools/jobs.py), which collects the money: no page waits for Stripe
to charge anyone. Saving a card calls Stripe with no
database transaction open (see `_save_card`). Every share shown comes from `shares`.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import (
    Blueprint,
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
from marketplace.moderation import crisis
from marketplace.moderation import services as moderation
from marketplace.organisations import services as organisations
from marketplace.organisations.models import ApprovalStatus, Organisation, OrganisationKind
from marketplace.payments import outside
from marketplace.payments import services as payments
from marketplace.payments.gateway import CardDeclined, PaymentError, RawCardsRefused, SavedCard
from marketplace.places.services import all_councils
from marketplace.pools import (
    cancel,
    funding,
    invoices,
    joining,
    maximum,
    notices,
    offers,
    quotes,
    schedule,
    services,
    shares,
    statements,
)
from marketplace.pools.forms import (
    PAY_BY_LABELS,
    VOTE_DAYS,
    CancelForm,
    ConfirmCancelForm,
    ConfirmMaximumForm,
    JoinForm,
    MessageForm,
    OpenVoteForm,
    ProposeForm,
    QuoteForm,
    RaiseMaximumForm,
    SearchForm,
    VoteForm,
)
from marketplace.pools.models import (
    MemberStatus,
    PayBy,
    PaymentStatus,
    Pool,
    PoolMember,
    PoolPayment,
    PoolStatus,
    Quote,
)
from marketplace.providers import reference
from marketplace.providers.models import Listing
from marketplace.providers.services import all_categories, published_listing
from marketplace.web.actions import button_action
from marketplace.web.forms import CardForm, ConfirmForm, as_date, failed
from marketplace.web.numbers import whole_number
from marketplace.web.pagination import page_url
from marketplace.web.template_globals import format_datetime

bp = Blueprint("pools", __name__)

JOIN_KEY = "pool_join"
STATUS_WORDS = {
    PoolStatus.PENDING.value: "Waiting for the local user-led organisation to check it",
    PoolStatus.REJECTED.value: "Sent back by the local user-led organisation",
    PoolStatus.OPEN.value: "Open: people can join and providers can quote",
    PoolStatus.VOTING.value: "Members are voting on the quotes",
    PoolStatus.FUNDED.value: "A quote was chosen: it goes ahead on its start date if every "
    "member's share is secured",
    PoolStatus.RUNNING.value: "Running",
    PoolStatus.WINDING_DOWN.value: "Ending",
    PoolStatus.CLOSED.value: "Finished",
    PoolStatus.LAPSED.value: "Ended without going ahead: nobody paid",
    PoolStatus.CANCELLED.value: "Cancelled",
}
# What became of the first month after the vote, shown on the pool page with the vote's result.
FUNDED_WORDS = {
    PoolStatus.RUNNING.value: "Every member's first share was secured, then card shares were "
    "taken and invoices became due: the pool is running",
    PoolStatus.LAPSED.value: "Not every share could be secured, so the pool ended and nobody paid",
}
COLLECTING = (
    "The pool is going ahead if every member's share is secured. Each card member's first "
    "share is held on their card, nothing taken, and taken on the start date only if every "
    "share is secured. Everyone gets an email when the pool goes ahead, or if their payment "
    "needs putting right"
)
NEEDS_PUTTING_RIGHT = (
    "Some shares need putting right before the start date, or every hold is released and "
    "nobody pays"
)
# Service field names that the forms call something else.
FIELD_FOR = {"prices": "total", "quote": "quote", "organisation": None, "closes_at": "days"}


def _viewer() -> User | None:
    return current_person() if current_user.is_authenticated else None


def _pool_or_404(pool_id: int) -> Pool:
    try:
        return services.get_pool_for(db.session, _viewer(), pool_id)
    except NotAllowed:
        abort(404)


def _failed(form: FlaskForm, error: DomainError, fallback: str | None = None) -> None:
    failed(form, error, FIELD_FOR, fallback)


def _helped() -> list[User]:
    return carers.people_i_act_for(db.session, current_person(), CarerScope.POOLS)


def _for_arg() -> int | None:
    value = request.args.get("for", "")
    return int(value) if value.isdigit() else None


@bp.app_context_processor
def _pool_labels() -> dict[str, Any]:
    return {"pool_status_words": STATUS_WORDS, "pay_by_words": PAY_BY_LABELS}


# --- finding pools ------------------------------------------------------------------------------


@bp.route("/pools")
def index() -> str:
    form = SearchForm(request.args)
    # The busiest page of pools: the two lists come from the short-lived per-process copy.
    form.council.choices = [SelectChoice("", "Any council")] + [
        SelectChoice(c.id, c.name) for c in reference.councils(db.session)
    ]
    form.kind.choices = [SelectChoice("", "Any kind")] + [
        SelectChoice(c.id, c.name) for c in reference.categories(db.session)
    ]
    form.validate()
    found = services.open_pools_page(
        db.session,
        # A choice that is not in the list (a hand-made URL) filters nothing.
        council_id=None if form.council.errors else form.council.data or None,
        category_id=None if form.kind.errors else form.kind.data or None,
        text=(form.q.data or "")[:100],
        page=whole_number(request.args.get("page")) or 1,
    )
    return render_template(
        "pools/index.html",
        form=form,
        found=found,
        pools=found.pools,
        days_left={p.id: services.days_left(p) for p in found.pools},
        page_url=page_url,
    )


# --- proposing ----------------------------------------------------------------------------------


def _pool_data(form: ProposeForm) -> services.PoolData:
    deadline = as_date(form.deadline)
    return services.PoolData(
        title=form.title.data or "",
        description=form.description.data or "",
        council_id=form.council_id.data or 0,
        frequency=form.frequency.data or "",
        min_members=form.min_members.data or 0,
        max_members=form.max_members.data or 0,
        cap_pence=form.cap_pence.pence or 0,
        months=form.months.data or 0,
        deadline=deadline,
        area=form.area.data or None,
        category_id=form.category_id.data or None,
        listing_id=int(form.listing_id.data) if (form.listing_id.data or "").isdigit() else None,
    )


@bp.route("/pools/propose", methods=["GET", "POST"])
@login_required
def propose() -> str | BaseResponse:
    helped = _helped()
    form = ProposeForm()
    form.for_whom.choices = acting.for_whom_choices(helped)
    form.council_id.choices = [SelectChoice("", "Choose the council")] + [
        SelectChoice(c.id, c.name) for c in all_councils(db.session)
    ]
    form.category_id.choices = [SelectChoice("", "Not sure yet")] + [
        SelectChoice(c.id, c.name) for c in all_categories(db.session)
    ]
    listing: Listing | None = None
    listing_arg = request.args.get("listing", "")
    if listing_arg.isdigit():
        listing = published_listing(db.session, int(listing_arg))
    if request.method == "GET":
        if listing is not None:
            form.title.data = listing.name
            form.listing_id.data = str(listing.id)
        wanted = request.args.get("for", "")
        if any(str(h.id) == wanted for h in helped):
            form.for_whom.data = wanted
    if form.validate_on_submit():
        holder, carer = acting.holder_or_404(chosen_holder(form.for_whom.data), helped)
        try:
            pool = services.propose(db.session, holder, _pool_data(form), acting_carer=carer)
        except NotAllowed:
            abort(403)
        except DomainError as error:
            _failed(form, error)
        else:
            db.session.commit()
            flash(
                "Thank you. Your proposal is sent to the local user-led organisation to check. "
                "People can join once they have approved it",
                "success",
            )
            return redirect(url_for("pools.pool_page", pool_id=pool.id))
    return render_template("pools/propose.html", form=form, helped=helped, listing=listing)


# --- the pool page ------------------------------------------------------------------------------


def _pool_page(pool: Pool, message_form: MessageForm | None = None) -> str:
    me = _viewer()
    member = services.member_record(db.session, pool, me.id) if me else None
    in_pool = member is not None and member.status in (
        MemberStatus.MEMBER.value,
        MemberStatus.WAITING.value,
    )
    areas = moderation.moderated_council_codes(db.session, me) if me else set()
    area_staff = areas is None or (areas is not None and pool.council.code in areas)
    size = len(pool.current_members)
    shown_quotes = [q for q in pool.quotes if q.status != "withdrawn"]
    votes = quotes.tally(db.session, pool)
    share_month = shares.next_month(pool)
    quote_shares = {
        q.id: (
            shares.share_or_none(db.session, pool, share_month)
            if q.id == pool.chosen_quote_id
            else shares.quote_share(q, pool, share_month)
        )
        for q in shown_quotes
    }
    my_vote = None
    if me is not None and pool.status == PoolStatus.VOTING.value:
        vote_form = VoteForm()
        vote_form.quote.choices = [
            SelectChoice(str(q.id), f"{q.organisation.name}") for q in quotes.live_quotes(pool)
        ]
    else:
        vote_form = None
    if me is not None and member is not None:
        my_vote = quotes.vote_of(db.session, pool, me.id)
    helped = _helped() if me else []
    share_due = schedule.due_date(db.session, pool, share_month)
    return render_template(
        "pools/pool.html",
        offers_here=_offers_here(pool, member, helped),
        leave_by=(
            share_due
            if pool.status == PoolStatus.RUNNING.value
            and shares.last_collected_month(db.session, pool) < share_month
            else None
        ),
        pool=pool,
        me=me,
        member=member,
        in_pool=in_pool,
        is_current_member=member is not None and member.status == MemberStatus.MEMBER.value,
        waiting_place=services.waiting_place(pool, member) if member is not None else None,
        may_run_vote=me is not None and quotes.may_run_vote(db.session, me, pool),
        area_staff=me is not None and area_staff,
        may_post=me is not None and (me.id == pool.proposer_id or member is not None),
        size=size,
        share_size=len(shares.payers(pool, share_month)),
        share_month=share_month,
        quote_shares=quote_shares,
        min_shares={q.id: q.per_member_pence(pool.min_members) for q in shown_quotes},
        my_share=(
            shares.member_share(db.session, pool, member, share_month)
            if member is not None and in_pool and pool.chosen_quote_id
            else None
        ),
        funding_words=_funding_words(pool, votes),
        days_left=services.days_left(pool),
        quotes=shown_quotes,
        votes=votes,
        show_votes=pool.status not in (PoolStatus.OPEN.value, PoolStatus.VOTING.value),
        my_vote=my_vote,
        vote_form=vote_form,
        message_form=message_form or MessageForm(formdata=None),
        my_payments=services.payments_of(db.session, pool, me.id) if me else [],
        invoices=services.invoices_waiting(db.session, pool) if me and area_staff else [],
        invoice_of={i.payment_id: i for i in invoices.for_pool(db.session, pool)},
        helped=helped,
        # A carer reads the payments of the people they act for who are in this pool.
        helped_payments=[
            (h, services.payments_of(db.session, pool, h.id))
            for h in helped
            if me is not None and h.id != me.id and services.is_member(db.session, pool, h.id)
        ],
        vote_must_end_by=quotes.vote_must_end_by(pool),
        open_vote_by=quotes.open_vote_by(pool),
        vote_still_possible=utcnow() <= quotes.open_vote_by(pool),
        votes_needed=quotes.votes_needed(size),
        may_cancel=me is not None
        and pool.status in _cancellable(cancel.role(db.session, me, pool)),
        fixable=(PaymentStatus.FAILED.value, PaymentStatus.ACTION_NEEDED.value),
        payment_words=statements.STATUS_WORDS,
        first_charge=schedule.charge_date(db.session, pool, 1),
        share_on=share_due,
        hold_words=(
            notices.hold_words(db.session, pool, member)
            if pool.status == PoolStatus.FUNDED.value
            else None
        ),
        quote_splits={q.id: shares.quote_split_words(q, pool, share_month) for q in shown_quotes},
    )


def _offers_here(
    pool: Pool, member: PoolMember | None, helped: list[User]
) -> list[tuple[User | None, offers.Offer, str]]:
    """Places offered to the signed-in person (None) or someone they act for, as offers.py
    describes them: what, how much, from when, and until when to say yes."""
    found: list[tuple[User | None, offers.Offer, str]] = []
    if pool.status not in offers.OFFERING:
        return found
    people: list[tuple[User | None, PoolMember | None]] = [(None, member)]
    me = _viewer()
    people += [
        (h, services.member_record(db.session, pool, h.id))
        for h in helped
        if me is not None and h.id != me.id
    ]
    for person, place in people:
        if place is None or place.status != MemberStatus.OFFERED.value:
            continue
        offer = offers.describe(db.session, pool, place, offers.told_at(place) or utcnow())
        if offer is not None:
            found.append((person, offer, offers.words(offer)))
    return found


def _funding_words(pool: Pool, votes: Any) -> str | None:
    """The vote's result and what became of the first month, for a pool whose vote chose."""
    chosen = next((q for q in pool.quotes if q.id == pool.chosen_quote_id), None)
    if chosen is None or pool.months_started > 1:
        return None
    count = votes[chosen.id]
    # The vote's own explanation, written from the count the winner rule used (quotes.explain).
    won = pool.vote_outcome or (
        f"{chosen.organisation.name}'s quote won with {count} vote{'s' if count != 1 else ''}."
    )
    if pool.status == PoolStatus.FUNDED.value:
        fixable = (PaymentStatus.FAILED.value, PaymentStatus.ACTION_NEEDED.value)
        refused = any(r.status in fixable for r in funding.payments_for(db.session, pool, 1))
        return f"{won} {NEEDS_PUTTING_RIGHT if refused else COLLECTING}."
    words = FUNDED_WORDS.get(pool.status)
    return f"{won} {words}." if words else None


@bp.route("/pools/<int:pool_id>")
def pool_page(pool_id: int) -> str:
    return _pool_page(_pool_or_404(pool_id))


@bp.route("/pools/<int:pool_id>/messages", methods=["GET", "POST"])
@login_required
def post_message(pool_id: int) -> str | BaseResponse:
    pool = _pool_or_404(pool_id)
    if request.method == "GET":
        # A refused message leaves this address in the browser; opening it later shows the pool.
        return redirect(url_for("pools.pool_page", pool_id=pool.id, _anchor="discussion"))
    form = MessageForm()
    if form.validate_on_submit():
        try:
            services.post_message(db.session, current_person(), pool, form.body.data or "")
        except NotAllowed:
            abort(403)
        except DomainError as error:
            _failed(form, error, "body")
        else:
            db.session.commit()
            flash("Message posted", "success")
            crisis.signpost_if_needed(form.body.data)
            return redirect(url_for("pools.pool_page", pool_id=pool.id, _anchor="discussion"))
    return _pool_page(pool, form)


# --- joining: your answers, check them, then a card ---------------------------------------------


def _answers(pool: Pool) -> dict[str, Any] | None:
    saved = session.get(JOIN_KEY) or {}
    answers = saved.get(str(pool.id))
    return answers if isinstance(answers, dict) else None


def _keep_answers(pool: Pool, answers: dict[str, Any] | None) -> None:
    saved = dict(session.get(JOIN_KEY) or {})
    if answers is None:
        saved.pop(str(pool.id), None)
    else:
        saved[str(pool.id)] = answers
    session[JOIN_KEY] = saved


def _answers_or_restart(pool: Pool) -> tuple[dict[str, Any], User, User | None]:
    answers = _answers(pool)
    if answers is None:
        abort(redirect(url_for("pools.join", pool_id=pool.id)))
    holder, carer = acting.holder_or_404(answers.get("holder_id"), _helped())
    return answers, holder, carer


@bp.route("/pools/<int:pool_id>/join", methods=["GET", "POST"])
@login_required
def join(pool_id: int) -> str | BaseResponse:
    pool = _pool_or_404(pool_id)
    helped = _helped()
    form = JoinForm()
    form.for_whom.choices = acting.for_whom_choices(helped)
    if request.method == "GET":
        answers = _answers(pool)
        if answers:
            form.for_whom.data = str(answers.get("holder_id") or MYSELF)
            form.max_pence.data = f"{answers['max_pence'] / 100:.2f}"
            form.pay_by.data = answers["pay_by"]
            form.invoice_to.data = answers.get("invoice_to") or ""
            form.invoice_email.data = answers.get("invoice_email") or ""
            form.invoice_reference.data = answers.get("invoice_reference") or ""
        else:
            form.max_pence.data = f"{pool.cap_pence / 100:.2f}"
            wanted = request.args.get("for", "")
            if any(str(h.id) == wanted for h in helped):
                form.for_whom.data = wanted
    if not pool.is_gathering:
        form.form_errors.append("This pool is no longer taking new members")
    elif form.validate_on_submit():
        holder_id = chosen_holder(form.for_whom.data)
        holder, _ = acting.holder_or_404(holder_id, helped)
        pledge = services.Pledge(
            max_pence=form.max_pence.pence or 0,
            pay_by=form.pay_by.data or "",
            invoice_to=(form.invoice_to.data or "").strip() or None,
            invoice_email=(form.invoice_email.data or "").strip() or None,
            invoice_reference=(form.invoice_reference.data or "").strip() or None,
            payment_method_id="to be saved" if form.pay_by.data == PayBy.CARD.value else None,
        )
        existing = services.member_record(db.session, pool, holder.id)
        try:
            if existing is not None and existing.status in services.IN_POOL:
                raise DomainError("You have already joined this pool")
            services.check_pledge(pool, pledge)
        except DomainError as error:
            _failed(form, error)
        else:
            _keep_answers(
                pool,
                {
                    "holder_id": holder_id,
                    "max_pence": pledge.max_pence,
                    "pay_by": pledge.pay_by,
                    "invoice_to": pledge.invoice_to,
                    "invoice_email": pledge.invoice_email,
                    "invoice_reference": pledge.invoice_reference,
                },
            )
            return redirect(url_for("pools.join_check", pool_id=pool.id))
    return render_template("pools/join.html", form=form, pool=pool, helped=helped)


def _joined(pool: Pool, holder: User, member: Any, carer: User | None) -> BaseResponse:
    who = "You are" if carer is None else f"{holder.display_name} is"
    if member.status == MemberStatus.MEMBER.value:
        flash(f"{who} a member of this pool. Nothing is charged now", "success")
    else:
        place = services.waiting_place(pool, member)
        flash(
            f"The pool is full, so {who.lower()} on the waiting list, number {place}. "
            "Nothing is charged now",
            "success",
        )
    return redirect(url_for("pools.pool_page", pool_id=pool.id))


@bp.route("/pools/<int:pool_id>/join/check", methods=["GET", "POST"])
@login_required
def join_check(pool_id: int) -> str | BaseResponse:
    pool = _pool_or_404(pool_id)
    answers, holder, carer = _answers_or_restart(pool)
    form = ConfirmForm()
    problem = None
    if form.validate_on_submit():
        if answers["pay_by"] == PayBy.CARD.value:
            return redirect(url_for("pools.join_card", pool_id=pool.id))
        pledge = services.Pledge(
            max_pence=answers["max_pence"],
            pay_by=answers["pay_by"],
            invoice_to=answers.get("invoice_to"),
            invoice_email=answers.get("invoice_email"),
            invoice_reference=answers.get("invoice_reference"),
        )
        try:
            member = services.join(db.session, holder, pool, pledge, acting_carer=carer)
        except NotAllowed:
            abort(403)
        except DomainError as error:
            db.session.rollback()
            problem = error.message
        else:
            db.session.commit()
            _keep_answers(pool, None)
            return _joined(pool, holder, member, carer)
    return render_template(
        "pools/join_check.html",
        pool=pool,
        answers=answers,
        holder=holder,
        carer=carer,
        terms=services.terms_text(pool, answers["max_pence"], answers["pay_by"]),
        outlook=joining.outlook(db.session, pool, answers["max_pence"], answers["pay_by"]),
        form=form,
        problem=problem,
    )


def _save_card(form: CardForm, user: User, metadata: dict[str, str]) -> SavedCard | None:
    """Save the typed card through Stripe; None (with the error beside the field) if refused.

    No database transaction is open during a Stripe call: on SQLite an open transaction holds
    the write lock (every transaction begins IMMEDIATE) and on PostgreSQL a later pool lock
    would wait on Stripe. So the reads so far are ended, the customer is made and its row
    committed on its own, the card is saved, and only then does the caller write the member.
    Nothing is lost by committing here: nothing has been written yet.
    """
    card = payments.CardDetails(
        (form.number.data or "").replace(" ", "").replace("-", ""),
        form.exp_month.data or 0,
        form.exp_year.data or 0,
        (form.cvc.data or "").strip(),
    )
    try:
        customer_id = outside.customer_ready(db.session, user)
        return payments.save_card_to_customer(customer_id, card, metadata)
    except CardDeclined as error:
        db.session.rollback()
        form.number.errors = [*form.number.errors, str(error) or "Your card was declined"]
    except RawCardsRefused:
        db.session.rollback()
        form.form_errors.append("Cards cannot be typed in here on this site")
    return None


@bp.route("/pools/<int:pool_id>/join/card", methods=["GET", "POST"])
@login_required
def join_card(pool_id: int) -> str | BaseResponse:
    pool = _pool_or_404(pool_id)
    answers, holder, carer = _answers_or_restart(pool)
    if answers["pay_by"] != PayBy.CARD.value:
        return redirect(url_for("pools.join_check", pool_id=pool.id))
    form = CardForm()
    if form.validate_on_submit():
        card = _save_card(form, holder, {"pool": str(pool.id)})
        if card is not None:
            pledge = services.Pledge(
                max_pence=answers["max_pence"],
                pay_by=PayBy.CARD.value,
                payment_method_id=card.payment_method_id,
                card_description=f"{card.brand.title()} ending {card.last4}",
            )
            try:
                member = services.join(db.session, holder, pool, pledge, acting_carer=carer)
            except NotAllowed:
                abort(403)
            except DomainError as error:
                _failed(form, error, "number")
            else:
                db.session.commit()
                _keep_answers(pool, None)
                return _joined(pool, holder, member, carer)
    form.forget_card()
    return render_template("pools/card.html", form=form, pool=pool, answers=answers)


# --- leaving ------------------------------------------------------------------------------------


@bp.route("/pools/<int:pool_id>/leave", methods=["GET", "POST"])
@login_required
def leave(pool_id: int) -> str | BaseResponse:
    pool = _pool_or_404(pool_id)
    holder, carer = acting.holder_or_404(_for_arg(), _helped())
    member = services.member_record(db.session, pool, holder.id)
    if member is None or member.status not in (
        MemberStatus.MEMBER.value,
        MemberStatus.WAITING.value,
    ):
        abort(404)
    form = ConfirmForm()
    problem = None
    if form.validate_on_submit():
        try:
            if pool.is_gathering or member.status == MemberStatus.WAITING.value:
                quotes.leave(db.session, holder, pool, acting_carer=carer)
                message = "You have left the pool. You will not be charged"
            else:
                left = funding.leave_running(db.session, holder, pool, acting_carer=carer)
                message = (
                    f"You leave at the end of month {left.leave_after_month}, which is already "
                    "paid. Nothing more will be charged"
                )
        except NotAllowed:
            abort(403)
        except DomainError as error:
            db.session.rollback()
            problem = error.message
        else:
            db.session.commit()
            flash(message, "success")
            return redirect(url_for("pools.pool_page", pool_id=pool.id))
    return render_template(
        "pools/leave.html",
        pool=pool,
        form=form,
        problem=problem,
        holder=holder,
        carer=carer,
        waiting=member.status == MemberStatus.WAITING.value,
        # Leaving before the next month is charged costs nothing more (funding.leave_running).
        next_due=(
            schedule.due_date(db.session, pool, shares.last_collected_month(db.session, pool) + 1)
            if pool.status == PoolStatus.RUNNING.value
            and shares.last_collected_month(db.session, pool) < pool.months
            else None
        ),
    )


# --- a place offered from the waiting list -----------------------------------------------------


def _offered_or_404(pool: Pool) -> tuple[User, User | None]:
    """(the person offered the place, the carer acting for them or None); 404 for anyone who
    has no offer in this pool, and for a carer without the "pools" grant."""
    holder, carer = acting.holder_or_404(_for_arg(), _helped())
    member = services.member_record(db.session, pool, holder.id)
    if member is None or member.status != MemberStatus.OFFERED.value:
        abort(404)
    return holder, carer


@bp.route("/pools/<int:pool_id>/offer/accept", methods=["POST"])
@login_required
def accept_offer(pool_id: int) -> BaseResponse:
    pool = _pool_or_404(pool_id)
    holder, carer = _offered_or_404(pool)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    else:
        button_action(
            lambda: services.accept_offer(db.session, holder, pool, acting_carer=carer),
            "You have taken the place. Nothing is charged until the date on this page",
        )
    return redirect(url_for("pools.pool_page", pool_id=pool.id, _anchor="offer"))


@bp.route("/pools/<int:pool_id>/offer/decline", methods=["POST"])
@login_required
def decline_offer(pool_id: int) -> BaseResponse:
    pool = _pool_or_404(pool_id)
    holder, carer = _offered_or_404(pool)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    else:
        button_action(
            lambda: services.decline_offer(db.session, holder, pool, acting_carer=carer),
            "You said no to the place. It goes to the next person waiting. Nothing was charged",
        )
    return redirect(url_for("pools.pool_page", pool_id=pool.id))


# --- raising the most you pay -------------------------------------------------------------------


def _place_or_404(pool: Pool) -> PoolMember:
    try:
        return maximum.member_of(db.session, current_person(), pool)
    except NotAllowed:
        abort(404)


@bp.route("/pools/<int:pool_id>/maximum", methods=["GET", "POST"])
@login_required
def raise_maximum(pool_id: int) -> str:
    """Say a new maximum; a valid one goes to check-your-answers before anything changes."""
    pool = _pool_or_404(pool_id)
    member = _place_or_404(pool)
    form = RaiseMaximumForm()
    if form.validate_on_submit():
        new_max = form.max_pence.pence or 0
        try:
            maximum.check_new_maximum(pool, member, new_max)
        except DomainError as error:
            _failed(form, error)
        else:
            return render_template(
                "pools/maximum_check.html",
                pool=pool,
                member=member,
                new_max=new_max,
                held_back=maximum.held_back(db.session, pool, member),
                terms=services.terms_text(pool, new_max, member.pay_by),
                form=ConfirmMaximumForm(formdata=None, max_pence=str(new_max)),
            )
    share_month = shares.next_month(pool)
    return render_template(
        "pools/maximum.html",
        pool=pool,
        member=member,
        form=form,
        share=maximum.current_share(db.session, pool),
        share_month=share_month,
        share_size=len(shares.payers(pool, share_month)),
    )


@bp.route("/pools/<int:pool_id>/maximum/confirm", methods=["POST"])
@login_required
def confirm_maximum(pool_id: int) -> BaseResponse:
    pool = _pool_or_404(pool_id)
    _place_or_404(pool)
    form = ConfirmMaximumForm()
    if not form.validate_on_submit() or not (form.max_pence.data or "").isdigit():
        abort(400)
    try:
        maximum.raise_maximum(db.session, current_person(), pool, int(form.max_pence.data or 0))
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
        return redirect(url_for("pools.raise_maximum", pool_id=pool.id))
    db.session.commit()
    # After the commit: the new terms stand even if a charge below goes wrong. Each charge
    # commits its claim before Stripe is called; the rest is committed here.
    collected = maximum.collect_held_back(db.session, current_person(), pool)
    db.session.commit()
    refused = [row for row in collected if row.status != PaymentStatus.PAID.value]
    if refused:
        flash("Your new maximum is saved, but your bank refused the payment", "error")
    else:
        flash("Your new maximum is saved", "success")
    return redirect(url_for("pools.pool_page", pool_id=pool.id))


# --- voting -------------------------------------------------------------------------------------


@bp.route("/pools/<int:pool_id>/vote", methods=["POST"])
@login_required
def cast_vote(pool_id: int) -> BaseResponse:
    pool = _pool_or_404(pool_id)
    form = VoteForm()
    form.quote.choices = [SelectChoice(str(q.id), q.organisation.name) for q in pool.quotes]
    if not form.validate_on_submit():
        flash("Choose one of the quotes", "error")
        return redirect(url_for("pools.pool_page", pool_id=pool.id, _anchor="quotes"))
    chosen = db.session.get(Quote, int(form.quote.data or 0))
    if chosen is None:
        abort(404)
    if (
        button_action(
            lambda: quotes.vote(db.session, current_person(), pool, chosen),
            "Thank you: your vote is counted",
        )
        and pool.status != PoolStatus.VOTING.value
    ):
        flash(EVERYONE_VOTED, "info")
    return redirect(url_for("pools.pool_page", pool_id=pool.id, _anchor="quotes"))


EVERYONE_VOTED = "Every member has now voted, so the vote has closed. The result is on this page"


def _vote_choices() -> list[SelectChoice]:
    now = utcnow()
    return [
        SelectChoice(days, f"{label}: closes {format_datetime(now + timedelta(days=int(days)))}")
        for days, label in VOTE_DAYS.items()
    ]


@bp.route("/pools/<int:pool_id>/vote/open", methods=["GET", "POST"])
@login_required
def open_vote(pool_id: int) -> str | BaseResponse:
    """Choose how long the vote stays open; the page says when each choice closes and that the
    vote must close before the pool's deadline. Wrong choices come back beside the field."""
    pool = _pool_or_404(pool_id)
    me = current_person()
    if not quotes.may_run_vote(db.session, me, pool):
        abort(403)
    if pool.status != PoolStatus.OPEN.value:
        flash("The vote can only be opened while the pool is open", "info")
        return redirect(url_for("pools.pool_page", pool_id=pool.id, _anchor="quotes"))
    form = OpenVoteForm()
    form.days.choices = _vote_choices()
    if form.validate_on_submit():
        now = utcnow()
        closes = now + timedelta(days=int(form.days.data or 7))
        try:
            quotes.open_vote(db.session, me, pool, closes, now=now)
        except NotAllowed:
            abort(403)
        except DomainError as error:
            _failed(form, error, "days")
        else:
            db.session.commit()
            notices.vote_opened(db.session, pool, quotes.live_quotes(pool))
            flash("The vote is open. Members can now choose a quote", "success")
            return redirect(url_for("pools.pool_page", pool_id=pool.id, _anchor="quotes"))
    return render_template(
        "pools/open_vote.html",
        pool=pool,
        form=form,
        members=len(pool.current_members),
        needed=quotes.votes_needed(len(pool.current_members)),
        must_end_by=quotes.vote_must_end_by(pool),
        open_by=quotes.open_vote_by(pool),
        too_late=utcnow() > quotes.open_vote_by(pool),
        live=quotes.live_quotes(pool),
    )


# --- cancelling ---------------------------------------------------------------------------------


def _cancellable(found: str | None) -> tuple[str, ...]:
    if found is None:
        return ()
    return cancel.BY_STAFF if found == cancel.STAFF else cancel.BY_PROPOSER


def _may_cancel_or_stop(pool: Pool) -> str:
    """The role the signed-in person cancels with; 403 for anyone else, back to the pool page
    when it is too late, and a second factor first for staff powers (as moderation asks)."""
    try:
        found = cancel.check(db.session, current_person(), pool)
    except NotAllowed:
        abort(403)
    except DomainError as error:
        flash(error.message, "error")
        abort(redirect(url_for("pools.pool_page", pool_id=pool.id)))
    if found == cancel.STAFF:
        if not current_user.has_second_factor:
            flash("Set up a second factor before you use moderation tools", "info")
            abort(redirect(url_for("account.two_factor", next=request.path)))
        if not second_factor_done():
            abort(redirect(url_for("auth.sign_in_code", next=request.path)))
    return found


@bp.route("/pools/<int:pool_id>/cancel", methods=["GET", "POST"])
@login_required
def cancel_pool(pool_id: int) -> str:
    """Say why; a valid reason goes to the check page, which says what will happen."""
    pool = _pool_or_404(pool_id)
    _may_cancel_or_stop(pool)
    form = CancelForm()
    if form.validate_on_submit():
        try:
            reason = cancel.clean_reason(form.reason.data or "")
        except DomainError as error:
            _failed(form, error, "reason")
        else:
            return render_template(
                "pools/cancel_check.html",
                pool=pool,
                reason=reason,
                preview=cancel.preview(db.session, current_person(), pool),
                form=ConfirmCancelForm(formdata=None, reason=reason),
            )
    return render_template("pools/cancel.html", pool=pool, form=form)


@bp.route("/pools/<int:pool_id>/cancel/confirm", methods=["POST"])
@login_required
def confirm_cancel(pool_id: int) -> BaseResponse:
    pool = _pool_or_404(pool_id)
    _may_cancel_or_stop(pool)
    form = ConfirmCancelForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        cancel.cancel(db.session, current_person(), pool, form.reason.data or "")
    except NotAllowed:
        abort(403)
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
        return redirect(url_for("pools.cancel_pool", pool_id=pool.id))
    db.session.commit()
    flash("The pool is cancelled. Its members and the people waiting have been emailed", "success")
    return redirect(url_for("pools.pool_page", pool_id=pool.id))


# --- payments -----------------------------------------------------------------------------------


@bp.route("/pools/<int:pool_id>/payments/<int:month>/fix", methods=["GET", "POST"])
@login_required
def fix_payment(pool_id: int, month: int) -> str | BaseResponse:
    pool = _pool_or_404(pool_id)
    me = current_person()
    row = next((p for p in services.payments_of(db.session, pool, me.id) if p.month == month), None)
    if row is None or row.status not in (
        PaymentStatus.FAILED.value,
        PaymentStatus.ACTION_NEEDED.value,
    ):
        abort(404)
    form = CardForm()
    # Month one is held, not taken, until the start date (the page says so).
    form.submit.label.text = "Save card and hold my share" if month == 1 else "Save card and pay"
    if form.validate_on_submit():
        card = _save_card(form, me, {"pool": str(pool.id), "month": str(month)})
        if card is not None:
            try:
                row = funding.retry_payment(
                    db.session,
                    me,
                    pool,
                    month,
                    card.payment_method_id,
                    f"{card.brand.title()} ending {card.last4}",
                )
            except NotAllowed:
                abort(404)
            except DomainError as error:
                _failed(form, error, "number")
            else:
                db.session.commit()
                if row.status == PaymentStatus.PAID.value:
                    flash("Thank you: your payment went through", "success")
                    return redirect(url_for("pools.pool_page", pool_id=pool.id))
                if row.status == PaymentStatus.HELD.value:
                    flash(
                        "Thank you: your share is held on your card, nothing taken yet. It is "
                        "taken on the start date only if every share is secured",
                        "success",
                    )
                    return redirect(url_for("pools.pool_page", pool_id=pool.id))
                if row.status == PaymentStatus.ACTION_NEEDED.value:
                    return redirect(url_for("pools.confirm_payment", pool_id=pool.id, month=month))
                form.number.errors = [row.message or "Your bank refused the payment"]
    form.forget_card()
    return render_template("pools/fix_payment.html", form=form, pool=pool, payment=row)


@bp.route("/pools/<int:pool_id>/payments/<int:month>/confirm", methods=["GET", "POST"])
@login_required
def confirm_payment(pool_id: int, month: int) -> str | BaseResponse:
    """3-D Secure: the member confirms, on session, a payment their bank asked about. In
    production Stripe.js runs the bank's challenge on this page; here the button asks our
    server, which asks localstripe (see payments.authenticate)."""
    pool = _pool_or_404(pool_id)
    me = current_person()
    row = next((p for p in services.payments_of(db.session, pool, me.id) if p.month == month), None)
    if row is None or row.status != PaymentStatus.ACTION_NEEDED.value:
        abort(404)
    form = ConfirmForm()
    problem = None
    if form.validate_on_submit():
        try:
            row = funding.confirm_payment(db.session, me, pool, month)
        except NotAllowed:
            abort(404)
        except (DomainError, PaymentError) as error:
            db.session.rollback()
            problem = error.message
        else:
            db.session.commit()
            if row.status == PaymentStatus.HELD.value:
                flash(
                    "Thank you: your bank confirmed it. Your share is held on your card and "
                    "taken on the start date only if every share is secured",
                    "success",
                )
                return redirect(url_for("pools.pool_page", pool_id=pool.id))
            if row.status == PaymentStatus.PAID.value:
                flash("Thank you: your payment went through", "success")
                return redirect(url_for("pools.pool_page", pool_id=pool.id))
            problem = row.message or "Your bank did not confirm the payment"
    return render_template(
        "pools/confirm_payment.html",
        form=form,
        pool=pool,
        payment=row,
        problem=problem,
        first_charge=schedule.charge_date(db.session, pool, 1),
    )


@bp.route("/pools/payments/<int:payment_id>/accepted", methods=["POST"])
@moderator_required
def accept_invoice(payment_id: int) -> BaseResponse:
    row = db.session.get(PoolPayment, payment_id)
    if row is None:
        abort(404)
    if ConfirmForm().validate_on_submit():
        button_action(
            lambda: funding.accept_invoice(db.session, current_person(), row),
            "Accepted: this share counts as secured",
        )
    return redirect(url_for("pools.pool_page", pool_id=row.pool_id, _anchor="invoices"))


@bp.route("/pools/statement")
def statement() -> BaseResponse:
    """Moved: one statement now covers pools and fees (marketplace/statements)."""
    return redirect(url_for("statements.statement"), code=301)


@bp.route("/pools/statement.csv")
def statement_csv() -> BaseResponse:
    return redirect(url_for("statements.statement_csv"), code=301)


# --- providers ----------------------------------------------------------------------------------


def _provider_orgs() -> list[Organisation]:
    return [
        s.organisation
        for s in organisations.organisations_of(db.session, current_person())
        if s.status == ApprovalStatus.APPROVED.value
        and s.organisation.kind == OrganisationKind.PROVIDER.value
        and s.organisation.status == ApprovalStatus.APPROVED.value
    ]


@bp.route("/provider/pools")
@login_required
def provider_pools() -> str:
    orgs = _provider_orgs()
    return render_template(
        "pools/provider_pools.html",
        found=[(org, quotes.pools_to_quote(db.session, org)) for org in orgs],
    )


@bp.route("/pools/<int:pool_id>/quote", methods=["GET", "POST"])
@login_required
def quote(pool_id: int) -> str | BaseResponse:
    pool = _pool_or_404(pool_id)
    org_arg = request.args.get("org", "")
    org = db.session.get(Organisation, int(org_arg)) if org_arg.isdigit() else None
    if org is None:
        abort(404)
    if org.kind != OrganisationKind.PROVIDER.value or not organisations.is_staff(
        db.session, current_person(), org
    ):
        abort(403)
    form = QuoteForm()
    if form.validate_on_submit():
        start = as_date(form.start_date)
        total = form.total.pence or 0
        data = quotes.QuoteData(
            start_date=start,
            prices=quotes.even_split(total, pool.min_members, pool.max_members),
            total_pence=total,
            terms=form.terms.data or "",
        )
        try:
            quotes.submit_quote(db.session, current_person(), org, pool, data)
        except NotAllowed:
            abort(403)
        except DomainError as error:
            _failed(form, error)
        else:
            db.session.commit()
            flash("Your quote is sent. Members see each person's share at each size", "success")
            return redirect(url_for("pools.pool_page", pool_id=pool.id, _anchor="quotes"))
    previous = max(
        (q for q in pool.quotes if q.organisation_id == org.id), key=lambda q: q.id, default=None
    )
    return render_template(
        "pools/quote.html",
        form=form,
        pool=pool,
        org=org,
        previous=previous,
        taken_off=quotes.withdrawal_reason(db.session, previous) if previous else None,
    )
