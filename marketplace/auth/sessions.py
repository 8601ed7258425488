"""Sessions that can be killed on the server: sign-in, sign-out and the user loader.

Flask's cookie session cannot be revoked by itself, so the user id in the cookie carries
the account's session version; bumping the version (sign-out, password change, erasure)
makes every earlier cookie worthless even if someone kept a copy.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from typing import Any

from flask import current_app, flash, g, session
from flask_login import LoginManager, login_user, logout_user
from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import joinedload

from marketplace.auth.models import MODERATOR_ROLES, User
from marketplace.auth.services import end_all_sessions
from marketplace.extensions import db

SECOND_FACTOR_KEY = "second_factor_ok"
PENDING_USER_KEY = "pending_user"
STARTED_KEY = "started_at"  # when this session signed in (seconds since the epoch)
SEEN_KEY = "seen_at"  # its last request
EXPIRED_MESSAGE = "You have been signed out because the session ran out of time. Sign in again"

# Facts about the signed-in person that most pages need (the navigation's "You're on a break"),
# read in the same query as the person instead of one more round trip on every page. Each is a
# SQL expression correlated to `users`, built afresh for each request.
_user_facts: dict[str, Callable[[], ColumnElement[Any]]] = {}


def load_with_user(name: str, expression: Callable[[], ColumnElement[Any]]) -> None:
    """Read `expression()` with the signed-in person on each request; see user_fact()."""
    _user_facts[name] = expression


def user_fact(name: str) -> Any | None:
    """What load_with_user's expression said when this request loaded the person, or None
    if it did not (no one signed in yet, or signed in during this request): ask the database."""
    facts: dict[str, Any] = g.get("user_facts") or {}
    return facts.get(name)


def init_login_manager(login_manager: LoginManager) -> None:
    """Tell Flask-Login how to load a person from the session, and where sign-in is."""
    login_manager.login_view = "auth.sign_in"
    login_manager.login_message = "Sign in to see this page"
    login_manager.login_message_category = "info"
    login_manager.session_protection = "basic"

    @login_manager.user_loader
    def _load(user_key: str) -> User | None:
        user_id, _, version = user_key.partition(":")
        if not user_id.isdigit() or not version.isdigit():
            return None
        # Roles are read on most pages (navigation, access checks): in the same query rather
        # than the model's separate selectin query, on every signed-in request; so are the
        # facts other modules asked for.
        facts = [build().label(name) for name, build in _user_facts.items()]
        row = (
            db.session.execute(
                select(User, *facts).where(User.id == int(user_id)).options(joinedload(User.roles))
            )
            .unique()
            .first()
        )
        if row is None:
            return None
        user = row[0]
        if not user.is_active or user.session_version != int(version):
            return None
        if not _still_fresh(user):
            session.clear()
            flash(EXPIRED_MESSAGE, "info")
            return None
        g.user_facts = dict(zip(_user_facts, row[1:], strict=True))
        return user


def idle_limit_seconds(user: User) -> int:
    """How long a session may go without a request: shorter for people who can moderate."""
    config = current_app.config
    staff = any(user.has_role(role) for role in MODERATOR_ROLES)
    minutes = config["STAFF_SESSION_IDLE_MINUTES"] if staff else config["SESSION_IDLE_MINUTES"]
    return int(minutes) * 60


def _still_fresh(user: User) -> bool:
    """The session is inside its idle and absolute limits; each request moves the idle clock."""
    now = time.time()
    started, seen = session.get(STARTED_KEY), session.get(SEEN_KEY)
    if not isinstance(started, int | float) or not isinstance(seen, int | float):
        return False
    if now - seen > idle_limit_seconds(user):
        return False
    if now - started > current_app.config["SESSION_MAX_HOURS"] * 3600:
        return False
    session[SEEN_KEY] = int(now)
    return True


def start_session(user: User, second_factor_done: bool) -> None:
    """Begin a fresh session for this person (a new session id, nothing carried over)."""
    next_url = session.get("next")
    session.clear()
    session["sid"] = secrets.token_urlsafe(16)
    if next_url:
        session["next"] = next_url
    login_user(user)
    session[SECOND_FACTOR_KEY] = second_factor_done
    session[STARTED_KEY] = session[SEEN_KEY] = int(time.time())


def end_session(user: User) -> None:
    """Sign out here and everywhere: the session version moves on, the cookie is emptied."""
    end_all_sessions(user)
    logout_user()
    session.clear()


def refresh_session(user: User) -> None:
    """After a password change, keep this browser signed in under the new session version
    (within the same absolute lifetime: a password change does not extend it)."""
    second_factor = bool(session.get(SECOND_FACTOR_KEY))
    started = session.get(STARTED_KEY)
    start_session(user, second_factor)
    if isinstance(started, int | float):
        session[STARTED_KEY] = started


def second_factor_done() -> bool:
    """True if this session has passed the second factor."""
    return bool(session.get(SECOND_FACTOR_KEY))
