"""The commitments page: the signed-in person's, or (with ?for_whom=<id>) that of someone who
lets them see what they have joined. Anyone else's id is 404, as on every carer page."""

from __future__ import annotations

from flask import Blueprint, render_template, request
from flask_login import login_required
from flask_wtf import FlaskForm

from marketplace.auth.access import current_person
from marketplace.carers import acting
from marketplace.commitments import services
from marketplace.extensions import db

bp = Blueprint("commitments", __name__)


class WhoseForm(FlaskForm):
    """Whose commitments to show: a GET form that changes nothing, so it needs no CSRF token."""

    class Meta:
        csrf = False

    for_whom = acting.for_whom_field()


@bp.route("/commitments")
@login_required
def mine() -> str:
    me = current_person()
    helped = services.people_i_can_see(db.session, me)
    form = WhoseForm(request.args)
    form.for_whom.label.text = "Whose commitments do you want to see?"
    form.for_whom.description = None
    holder, carer = acting.whose_page(form.for_whom, helped)
    if carer is not None:
        services.record_look(db.session, carer, holder)
    found = services.commitments_of(db.session, holder, viewer=me)
    if carer is not None:
        db.session.commit()  # the record that the carer looked, shown to the holder
    return render_template(
        "commitments/mine.html", found=found, carer=carer, helped=helped, form=form
    )
