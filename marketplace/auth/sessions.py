"""Sessions that can be killed on the server: sign-in, sign-out and the user loader.

Flask's cookie session cannot be revoked by itself, so the user id in the cookie carries
the account's session version; bumping the version (sign-out, password change, erasure)
makes every earlier cookie worthless even if someone kept a copy.
"""

from __future__ import annotations

import secrets

from flask import session
from flask_login import LoginManager, login_user, logout_user
from sqlalchemy.orm import joinedload

from marketplace.auth.models import User
from marketplace.auth.services import end_all_sessions
from marketplace.extensions import db

SECOND_FACTOR_KEY = "second_factor_ok"
PENDING_USER_KEY = "pending_user"


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
        # than the model's separate selectin query, on every signed-in request.
        user = db.session.get(User, int(user_id), options=[joinedload(User.roles)])
        if user is None or not user.is_active or user.session_version != int(version):
            return None
        return user


def start_session(user: User, second_factor_done: bool) -> None:
    """Begin a fresh session for this person (a new session id, nothing carried over)."""
    next_url = session.get("next")
    session.clear()
    session["sid"] = secrets.token_urlsafe(16)
    if next_url:
        session["next"] = next_url
    login_user(user)
    session[SECOND_FACTOR_KEY] = second_factor_done


def end_session(user: User) -> None:
    """Sign out here and everywhere: the session version moves on, the cookie is emptied."""
    end_all_sessions(user)
    logout_user()
    session.clear()


def refresh_session(user: User) -> None:
    """After a password change, keep this browser signed in under the new session version."""
    second_factor = bool(session.get(SECOND_FACTOR_KEY))
    start_session(user, second_factor)


def second_factor_done() -> bool:
    """True if this session has passed the second factor."""
    return bool(session.get(SECOND_FACTOR_KEY))
