"""Register, sign in (with an optional second factor), sign out, reset a password."""

from __future__ import annotations

from flask import (
    Blueprint,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from marketplace.auth import services
from marketplace.auth.forms import (
    CodeForm,
    ForgottenPasswordForm,
    RegisterForm,
    ResetPasswordForm,
    SignInForm,
    SignOutForm,
)
from marketplace.auth.models import UsageIntent, User
from marketplace.auth.notices import send_account_notice, send_reset_link
from marketplace.auth.sessions import PENDING_USER_KEY, end_session, start_session
from marketplace.errors import DomainError
from marketplace.extensions import db, limiter
from marketplace.web.forms import add_error
from marketplace.web.redirects import safe_next

bp = Blueprint("auth", __name__)


def _sign_in_limit() -> str:
    return current_app.config["SIGN_IN_RATE_LIMIT"]


def _reset_limit() -> str:
    return current_app.config["RESET_RATE_LIMIT"]


def _failed_attempt(_response: Response) -> bool:
    """Only failed attempts count towards the limit, so people who get it right are never slowed."""
    return bool(g.get("failed_attempt"))


def _after_sign_in(user: User) -> Response:
    if user.usage_intent in (UsageIntent.PROVIDER.value, UsageIntent.ULO.value) and not any(
        s for s in user.roles
    ):
        return redirect(safe_next(session.pop("next", None), "organisations.mine"))
    return redirect(safe_next(session.pop("next", None), "account.overview"))


@bp.route("/register", methods=["GET", "POST"])
def register() -> str | Response:
    if current_user.is_authenticated:
        return redirect(url_for("account.overview"))
    form = RegisterForm()
    if form.validate_on_submit():
        try:
            user = services.register(
                db.session,
                services.Registration(
                    display_name=form.display_name.data or "",
                    email=form.email.data or "",
                    password=form.password.data or "",
                    usage_intent=UsageIntent(form.usage.data),
                ),
            )
        except DomainError as error:
            add_error(form, error)
        else:
            db.session.commit()
            start_session(user, second_factor_done=False)
            flash("Your account has been created", "success")
            if user.usage_intent in (UsageIntent.PROVIDER.value, UsageIntent.ULO.value):
                return redirect(url_for("organisations.mine"))
            return redirect(url_for("account.overview"))
    return render_template("auth/register.html", form=form)


@bp.route("/sign-in", methods=["GET", "POST"])
@limiter.limit(_sign_in_limit, methods=["POST"], deduct_when=_failed_attempt)
def sign_in() -> str | Response:
    if current_user.is_authenticated:
        return redirect(url_for("account.overview"))
    if request.method == "GET" and request.args.get("next"):
        session["next"] = request.args["next"]
    form = SignInForm()
    if form.validate_on_submit():
        user = services.authenticate(db.session, form.email.data or "", form.password.data or "")
        if user is not None:
            db.session.commit()  # keeps a password hash that authenticate upgraded
        until = (
            services.suspended_until(db.session, form.email.data or "", form.password.data or "")
            if user is None
            else None
        )
        if until is not None:
            form.email.errors = [
                *form.email.errors,
                f"A moderator has suspended this account until {until:%d %B %Y at %H:%M} UTC. "
                "The email we sent you explains why and how to appeal",
            ]
        elif user is None:
            g.failed_attempt = True
            form.email.errors = [
                *form.email.errors,
                "The email address or password is not right",
            ]
        elif user.has_second_factor:
            next_url = session.get("next")
            session.clear()
            if next_url:
                session["next"] = next_url
            session[PENDING_USER_KEY] = user.get_id()
            return redirect(url_for("auth.sign_in_code"))
        else:
            start_session(user, second_factor_done=False)
            return _after_sign_in(user)
    return render_template("auth/sign_in.html", form=form)


@bp.route("/sign-in/code", methods=["GET", "POST"])
@limiter.limit(_sign_in_limit, methods=["POST"], deduct_when=_failed_attempt)
def sign_in_code() -> str | Response:
    """The second step: a code from the person's authenticator app."""
    if current_user.is_authenticated:
        # Signed in already but this session has not passed the second factor.
        user: User | None = current_user._get_current_object()
    else:
        pending = session.get(PENDING_USER_KEY, "")
        user_id, _, version = pending.partition(":")
        user = db.session.get(User, int(user_id)) if user_id.isdigit() else None
        if user is None or str(user.session_version) != version:
            return redirect(url_for("auth.sign_in"))
    if request.method == "GET" and request.args.get("next"):
        session["next"] = request.args["next"]
    if user is not None and not user.has_second_factor:
        return redirect(url_for("account.two_factor"))
    form = CodeForm()
    if form.validate_on_submit() and user is not None:
        if services.use_totp(user, form.code.data or ""):
            db.session.commit()  # the code's time step, so that it cannot be used again
            session.pop(PENDING_USER_KEY, None)
            start_session(user, second_factor_done=True)
            return _after_sign_in(user)
        g.failed_attempt = True
        form.code.errors = [*form.code.errors, "That code is not right. Try the newest code"]
    return render_template("auth/sign_in_code.html", form=form)


@bp.route("/sign-out", methods=["POST"])
@login_required
def sign_out() -> Response:
    form = SignOutForm()
    if not form.validate_on_submit():
        return redirect(url_for("account.overview"))
    end_session(current_user._get_current_object())
    db.session.commit()
    flash("You have signed out", "success")
    return redirect(url_for("pages.home"))


@bp.route("/forgotten-password", methods=["GET", "POST"])
@limiter.limit(_reset_limit, methods=["POST"])
def forgotten_password() -> str | Response:
    form = ForgottenPasswordForm()
    if form.validate_on_submit():
        started = services.start_password_reset(
            db.session, form.email.data or "", current_app.config["PASSWORD_RESET_TTL_SECONDS"]
        )
        db.session.commit()
        if started is not None:
            send_reset_link(*started)
        # The same page whether or not the address has an account.
        return render_template("auth/reset_sent.html", email=form.email.data)
    return render_template("auth/forgotten_password.html", form=form)


@bp.route("/reset-password/<token>", methods=["GET", "POST"])
def reset_password(token: str) -> str | Response:
    if not services.reset_token_is_valid(db.session, token):
        return render_template("auth/reset_invalid.html"), 410  # type: ignore[return-value]
    form = ResetPasswordForm()
    if form.validate_on_submit():
        try:
            user = services.complete_password_reset(db.session, token, form.password.data or "")
        except DomainError as error:
            add_error(form, error)
        else:
            db.session.commit()
            send_account_notice(user, "Your password has been reset", "Your password was reset")
            flash("Your password has been changed. Sign in with your new password", "success")
            return redirect(url_for("auth.sign_in"))
    return render_template("auth/reset_password.html", form=form)
