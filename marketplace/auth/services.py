"""Account rules: registration, sign-in, password reset, details and second factor.

Services never commit; the view commits once the whole request has succeeded.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta

import pyotp
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from marketplace.auth import throttle
from marketplace.auth.display_names import check_display_name
from marketplace.auth.models import (
    EmailChange,
    PasswordResetToken,
    PendingRegistration,
    Role,
    SignInLink,
    UsageIntent,
    User,
    UserRole,
)
from marketplace.auth.passwords import (
    hash_password,
    needs_rehash,
    password_problem,
    verify_password,
)
from marketplace.db import as_utc, utcnow
from marketplace.errors import DomainError
from marketplace.tokens import hash_token, new_token

ROLE_FOR_INTENT = {
    UsageIntent.HOLDER: Role.HOLDER,
    UsageIntent.CARER: Role.CARER,
}

TOTP_ISSUER = "Budget Marketplace"


@dataclass(frozen=True)
class Registration:
    """What a person gives us to open an account."""

    display_name: str
    email: str
    password: str
    usage_intent: UsageIntent


def normalise_email(email: str) -> str:
    """Email addresses are compared case-insensitively and without surrounding spaces."""
    return email.strip().lower()


def find_user_by_email(session: Session, email: str) -> User | None:
    """The live (not erased) account with this email, if any."""
    return session.scalars(
        select(User).where(func.lower(User.email) == normalise_email(email))
    ).first()


def register(
    session: Session,
    data: Registration,
    *,
    password_hash: str | None = None,
    named_by_operator: bool = False,
) -> User:
    """Open an account; raises DomainError (with the field) if the details cannot be used.

    `password_hash` lets bulk creation (demo data) reuse a hash of the same password;
    `named_by_operator` lets the operator's own staff accounts (demo data) be called what
    they are ("Site admin").
    """
    if not named_by_operator:
        check_display_name(session, data.display_name)
    if problem := password_problem(data.password):
        raise DomainError(problem, field="password")
    email = normalise_email(data.email)
    if find_user_by_email(session, email) is not None:
        raise DomainError(
            "An account already uses this email address. Sign in, or reset your password",
            field="email",
        )
    return _open_account(
        session,
        email,
        data.display_name.strip(),
        password_hash or hash_password(data.password),
        data.usage_intent,
    )


def _open_account(
    session: Session, email: str, display_name: str, password_hash: str, intent: UsageIntent
) -> User:
    user = User(
        email=email,
        display_name=display_name,
        password_hash=password_hash,
        usage_intent=intent.value,
    )
    if role := ROLE_FOR_INTENT.get(intent):
        user.roles.append(UserRole(role=role.value))
    session.add(user)
    session.flush()  # the caller signs the new person in, which needs the id
    return user


REGISTRATION_TTL_SECONDS = 3600  # as long as a reset link


def check_registration(session: Session, data: Registration) -> None:
    """The checks /register makes before it answers: none of them depends on whether the
    address has an account (that is found out after the answer, by start_registration)."""
    check_display_name(session, data.display_name)
    if problem := password_problem(data.password):
        raise DomainError(problem, field="password")


@dataclass(frozen=True)
class RegistrationStarted:
    """What start_registration did: a pending registration and its link's raw token for a new
    address, or the account that already uses it (which is told, and not touched)."""

    email: str
    pending: PendingRegistration | None = None
    token: str | None = None
    existing: User | None = None


def start_registration(
    session: Session,
    data: Registration,
    password_hash: str,
    now: datetime | None = None,
) -> RegistrationStarted:
    """The part of registering that depends on the address, done after /register has answered.

    A new address gets a pending registration (the password hashed already, so the answer took
    as long whatever the address) whose link opens the account; only the newest link for an
    address works. An address with an account gets nothing but an email saying so."""
    now = now or utcnow()
    email = normalise_email(data.email)
    existing = find_user_by_email(session, email)
    if existing is not None:
        return RegistrationStarted(email, existing=existing)
    for earlier in _open_registrations(session, email):
        earlier.used_at = now
    raw, digest = new_token()
    pending = PendingRegistration(
        token_hash=digest,
        email=email,
        display_name=data.display_name.strip(),
        password_hash=password_hash,
        usage_intent=data.usage_intent.value,
        created_at=now,
        expires_at=now + timedelta(seconds=REGISTRATION_TTL_SECONDS),
    )
    session.add(pending)
    return RegistrationStarted(email, pending=pending, token=raw)


def _open_registrations(session: Session, email: str) -> list[PendingRegistration]:
    return list(
        session.scalars(
            select(PendingRegistration).where(
                PendingRegistration.email == email, PendingRegistration.used_at.is_(None)
            )
        )
    )


def registration_to_confirm(
    session: Session, raw: str, now: datetime | None = None
) -> PendingRegistration | None:
    """The registration this emailed link opens, if the link still works (once, for 1 hour)."""
    pending = session.scalars(
        select(PendingRegistration).where(PendingRegistration.token_hash == hash_token(raw))
    ).first()
    if (
        pending is None
        or pending.used_at is not None
        or as_utc(pending.expires_at) <= as_utc(now or utcnow())
    ):
        return None
    return pending


def confirm_registration(session: Session, raw: str, now: datetime | None = None) -> User:
    """Follow the emailed link: the account opens with the details given on /register."""
    now = now or utcnow()
    pending = registration_to_confirm(session, raw, now)
    if pending is None:
        raise DomainError("This link has expired or has already been used")
    pending.used_at = now
    if find_user_by_email(session, pending.email) is not None:
        raise DomainError("An account already uses this email address. Sign in instead")
    return _open_account(
        session,
        pending.email,
        pending.display_name,
        pending.password_hash,
        UsageIntent(pending.usage_intent),
    )


def grant_role(session: Session, user: User, role: Role) -> None:
    """Give a person a role if they do not hold it already."""
    if not user.has_role(role):
        user.roles.append(UserRole(role=role.value))
        session.flush()  # later checks in the same request read user.roles


def authenticate(session: Session, email: str, password: str) -> User | None:
    """The account for these credentials, or None. Never says which part was wrong.

    A password hashed with older settings is hashed again with today's (the caller commits)."""
    user = find_user_by_email(session, email)
    ok = verify_password(user.password_hash if user else None, password)
    if user is None or not ok or not user.is_active or is_suspended(user):
        return None
    if user.password_hash and needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return user


