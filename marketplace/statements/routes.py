"""Statement pages: a person's statement (page, CSV, printable) for a date range, their details
for its top, and a provider's payout ledger (page, CSV) with the admin's "record a payout".

A carer sees a holder's statement with the holder's "see my account" grant (CarerScope.VIEW,
?for_whom=<id>); each look is recorded for the holder. Anyone else's id is 404, as on every
carer page. A payout ledger is for the organisation's approved staff and admins only.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_login import login_required
from werkzeug.wrappers import Response as BaseResponse

from marketplace.auth.access import admin_required, current_person
from marketplace.auth.models import Role, User
from marketplace.auth.sessions import second_factor_done
from marketplace.carers import acting
from marketplace.carers import services as carers
from marketplace.carers.acting import MYSELF
from marketplace.carers.models import CarerScope
from marketplace.errors import DomainError
from marketplace.extensions import db
from marketplace.organisations import services as organisations
from marketplace.organisations.models import Organisation
from marketplace.payments import payouts
from marketplace.places.services import all_councils
from marketplace.statements import services
from marketplace.statements.forms import DetailsForm, PayoutForm, RangeForm
from marketplace.web.actions import form_action
from marketplace.web.forms import add_error

bp = Blueprint("statements", __name__)

# A statement is a record of what the holder has paid: the "see my account" grant covers it.
SCOPE = CarerScope.VIEW


def _range_form() -> tuple[RangeForm, User, User | None, services.DateRange | None]:
    """The GET form, whose statement it is (404 for anyone the viewer may not see), and the
    date range asked for (None, with errors beside the fields, when it is not right)."""
    me = current_person()
    helped = carers.people_i_act_for(db.session, me, SCOPE)
    form = RangeForm(request.args)
    holder, carer = acting.whose_page(form.for_whom, helped)
    period = None
    if form.validate():
        try:
            period = services.check_range(form.start.data, form.end.data)
        except DomainError as error:
            add_error(form, error)
    return form, holder, carer, period


def _looked(carer: User | None, holder: User, what: str) -> None:
    """A carer's look at the holder's money is recorded for the holder to see."""
    if carer is not None:
        carers.act_for(db.session, carer, holder.id, SCOPE, what)
        db.session.commit()


def _back_to_the_form() -> BaseResponse:
    """The range was not right: the page shows the errors beside the fields."""
    query = request.query_string.decode()
    return redirect(url_for(".statement") + (f"?{query}" if query else ""))


def _range_args(period: services.DateRange, for_whom: str) -> dict[str, Any]:
    args: dict[str, Any] = {"end": [period.end.day, period.end.month, period.end.year]}
    if period.start is not None:
        args["start"] = [period.start.day, period.start.month, period.start.year]
    if for_whom != MYSELF:
        args["for_whom"] = for_whom
    return args


@bp.route("/statement")
@login_required
def statement() -> str:
    form, holder, carer, period = _range_form()
    found = services.statement_for(db.session, holder, period) if period else None
    _looked(carer, holder, "Looked at your statement")
    for_whom = form.for_whom.data or MYSELF
    quick = [
        (choice.label, choice.range, url_for(".statement", **_range_args(choice.range, for_whom)))
        for choice in services.quick_choices()
    ]
    args = _range_args(period, for_whom) if period else {}
    return render_template(
        "statements/statement.html",
        form=form,
        statement=found,
        holder=holder,
        carer=carer,
        helped=len(form.for_whom.choices) > 1,
        quick=quick,
        csv_url=url_for(".statement_csv", **args) if period else None,
        print_url=url_for(".statement_print", **args) if period else None,
    )


@bp.route("/statement.csv")
@login_required
def statement_csv() -> BaseResponse:
    form, holder, carer, period = _range_form()
    if period is None:
        return _back_to_the_form()
    found = services.statement_for(db.session, holder, period)
    _looked(carer, holder, "Downloaded your statement")
    start = period.start.isoformat() if period.start else "start"
    return Response(
        services.as_csv(found),
        mimetype="text/csv",
        headers={
            "Content-Disposition": (
                f'attachment; filename="statement-{start}-to-{period.end.isoformat()}.csv"'
            )
        },
    )


@bp.route("/statement/print")
@login_required
def statement_print() -> BaseResponse | str:
    form, holder, carer, period = _range_form()
    if period is None:
        return _back_to_the_form()
    found = services.statement_for(db.session, holder, period)
    _looked(carer, holder, "Looked at your statement (printable)")
    back = url_for(".statement", **_range_args(period, form.for_whom.data or MYSELF))
    return render_template("statements/print.html", statement=found, back=back)


@bp.route("/statement/details", methods=["GET", "POST"])
@login_required
def details() -> str | BaseResponse:
    """The holder's own details: a carer who only sees the statement cannot change them."""
    me = current_person()
    saved = services.details_of(db.session, me)
    form = DetailsForm(
        data={
            "name": saved.name_for_statements if saved else None,
            "council_id": saved.council_id if saved else None,
            "reference": saved.direct_payment_reference if saved else None,
        }
        if request.method == "GET"
        else None
    )
    form.council_id.choices = [("", "Not given")] + [
        (c.id, c.name) for c in all_councils(db.session)
    ]
    if form.validate_on_submit():
        done = form_action(
            form,
            lambda: services.save_details(
                db.session, me, form.name.data, form.council_id.data, form.reference.data
            ),
        )
        if done.ok:
            flash("Your statement details are saved", "success")
            return redirect(url_for(".statement"))
    return render_template("statements/details.html", form=form)


