"""Your account: overview, details, password and second factor."""

from __future__ import annotations

import segno
from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_required, logout_user
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
from marketplace.auth.models import User
from marketplace.auth.notices import send_account_notice, send_reset_link
from marketplace.auth.sessions import (
    SECOND_FACTOR_KEY,
    end_session,
    idle_limit_seconds,
    refresh_session,
)
from marketplace.carers import services as carers
from marketplace.db import utcnow
from marketplace.email import ACCOUNT, send_email
from marketplace.errors import DomainError
from marketplace.extensions import db
from marketplace.organisations import services as organisations
from marketplace.web.actions import form_action
from marketplace.web.forms import ConfirmForm, add_error
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
        idle_minutes=idle_limit_seconds(user) // 60,
        max_hours=current_app.config["SESSION_MAX_HOURS"],
    )


@bp.route("/sign-out-everywhere", methods=["POST"])
@login_required
def sign_out_everywhere() -> Response:
    """Every session of this account ends, on every device, this one included."""
    if ConfirmForm().validate_on_submit():
        end_session(current_user._get_current_object())
        db.session.commit()
        flash("You have been signed out everywhere, on every device", "success")
        return redirect(url_for("auth.sign_in"))
    return redirect(url_for("account.overview"))


@bp.route("/details", methods=["GET", "POST"])
@login_required
def details() -> str | Response:
    user = current_user._get_current_object()
    form = DetailsForm(obj=user)
    if form.validate_on_submit():

        def save() -> services.EmailChangeLinks | None:
            services.change_details(
                db.session, user, form.display_name.data or "", form.support_needs.data
            )
            return services.request_email_change(
                db.session, user, form.email.data or "", form.current_password.data or ""
            )

        done = form_action(form, save)
        if done.ok:
            if (links := done.value) is None:
                flash("Your details have been saved", "success")
            else:
                _send_email_change_links(user, links)
                flash(
                    f"We have sent a link to {links.change.new_email}. Your email address "
                    "changes when you follow it, within 24 hours. Until then, sign in with "
                    f"{user.email}",
                    "success",
                )
            return redirect(url_for("account.overview"))
    return render_template("account/details.html", form=form)


def _send_email_change_links(user: User, links: services.EmailChangeLinks) -> None:
    change = links.change
    send_email(
        change.new_email,
        "Confirm your new email address",
        render_template(
            "emails/email_change_confirm.txt",
            user=user,
            link=url_for("account.confirm_email", token=links.confirm_token, _external=True),
        ),
        kind=ACCOUNT,
    )
    send_email(
        change.old_email,
        "Your email address is being changed",
        render_template(
            "emails/email_change_notice.txt",
            user=user,
            when=change.created_at or utcnow(),
            link=url_for("account.not_me", token=links.undo_token, _external=True),
        ),
        user_id=user.id,
        kind=ACCOUNT,
    )


@bp.route("/email/confirm/<token>", methods=["GET", "POST"])
def confirm_email(token: str) -> str | Response:
    """The link sent to the new address. A GET only asks, so a mail scanner changes nothing."""
    change = services.email_change_to_confirm(db.session, token)
    if change is None:
        return render_template(  # type: ignore[return-value]
            "account/email_link_invalid.html", link="to confirm your new email address"
        ), 410
    form = ConfirmForm()
    error = None
    if form.validate_on_submit():
        try:
            user = services.confirm_email_change(db.session, token)
        except DomainError as exc:
            db.session.rollback()
            error = exc.message
        else:
            db.session.commit()
            flash(f"Your email address is now {user.email}", "success")
            return redirect(url_for("account.overview"))
    return render_template("account/confirm_email.html", change=change, form=form, error=error)


@bp.route("/email/not-me/<token>", methods=["GET", "POST"])
def not_me(token: str) -> str | Response:
    """The link sent to the old address: "this was not me"."""
    change = services.email_change_to_undo(db.session, token)
    if change is None:
        return render_template(  # type: ignore[return-value]
            "account/email_link_invalid.html", link="to say a change of email was not you"
        ), 410
    form = ConfirmForm()
    if form.validate_on_submit():
        user = services.undo_email_change(db.session, token)
        started = services.start_password_reset(
            db.session, user.email, current_app.config["PASSWORD_RESET_TTL_SECONDS"]
        )
        db.session.commit()
        if started is not None:
            send_reset_link(*started)
        logout_user()
        session.clear()
        return render_template("account/not_me_done.html", email=user.email)
    return render_template("account/not_me.html", change=change, form=form)


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
            send_account_notice(user, "Your password has been changed", "Your password was changed")
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
            send_account_notice(
                user,
                "Your second factor has been turned on",
                "A second factor was added to your account",
            )
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
            send_account_notice(
                user,
                "Your second factor has been turned off",
                "Your second factor was removed from your account",
            )
            session[SECOND_FACTOR_KEY] = False
            flash("Your second factor is off", "success")
            return redirect(url_for("account.overview"))
    return render_template("account/two_factor_on.html", form=form)