@dataclass(frozen=True)
class SignInAttempt:
    """What a password sign-in comes to: `user` signs in (after their second factor, if they
    have one); otherwise `suspended_until` or `throttled` says why not, or neither (the email
    address or password is not right)."""

    user: User | None
    suspended_until: datetime | None = None
    throttled: bool = False


def attempt_sign_in(session: Session, email: str, password: str) -> SignInAttempt:
    """Check a password sign-in against the account and its sign-in limit (auth/throttle.py).

    While the limit holds, a password on its own is refused whether it is right or not, and
    counted as a failure either way, so the answer says nothing about it; a right password for
    an account with a second factor still goes on to the code. Suspensions are told only to
    someone with the right password, and only while the limit does not hold."""
    throttled = throttle.is_throttled(email)
    user = authenticate(session, email, password)
    if throttled and (user is None or not user.has_second_factor):
        throttle.count_failure(email)
        return SignInAttempt(None, throttled=True)
    if user is not None:
        return SignInAttempt(user)
    until = suspended_until(session, email, password)
    if until is None:
        throttle.count_failure(email)
    return SignInAttempt(None, suspended_until=until)


def suspended_until(session: Session, email: str, password: str) -> datetime | None:
    """When a suspension ends, for the right email and password of a suspended account.

    Only someone who knows the password learns that the account is suspended.
    """
    user = find_user_by_email(session, email)
    if user is None or not user.is_active or not is_suspended(user):
        return None
    if not verify_password(user.password_hash, password):
        return None
    return user.suspended_until


def is_suspended(user: User, now: datetime | None = None) -> bool:
    """True while a moderator's suspension of this account lasts."""
    if user.suspended_until is None:
        return False
    return as_utc(user.suspended_until) > as_utc(now or utcnow())