# --- a provider's payout ledger -----------------------------------------------------------------


def _ledger_org_or_404(org_id: int) -> Organisation:
    """An organisation whose ledger the signed-in person may read: its approved staff (of an
    approved organisation) or an admin; 404 for anyone else, so ids reveal nothing."""
    org = db.session.get(Organisation, org_id)
    if org is None:
        abort(404)
    if not (_is_admin() or organisations.is_staff(db.session, current_person(), org)):
        abort(404)
    return org


def _is_admin() -> bool:
    """An admin who has passed the second factor in this session (as admin pages require)."""
    return current_person().has_role(Role.ADMIN) and second_factor_done()


@bp.route("/organisations/<int:org_id>/payouts")
@login_required
def payout_ledger(org_id: int) -> str:
    org = _ledger_org_or_404(org_id)
    book = payouts.ledger(db.session, org)
    items = [line.item for line in book.lines if line.item is not None]
    return render_template(
        "statements/payouts.html",
        org=org,
        book=book,
        describe=services.describe_owed(db.session, items),
        is_admin=_is_admin(),
    )


@bp.route("/organisations/<int:org_id>/payouts.csv")
@login_required
def payout_ledger_csv(org_id: int) -> Response:
    org = _ledger_org_or_404(org_id)
    book = payouts.ledger(db.session, org)
    items = [line.item for line in book.lines if line.item is not None]
    return Response(
        payouts.as_csv(book, services.describe_owed(db.session, items)),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="payouts-{org.id}.csv"'},
    )


@bp.route("/admin/organisations/<int:org_id>/payouts/new", methods=["GET", "POST"])
@admin_required
def record_payout(org_id: int) -> str | BaseResponse:
    org = db.session.get(Organisation, org_id)
    if org is None:
        abort(404)
    form = PayoutForm()
    if form.validate_on_submit():
        paid_on: date | None = form.paid_on.data
        done = form_action(
            form,
            lambda: payouts.record_payout(
                db.session,
                current_person(),
                org,
                form.amount.pence or 0,
                form.reference.data or "",
                paid_on,
            ),
        )
        if done.ok:
            flash(f"Payout to {org.name} recorded", "success")
            return redirect(url_for(".payout_ledger", org_id=org.id))
    return render_template(
        "statements/record_payout.html",
        form=form,
        org=org,
        owed=payouts.balance_owed(db.session, org.id),
    )
