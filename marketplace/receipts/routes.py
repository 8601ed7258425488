"""Receipt pages: the signed-in person's receipts (or, with ?for_whom=<id>, those of someone whose
grant covers that money) and one printable receipt. Anyone else is told it does not exist."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import login_required
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response as BaseResponse

from marketplace.auth.access import current_person
from marketplace.auth.sessions import second_factor_done
from marketplace.carers import acting
from marketplace.errors import NotAllowed
from marketplace.extensions import db
from marketplace.receipts import services

bp = Blueprint("receipts", __name__)


class WhoseForm(FlaskForm):
    """Whose receipts to show: a GET form that changes nothing, so it needs no CSRF token."""

    class Meta:
        csrf = False

    for_whom = acting.for_whom_field()


@bp.route("/receipts")
@login_required
def mine() -> str:
    me = current_person()
    helped = services.people_i_can_see(db.session, me)
    form = WhoseForm(request.args)
    form.for_whom.label.text = "Whose receipts do you want to see?"
    form.for_whom.description = None
    holder, carer = acting.whose_page(form.for_whom, helped)
    if carer is None:
        found = services.receipts_of(db.session, holder)
    else:
        try:
            found = services.receipts_for_carer(db.session, carer, holder)
        except NotAllowed:
            abort(404)
        db.session.commit()  # the record that the carer looked, shown to the holder
    return render_template(
        "receipts/mine.html",
        pages=[services.page_for(db.session, r) for r in found],
        holder=holder,
        carer=carer,
        helped=helped,
        form=form,
        ready_within=services.READY_WITHIN,
    )


@bp.route("/receipts/<number>")
@login_required
def show(number: str) -> str | BaseResponse:
    me = current_person()
    receipt = services.find(db.session, number)
    how = services.access(db.session, me, receipt) if receipt is not None else None
    if receipt is None or how is None:
        abort(404)
    if how == services.ADMIN:
        # Support powers, as moderation asks: a second factor first, then the view is audited.
        if not me.has_second_factor:
            flash("Set up a second factor before you use moderation tools", "info")
            return redirect(url_for("account.two_factor", next=request.path))
        if not second_factor_done():
            return redirect(url_for("auth.sign_in_code", next=request.path))
    if how != services.PAYER:
        services.record_view(db.session, me, receipt, how)
        db.session.commit()
    return render_template(
        "receipts/receipt.html", page=services.page_for(db.session, receipt), how=how
    )