def end_all_sessions(user: User) -> None:
    """Make every existing session cookie for this person stop working."""
    user.session_version += 1


def spend_reset_tokens(session: Session, user: User, now: datetime | None = None) -> None:
    """Make every open reset link for this person stop working.

    A link asked for before a password or email change must not outlive it: whoever holds the
    old mailbox, or a copy of the email, could otherwise set a new password afterwards."""
    now = now or utcnow()
    for token in session.scalars(
        select(PasswordResetToken).where(
            PasswordResetToken.user_id == user.id, PasswordResetToken.used_at.is_(None)
        )
    ):
        token.used_at = now


def change_password(session: Session, user: User, current_password: str, new_password: str) -> None:
    """Change the password after checking the current one; ends every other session and
    spends every open reset link."""
    if not verify_password(user.password_hash, current_password):
        raise DomainError("Your current password is not right", field="current_password")
    if problem := password_problem(new_password):
        raise DomainError(problem, field="new_password")
    user.password_hash = hash_password(new_password)
    end_all_sessions(user)
    spend_reset_tokens(session, user)


def change_details(
    session: Session, user: User, display_name: str, support_needs: str | None
) -> None:
    """Change the display name and the private note about support needs (the email address
    changes only through request_email_change and the link it sends)."""
    if display_name.strip() != user.display_name:
        check_display_name(session, display_name)
    user.display_name = display_name.strip()
    user.support_needs = (support_needs or "").strip() or None


EMAIL_CHANGE_CONFIRM_SECONDS = 24 * 3600
EMAIL_CHANGE_UNDO_SECONDS = 7 * 24 * 3600


@dataclass(frozen=True)
class EmailChangeLinks:
    """The raw tokens for the two emails an email change sends."""

    change: EmailChange
    confirm_token: str  # to the new address: makes the change
    undo_token: str  # to the old address: "this was not me"


def request_email_change(
    session: Session, user: User, new_email: str, current_password: str
) -> EmailChangeLinks | None:
    """Ask to move the account to a new address, checking the current password; None if the
    address is the one in use. Nothing changes until the link to the new address is followed,
    and only the newest request's link works."""
    new_email = normalise_email(new_email)
    if new_email == user.email:
        return None
    if not verify_password(user.password_hash, current_password):
        raise DomainError(
            "Enter your current password to change your email address", field="current_password"
        )
    other = find_user_by_email(session, new_email)
    if other is not None and other.id != user.id:
        raise DomainError("Another account already uses this email address", field="email")
    now = utcnow()
    for earlier in _open_email_changes(session, user):
        earlier.cancelled_at = now
    confirm_raw, confirm_hash = new_token()
    undo_raw, undo_hash = new_token()
    change = EmailChange(
        user_id=user.id,
        old_email=user.email,
        new_email=new_email,
        confirm_hash=confirm_hash,
        undo_hash=undo_hash,
        confirm_expires_at=now + timedelta(seconds=EMAIL_CHANGE_CONFIRM_SECONDS),
        undo_expires_at=now + timedelta(seconds=EMAIL_CHANGE_UNDO_SECONDS),
    )
    session.add(change)
    return EmailChangeLinks(change, confirm_raw, undo_raw)


def _open_email_changes(session: Session, user: User) -> list[EmailChange]:
    return list(
        session.scalars(
            select(EmailChange).where(
                EmailChange.user_id == user.id,
                EmailChange.confirmed_at.is_(None),
                EmailChange.cancelled_at.is_(None),
            )
        )
    )


def email_change_to_confirm(session: Session, raw: str) -> EmailChange | None:
    """The change this confirmation link makes, if the link still works."""
    change = session.scalars(
        select(EmailChange).where(EmailChange.confirm_hash == hash_token(raw))
    ).first()
    if (
        change is None
        or change.confirmed_at is not None
        or change.cancelled_at is not None
        or as_utc(change.confirm_expires_at) <= utcnow()
    ):
        return None
    return change


