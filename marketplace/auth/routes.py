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
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from marketplace import outbox
from marketplace.auth import services, throttle
from marketplace.auth.forms import (
    CodeForm,
    ForgottenPasswordForm,
    RegisterForm,
    ResetPasswordForm,
    SignInForm,
    SignInLinkForm,
    SignOutForm,
)
from marketplace.auth.models import UsageIntent, User
from marketplace.auth.notices import (
    send_account_notice,
    send_already_registered,
    send_registration_link,
    send_reset_link,
    send_sign_in_link,
)
from marketplace.auth.passwords import hash_password
from marketplace.auth.sessions import PENDING_USER_KEY, end_session, start_session
from marketplace.errors import DomainError
from marketplace.extensions import db, limiter
from marketplace.web.forms import ConfirmForm, add_error
from marketplace.web.redirects import safe_next

bp = Blueprint("auth", __name__)


@bp.context_processor
def _link_minutes() -> dict[str, int]:
    return {"link_minutes": services.SIGN_IN_LINK_TTL_SECONDS // 60}


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
    """The answer is the same "check your email" page for every address: whether it has an
    account is found out after the response has gone (outbox.after_response), and the password
    is hashed here either way, so neither the words nor the time give it away."""
    if current_user.is_authenticated:
        return redirect(url_for("account.overview"))
    form = RegisterForm()
    if form.validate_on_submit():
        data = services.Registration(
            display_name=form.display_name.data or "",
            email=form.email.data or "",
            password=form.password.data or "",
            usage_intent=UsageIntent(form.usage.data),
        )
        try:
            services.check_registration(db.session, data)
        except DomainError as error:
            add_error(form, error)
        else:
            password_hash = hash_password(data.password)
            outbox.after_response(
                lambda session: _start_registration(session, data, password_hash),
                what=("registration", services.normalise_email(data.email)),
            )
            return render_template("auth/register_sent.html", email=data.email.strip())
    return render_template("auth/register.html", form=form)


def _start_registration(session: Session, data: services.Registration, password_hash: str) -> None:
    started = services.start_registration(session, data, password_hash)
    if started.existing is not None:
        send_already_registered(started.existing)
    elif started.token is not None:
        send_registration_link(started.email, data.display_name.strip(), started.token)


@bp.route("/register/confirm/<token>", methods=["GET", "POST"])
def confirm_registration(token: str) -> str | Response:
    """The emailed link. A GET only asks, so a mail scanner opening it opens no account."""
    pending = services.registration_to_confirm(db.session, token)
    if pending is None:
        return render_template("auth/registration_invalid.html"), 410  # type: ignore[return-value]
    form = ConfirmForm()
    error = None
    if form.validate_on_submit():
        try:
            user = services.confirm_registration(db.session, token)
        except DomainError as exc:
            db.session.rollback()
            error = exc.message
        else:
            db.session.commit()
            if current_user.is_authenticated:
                end_session(current_user._get_current_object())
            start_session(user, second_factor_done=False)
            flash("Your account has been created", "success")
            if user.usage_intent in (UsageIntent.PROVIDER.value, UsageIntent.ULO.value):
                return redirect(url_for("organisations.mine"))
            return redirect(url_for("account.overview"))
    return render_template(
        "auth/confirm_registration.html", pending=pending, form=form, error=error
    )


@bp.route("/sign-in", methods=["GET", "POST"])
@limiter.limit(_sign_in_limit, methods=["POST"], deduct_when=_failed_attempt)
def sign_in() -> str | Response:
    if current_user.is_authenticated:
        return redirect(url_for("account.overview"))
    if request.method == "GET" and request.args.get("next"):
        session["next"] = request.args["next"]
    form = SignInForm()
    throttled_for = None
    if form.validate_on_submit():
        attempt = services.attempt_sign_in(
            db.session, form.email.data or "", form.password.data or ""
        )
        user = attempt.user
        if user is not None:
            db.session.commit()  # keeps a password hash that authenticate upgraded
        if attempt.suspended_until is not None:
            form.email.errors = [
                *form.email.errors,
                "A moderator has suspended this account until "
                f"{attempt.suspended_until:%d %B %Y at %H:%M} UTC. "
                "The email we sent you explains why and how to appeal",
            ]
        elif attempt.throttled:
            # A failure for the address limit too, right password or not, so that neither the
            # page nor its rate-limit headers say which it was.
            g.failed_attempt = True
            throttled_for = throttle.window_minutes()
            form.email.errors = [*form.email.errors, THROTTLED]
        elif user is None:
            g.failed_attempt = True
            form.email.errors = [
                *form.email.errors,
                "The email address or password is not right",
            ]
        elif user.has_second_factor:
            return _to_second_factor(user)
        else:
            start_session(user, second_factor_done=False)
            return _after_sign_in(user)
    return render_template("auth/sign_in.html", form=form, throttled_for=throttled_for)


THROTTLED = (
    "Too many wrong passwords have been tried for this account, so a password on its own "
    "cannot sign in to it for now"
)


def _to_second_factor(user: User) -> Response:
    next_url = session.get("next")
    session.clear()
    if next_url:
        session["next"] = next_url
    session[PENDING_USER_KEY] = user.get_id()
    return redirect(url_for("auth.sign_in_code"))


@bp.route("/sign-in/link", methods=["GET", "POST"])
@limiter.limit(_reset_limit, methods=["POST"])
def sign_in_link() -> str | Response:
    """Ask for a one-time sign-in link: the same answer for every address, the look-up and the
    email after the response (as for a reset)."""
    if current_user.is_authenticated:
        return redirect(url_for("account.overview"))
    form = SignInLinkForm()
    if form.validate_on_submit():
        email = form.email.data or ""
        outbox.after_response(
            lambda session: _start_sign_in_link(session, email),
            what=("sign-in link", services.normalise_email(email)),
        )
        return render_template("auth/sign_in_link_sent.html", email=email)
    return render_template("auth/sign_in_link.html", form=form)


def _start_sign_in_link(session: Session, email: str) -> None:
    started = services.start_sign_in_link(session, email)
    if started is not None:
        send_sign_in_link(*started)


@bp.route("/sign-in/link/<token>", methods=["GET", "POST"])
@limiter.limit(_sign_in_limit, methods=["POST"], deduct_when=_failed_attempt)
def use_sign_in_link(token: str) -> str | Response:
    """The emailed link. A GET only asks, so a mail scanner opening it signs nobody in."""
    user = services.sign_in_link_user(db.session, token)
    if user is None:
        return render_template("auth/sign_in_link_invalid.html"), 410  # type: ignore[return-value]
    form = ConfirmForm()
    if form.validate_on_submit():
        services.use_sign_in_link(db.session, token)
        db.session.commit()
        if current_user.is_authenticated:
            end_session(current_user._get_current_object())
        if user.has_second_factor:
            return _to_second_factor(user)  # the link stands for the password, not the code
        start_session(user, second_factor_done=False)
        return _after_sign_in(user)
    return render_template("auth/sign_in_link_use.html", form=form)


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
        email = form.email.data or ""
        # The look-up, the token and the email happen after the response, so the answer takes
        # as long (and says the same) whether or not the address has an account.
        outbox.after_response(
            lambda session: _start_reset(session, email),
            what=("reset", services.normalise_email(email)),
        )
        return render_template("auth/reset_sent.html", email=email)
    return render_template("auth/forgotten_password.html", form=form)


def _start_reset(session: Session, email: str) -> None:
    started = services.start_password_reset(
        session, email, current_app.config["PASSWORD_RESET_TTL_SECONDS"]
    )
    if started is not None:
        send_reset_link(*started)


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
