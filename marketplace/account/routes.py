"""Your account: overview, details, password and second factor."""

from __future__ import annotations

import segno
from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required
from markupsafe import Markup
from werkzeug.wrappers import Response

from marketplace.account.forms import (
    ChangePasswordForm,
    DetailsForm,
    DisableTwoFactorForm,
    EnableTwoFactorForm,
)
from marketplace.auth import services
from marketplace.auth.access import MODERATOR_ROLES
from marketplace.auth.sessions import SECOND_FACTOR_KEY, refresh_session
from marketplace.carers import services as carers
from marketplace.errors import DomainError
from marketplace.extensions import db
from marketplace.organisations import services as organisations
from marketplace.web.actions import form_action
from marketplace.web.forms import add_error
from marketplace.web.redirects import safe_next

bp = Blueprint("account", __name__, url_prefix="/account")

PENDING_SECRET_KEY = "pending_totp_secret"  # noqa: S105 - a session key name, not a secret


@bp.route("")
@login_required
def overview() -> str:
    user = current_user._get_current_object()
    return render_template(
        "account/overview.html",
        staff_records=organisations.organisations_of(db.session, user),
        grants_held=carers.grants_held(db.session, user),
        recent_actions=carers.actions_for_holder(db.session, user, limit=5),
        second_factor_expected=any(user.has_role(r) for r in MODERATOR_ROLES),
    )


@bp.route("/details", methods=["GET", "POST"])
@login_required
def details() -> str | Response:
    user = current_user._get_current_object()
    form = DetailsForm(obj=user)
    if form.validate_on_submit():
        done = form_action(
            form,
            lambda: services.change_details(
                db.session,
                user,
                form.display_name.data or "",
                form.email.data or "",
                form.support_needs.data,
            ),
        )
        if done.ok:
            flash("Your details have been saved", "success")
            return redirect(url_for("account.overview"))
    return render_template("account/details.html", form=form)


@bp.route("/password", methods=["GET", "POST"])
@login_required
def change_password() -> str | Response:
    user = current_user._get_current_object()
    form = ChangePasswordForm()
    if form.validate_on_submit():
        done = form_action(
            form,
            lambda: services.change_password(
                db.session, user, form.current_password.data or "", form.new_password.data or ""
            ),
        )
        if done.ok:
            refresh_session(user)
            flash(
                "Your password has been changed. You have been signed out everywhere else",
                "success",
            )
            return redirect(url_for("account.overview"))
    return render_template("account/password.html", form=form)


def _qr_svg(uri: str) -> Markup:
    svg = segno.make(uri, error="m").svg_inline(scale=4, title="QR code for your authenticator app")
    return Markup(svg)  # noqa: S704 - segno generates the SVG from our own URI, not user input


@bp.route("/two-factor", methods=["GET", "POST"])
@login_required
def two_factor() -> str | Response:
    user = current_user._get_current_object()
    if user.has_second_factor:
        return render_template("account/two_factor_on.html", form=DisableTwoFactorForm())
    secret = session.get(PENDING_SECRET_KEY) or services.new_totp_secret()
    session[PENDING_SECRET_KEY] = secret
    form = EnableTwoFactorForm()
    if form.validate_on_submit():
        try:
            services.enable_second_factor(user, secret, form.code.data or "")
        except DomainError as error:
            add_error(form, error)
        else:
            db.session.commit()
            session.pop(PENDING_SECRET_KEY, None)
            session[SECOND_FACTOR_KEY] = True
            flash("Your second factor is on", "success")
            return redirect(safe_next(request.args.get("next"), "account.overview"))
    uri = services.totp_uri(user, secret)
    return render_template(
        "account/two_factor_setup.html", form=form, secret=secret, qr=_qr_svg(uri)
    )


@bp.route("/two-factor/off", methods=["POST"])
@login_required
def two_factor_off() -> str | Response:
    user = current_user._get_current_object()
    form = DisableTwoFactorForm()
    if form.validate_on_submit():
        try:
            services.disable_second_factor(user, form.password.data or "")
        except DomainError as error:
            add_error(form, error)
        else:
            db.session.commit()
            session[SECOND_FACTOR_KEY] = False
            flash("Your second factor is off", "success")
            return redirect(url_for("account.overview"))
    return render_template("account/two_factor_on.html", form=form)