def confirm_email_change(session: Session, raw: str) -> User:
    """Follow the link sent to the new address: the account moves to it, and every open reset
    link (sent to the old address) is spent."""
    change = email_change_to_confirm(session, raw)
    if change is None:
        raise DomainError("This link has expired or has already been used")
    user = session.get(User, change.user_id)
    assert user is not None  # noqa: S101 - the foreign key guarantees it
    other = find_user_by_email(session, change.new_email)
    if other is not None and other.id != user.id:
        raise DomainError("Another account now uses this email address")
    now = utcnow()
    change.confirmed_at = now
    user.email = change.new_email
    spend_reset_tokens(session, user, now)
    return user


def email_change_to_undo(session: Session, raw: str) -> EmailChange | None:
    """The change a "this was not me" link answers, if the link still works (once, for 7 days,
    even after the change was confirmed or replaced by a newer request)."""
    change = session.scalars(
        select(EmailChange).where(EmailChange.undo_hash == hash_token(raw))
    ).first()
    if change is None or as_utc(change.undo_expires_at) <= utcnow():
        return None
    return change


def undo_email_change(session: Session, raw: str) -> User:
    """ "This was not me", from the old address: the change is cancelled (or reversed, if it was
    confirmed), every session ends and every reset link is spent, so that the caller can send
    a fresh reset link to the old address."""
    change = email_change_to_undo(session, raw)
    if change is None:
        raise DomainError("This link has expired or has already been used")
    now = utcnow()
    user = session.get(User, change.user_id)
    assert user is not None  # noqa: S101 - the foreign key guarantees it
    if user.email == change.new_email:
        other = find_user_by_email(session, change.old_email)
        if other is None or other.id == user.id:
            user.email = change.old_email
    for pending in _open_email_changes(session, user):
        pending.cancelled_at = now
    change.cancelled_at = change.cancelled_at or now
    change.undo_expires_at = now  # the link works once
    end_all_sessions(user)
    spend_reset_tokens(session, user, now)
    return user


def start_password_reset(session: Session, email: str, ttl_seconds: int) -> tuple[User, str] | None:
    """Create a reset token for the account with this email, if there is one.

    Returns (user, raw token) for the email, or None; the caller's reply must be the same
    either way so that nobody can learn who has an account. Only the newest link works: each
    request spends the ones before it.
    """
    user = find_user_by_email(session, email)
    if user is None or not user.is_active:
        return None
    spend_reset_tokens(session, user)
    raw, digest = new_token()
    session.add(
        PasswordResetToken(
            user_id=user.id,
            token_hash=digest,
            expires_at=utcnow() + timedelta(seconds=ttl_seconds),
        )
    )
    return user, raw


def _usable_reset_token(session: Session, raw: str, now: datetime) -> PasswordResetToken | None:
    token = session.scalars(
        select(PasswordResetToken).where(PasswordResetToken.token_hash == hash_token(raw))
    ).first()
    if token is None or token.used_at is not None or as_utc(token.expires_at) <= now:
        return None
    return token


def reset_token_is_valid(session: Session, raw: str) -> bool:
    """True if this reset link can still be used."""
    return _usable_reset_token(session, raw, utcnow()) is not None


def complete_password_reset(session: Session, raw: str, new_password: str) -> User:
    """Set a new password with a reset token; the token and every other open one are spent."""
    now = utcnow()
    token = _usable_reset_token(session, raw, now)
    if token is None:
        raise DomainError("This link has expired or has already been used. Ask for a new one")
    if problem := password_problem(new_password):
        raise DomainError(problem, field="password")
    user = session.get(User, token.user_id)
    assert user is not None  # noqa: S101 - the foreign key guarantees it
    user.password_hash = hash_password(new_password)
    end_all_sessions(user)
    spend_reset_tokens(session, user, now)
    return user


SIGN_IN_LINK_TTL_SECONDS = 15 * 60


def start_sign_in_link(
    session: Session, email: str, now: datetime | None = None
) -> tuple[User, str] | None:
    """A one-time sign-in link for the account with this email, if there is one that may sign
    in: the way in while its sign-in limit holds (auth/throttle.py). Returns (user, raw token)
    or None; the caller answers the same either way. Only the newest link works."""
    now = now or utcnow()
    user = find_user_by_email(session, email)
    if user is None or not user.is_active or is_suspended(user, now):
        return None
    _spend_sign_in_links(session, user, now)
    raw, digest = new_token()
    session.add(
        SignInLink(
            user_id=user.id,
            token_hash=digest,
            created_at=now,
            expires_at=now + timedelta(seconds=SIGN_IN_LINK_TTL_SECONDS),
        )
    )
    return user, raw


