"""Invoice pages: one printable invoice for the member, their carer and the area's ULO staff (who
record money received on it), and the same page behind the private link in the account
holder's email. Anyone else is told it does not exist."""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    url_for,
)
from flask_login import login_required
from werkzeug.wrappers import Response as BaseResponse

from marketplace.auth.access import current_person
from marketplace.db import utcnow
from marketplace.errors import DomainError, NotAllowed
from marketplace.extensions import db
from marketplace.pools import invoices, schedule
from marketplace.pools.forms import InvoicePaymentForm
from marketplace.pools.models import Invoice, Quote
from marketplace.web.forms import failed

bp = Blueprint("invoices", __name__)


def _page(invoice: Invoice) -> dict[str, Any]:
    """What the invoice says, for the page and its print."""
    pool = invoice.pool
    month = invoice.payment.month
    start, end = schedule.service_period(db.session, pool, month)
    quote = db.session.get(Quote, pool.chosen_quote_id) if pool.chosen_quote_id else None
    provider = quote.organisation if quote is not None else None
    return {
        "invoice": invoice,
        "month": month,
        "period_start": start,
        "period_end": end,
        "provider": provider,
        "seller_name": current_app.config["SELLER_NAME"],
        "seller_address": current_app.config["SELLER_ADDRESS"],
        "how_to_pay": invoices.how_to_pay(invoice),
    }


def _render(invoice: Invoice, how: str, form: InvoicePaymentForm | None = None) -> str:
    if how == invoices.STAFF and form is None:
        form = InvoicePaymentForm(formdata=None)
    return render_template(
        "invoices/invoice.html",
        how=how,
        form=form if how == invoices.STAFF and invoice.status == "open" else None,
        **_page(invoice),
    )


def _mine_or_404(number: str) -> tuple[Invoice, str]:
    invoice = invoices.by_number(db.session, number)
    how = invoices.access(db.session, current_person(), invoice) if invoice else None
    if invoice is None or how is None:
        abort(404)
    return invoice, how


@bp.route("/invoices/<number>")
@login_required
def show(number: str) -> str:
    invoice, how = _mine_or_404(number)
    return _render(invoice, how)


@bp.route("/invoices/<number>/payments", methods=["POST"])
@login_required
def record(number: str) -> str | BaseResponse:
    invoice, how = _mine_or_404(number)
    if how != invoices.STAFF:
        abort(404)
    form = InvoicePaymentForm()
    if form.validate_on_submit() and form.received_on.data is not None:
        received = invoices.Received(
            amount_pence=form.amount.pence or 0,
            received_on=form.received_on.data,
            reference=form.reference.data or "",
        )
        try:
            invoices.record_payment(db.session, current_person(), invoice, received, utcnow())
        except NotAllowed:
            abort(404)
        except DomainError as error:
            failed(form, error)
            invoice, how = _mine_or_404(number)  # read again: the failed attempt was undone
        else:
            db.session.commit()
            left = invoice.balance_pence
            flash(
                "Payment recorded. The invoice is paid in full"
                if left == 0
                else "Payment recorded. Part of the invoice is still to pay",
                "success",
            )
            return redirect(url_for("invoices.show", number=number))
    return _render(invoice, how, form)


@bp.route("/invoices/shared/<token>")
def shared(token: str) -> BaseResponse:
    """The account holder's view, from the link in their email: no account needed. The link is
    the key, so the page is never cached or indexed."""
    invoice = invoices.by_token(db.session, token)
    if invoice is None:
        abort(404)
    response = make_response(_render(invoice, "holder"))
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response
