"""Organisation pages: the public directory, registering, joining, and approving staff."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from werkzeug.wrappers import Response
from wtforms import SelectChoice

from marketplace.auth.models import Role
from marketplace.errors import DomainError, NotAllowed
from marketplace.extensions import db
from marketplace.organisations import services
from marketplace.organisations.forms import OrganisationForm
from marketplace.organisations.models import Organisation, OrganisationKind, OrganisationStaff
from marketplace.places.services import all_councils
from marketplace.web.actions import form_action
from marketplace.web.forms import ConfirmForm

bp = Blueprint("organisations", __name__, url_prefix="/organisations")


def _visible_org_or_404(org_id: int) -> Organisation:
    """Approved organisations are public; others only to their own staff and admins."""
    org = db.session.get(Organisation, org_id)
    if org is None:
        abort(404)
    if org.is_approved:
        return org
    if not current_user.is_authenticated:
        abort(404)
    if current_user.has_role(Role.ADMIN):
        return org
    if services.membership(db.session, current_user, org) is None:
        abort(404)
    return org


@bp.route("")
def directory() -> str:
    kind_arg = request.args.get("kind")
    kind = OrganisationKind(kind_arg) if kind_arg in {k.value for k in OrganisationKind} else None
    return render_template(
        "organisations/directory.html",
        organisations=services.approved_organisations(db.session, kind),
        kind=kind,
    )


@bp.route("/<int:org_id>")
def show(org_id: int) -> str:
    org = _visible_org_or_404(org_id)
    can_manage = current_user.is_authenticated and services.is_owner(db.session, current_user, org)
    return render_template("organisations/show.html", org=org, can_manage=can_manage)


@bp.route("/mine")
@login_required
def mine() -> str:
    return render_template(
        "organisations/mine.html",
        records=services.organisations_of(db.session, current_user),
    )


@bp.route("/new", methods=["GET", "POST"])
@login_required
def new() -> str | Response:
    form = OrganisationForm()
    form.council_ids.choices = [SelectChoice(c.id, c.name) for c in all_councils(db.session)]
    if form.validate_on_submit():
        done = form_action(
            form,
            lambda: services.create_organisation(
                db.session,
                current_user,
                services.OrganisationDetails(
                    name=form.name.data or "",
                    kind=OrganisationKind(form.kind.data),
                    description=form.description.data or "",
                    website=form.website.data,
                    public_email=form.public_email.data,
                    public_phone=form.public_phone.data,
                    council_ids=tuple(form.council_ids.data or ()),
                    postal_address=form.postal_address.data,
                ),
            ),
        )
        if done.ok:
            org = done.value
            flash("Thank you. An administrator will check your organisation soon", "success")
            return redirect(url_for("organisations.show", org_id=org.id))
    return render_template("organisations/new.html", form=form)


@bp.route("/join")
@login_required
def join_list() -> str:
    mine = {r.organisation_id for r in services.organisations_of(db.session, current_user)}
    return render_template(
        "organisations/join.html",
        organisations=services.approved_organisations(db.session),
        mine=mine,
        form=ConfirmForm(),
    )


@bp.route("/<int:org_id>/join", methods=["POST"])
@login_required
def join(org_id: int) -> Response:
    org = _visible_org_or_404(org_id)
    if ConfirmForm().validate_on_submit():
        try:
            services.request_to_join(db.session, current_user, org)
        except DomainError as error:
            flash(error.message, "error")
        else:
            db.session.commit()
            flash(f"You have asked to join {org.name}. An owner will decide", "success")
    return redirect(url_for("organisations.mine"))


@bp.route("/<int:org_id>/staff")
@login_required
def staff(org_id: int) -> str:
    org = _visible_org_or_404(org_id)
    if not services.is_owner(db.session, current_user, org):
        abort(403)
    return render_template(
        "organisations/staff.html",
        org=org,
        pending=services.pending_staff(db.session, org),
        form=ConfirmForm(),
    )


@bp.route("/<int:org_id>/staff/<int:staff_id>/<any(approve, reject):decision>", methods=["POST"])
@login_required
def decide_staff(org_id: int, staff_id: int, decision: str) -> Response:
    record = db.session.get(OrganisationStaff, staff_id)
    if record is None or record.organisation_id != org_id:
        abort(404)
    if ConfirmForm().validate_on_submit():
        try:
            services.decide_staff_request(
                db.session, current_user, record, approve=decision == "approve"
            )
        except NotAllowed:
            abort(403)
        except DomainError as error:
            flash(error.message, "error")
        else:
            db.session.commit()
            flash("Decision saved", "success")
    return redirect(url_for("organisations.staff", org_id=org_id))