def _spend_sign_in_links(session: Session, user: User, now: datetime) -> None:
    for link in session.scalars(
        select(SignInLink).where(SignInLink.user_id == user.id, SignInLink.used_at.is_(None))
    ):
        link.used_at = now


def sign_in_link_user(session: Session, raw: str, now: datetime | None = None) -> User | None:
    """The person this sign-in link is for, if it still works (once, for 15 minutes, for an
    account that may sign in)."""
    now = now or utcnow()
    link = session.scalars(
        select(SignInLink).where(SignInLink.token_hash == hash_token(raw))
    ).first()
    if link is None or link.used_at is not None or as_utc(link.expires_at) <= as_utc(now):
        return None
    user = session.get(User, link.user_id)
    if user is None or not user.is_active or is_suspended(user, now):
        return None
    return user


def use_sign_in_link(session: Session, raw: str, now: datetime | None = None) -> User:
    """Follow a sign-in link: it is spent, and the caller signs the person in (after their
    second factor, if they have one: the link stands for the password only)."""
    now = now or utcnow()
    user = sign_in_link_user(session, raw, now)
    if user is None:
        raise DomainError("This link has expired or has already been used. Ask for a new one")
    _spend_sign_in_links(session, user, now)
    return user


def erase_sign_in_links(session: Session, user: User) -> None:
    """Erasing an account deletes its open sign-in links."""
    session.execute(delete(SignInLink).where(SignInLink.user_id == user.id))


def purge_expired_links(session: Session, now: datetime | None = None) -> int:
    """Delete pending registrations and sign-in links whose time is up (used or not): they
    hold an email address, a display name and a password hash that nobody can use any more."""
    now = now or utcnow()
    gone = 0
    for model in (PendingRegistration, SignInLink):
        result = session.execute(delete(model).where(model.expires_at <= now))
        gone += result.rowcount or 0  # type: ignore[attr-defined]
    return gone


def new_totp_secret() -> str:
    """A fresh base32 secret for an authenticator app."""
    return pyotp.random_base32()


def totp_uri(user: User, secret: str) -> str:
    """The otpauth:// URI an authenticator app reads from a QR code."""
    return pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=TOTP_ISSUER)


def _totp_step(
    secret: str, code: str, after: int | None, now: datetime | None = None
) -> int | None:
    """The time step whose code this is (now, or one step either side for clock drift), if it
    is later than `after`; None otherwise."""
    code = "".join(ch for ch in code if ch.isdigit())
    if len(code) != 6:
        return None
    totp = pyotp.TOTP(secret)
    current = totp.timecode(now or utcnow())
    for step in (current - 1, current, current + 1):
        if (after is None or step > after) and hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def use_totp(user: User, code: str, now: datetime | None = None) -> bool:
    """True if the code is right for this person's second factor and has not been used
    before; the code's time step is remembered so that it cannot be used again."""
    if not user.totp_secret:
        return False
    step = _totp_step(user.totp_secret, code, user.totp_last_step, now)
    if step is None:
        return False
    user.totp_last_step = step
    return True


def enable_second_factor(user: User, secret: str, code: str) -> None:
    """Turn on the second factor once the person proves their app produces the right code."""
    step = _totp_step(secret, code, None)
    if step is None:
        raise DomainError(
            "That code is not right. Check the time on your phone and try the newest code",
            field="code",
        )
    user.totp_secret = secret
    user.totp_enabled_at = utcnow()
    user.totp_last_step = step  # the code that switched it on cannot also sign in


def disable_second_factor(user: User, password: str) -> None:
    """Turn off the second factor after checking the password."""
    if not verify_password(user.password_hash, password):
        raise DomainError("Your password is not right", field="password")
    user.totp_secret = None
    user.totp_enabled_at = None
    user.totp_last_step = None
