"""Carer access pages: for holders (invite, change, revoke, see actions) and for carers."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, url_for
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from marketplace.auth.models import User
from marketplace.auth.notices import send_account_notice
from marketplace.carers import services
from marketplace.carers.forms import InviteCarerForm, ScopesForm
from marketplace.carers.models import SCOPE_LABELS, CarerGrant, CarerScope
from marketplace.email import send_email
from marketplace.errors import DomainError, NotAllowed
from marketplace.extensions import db
from marketplace.organisations import services as organisations
from marketplace.web.forms import ConfirmForm, add_error

bp = Blueprint("carers", __name__)


def _own_grant_or_404(grant_id: int) -> CarerGrant:
    grant = db.session.get(CarerGrant, grant_id)
    if grant is None or grant.holder_id != current_user.id:
        abort(404)
    return grant


@bp.route("/account/carers", methods=["GET", "POST"])
@login_required
def manage() -> str | Response:
    holder = current_user._get_current_object()
    form = InviteCarerForm()
    if form.validate_on_submit():
        try:
            grant, token = services.invite_carer(
                db.session,
                holder,
                form.email.data or "",
                [CarerScope(s) for s in form.scopes.data or []],
                current_app.config["CARER_INVITE_TTL_SECONDS"],
            )
        except DomainError as error:
            add_error(form, error)
        else:
            db.session.commit()
            send_email(
                grant.invited_email,
                f"{holder.display_name} has asked you to help them on Budget Marketplace",
                render_template(
                    "emails/carer_invitation.txt",
                    holder=holder,
                    grant=grant,
                    labels=SCOPE_LABELS,
                    link=url_for("carers.accept", token=token, _external=True),
                ),
            )
            flash(f"Invitation sent to {grant.invited_email}", "success")
            return redirect(url_for("carers.manage"))
    return render_template(
        "carers/manage.html",
        form=form,
        grants=services.grants_given(db.session, holder),
        actions=services.actions_for_holder(db.session, holder),
        labels=SCOPE_LABELS,
        confirm=ConfirmForm(),
    )


@bp.route("/account/carers/<int:grant_id>", methods=["GET", "POST"])
@login_required
def edit(grant_id: int) -> str | Response:
    grant = _own_grant_or_404(grant_id)
    form = ScopesForm(scopes=sorted(grant.scope_set))
    if form.validate_on_submit():
        try:
            services.change_scopes(
                db.session, current_user, grant.id, [CarerScope(s) for s in form.scopes.data or []]
            )
        except DomainError as error:
            add_error(form, error)
        else:
            db.session.commit()
            flash("Carer access updated", "success")
            return redirect(url_for("carers.manage"))
    return render_template("carers/edit.html", form=form, grant=grant)


@bp.route("/account/carers/<int:grant_id>/revoke", methods=["POST"])
@login_required
def revoke(grant_id: int) -> Response:
    grant = _own_grant_or_404(grant_id)
    if ConfirmForm().validate_on_submit():
        services.revoke(db.session, current_user, grant.id)
        db.session.commit()
        flash("Their access has ended", "success")
    return redirect(url_for("carers.manage"))


@bp.route("/carer/invitation/<token>", methods=["GET", "POST"])
@login_required
def accept(token: str) -> str | Response:
    grant = services.find_invitation(db.session, token)
    if grant is None:
        return render_template("carers/invitation_invalid.html"), 410  # type: ignore[return-value]
    form = ConfirmForm()
    error = None
    if form.validate_on_submit():
        try:
            services.accept_invitation(db.session, current_user, token)
        except DomainError as exc:
            error = exc.message
        else:
            db.session.commit()
            send_account_notice(
                grant.holder,
                "Someone can now act for you as a carer",
                f"{current_user.display_name} accepted your invitation to act for you as a carer",
                more="You choose what they can do, and can end it at any time, under "
                "Manage carer access on your account page.",
            )
            flash(f"You can now help {grant.holder.display_name}", "success")
            return redirect(url_for("carers.people"))
    return render_template(
        "carers/accept.html", grant=grant, form=form, error=error, labels=SCOPE_LABELS
    )


@bp.route("/carer/people")
@login_required
def people() -> str:
    return render_template(
        "carers/people.html",
        grants=services.grants_held(db.session, current_user),
        labels=SCOPE_LABELS,
    )


@bp.route("/carer/people/<int:holder_id>")
@login_required
def person(holder_id: int) -> str:
    """What a carer with the "view" scope may see of the holder's account."""
    try:
        grant = services.act_for(
            db.session, current_user, holder_id, CarerScope.VIEW, "Looked at your account summary"
        )
    except NotAllowed:
        abort(403)
    holder = db.session.get(User, holder_id)
    assert holder is not None  # noqa: S101 - a live grant implies the holder exists
    db.session.commit()
    return render_template(
        "carers/person.html",
        holder=holder,
        grant=grant,
        labels=SCOPE_LABELS,
        staff_records=organisations.organisations_of(db.session, holder),
    )
