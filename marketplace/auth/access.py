"""Who may reach which page: role and second-factor checks, one condition per line."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import abort, flash, redirect, request, url_for
from flask_login import current_user, login_required

from marketplace.auth.models import MODERATOR_ROLES, Role, User
from marketplace.auth.sessions import second_factor_done

F = TypeVar("F", bound=Callable[..., Any])

__all__ = ["MODERATOR_ROLES", "current_person", "role_required"]


def current_person() -> User:
    """The signed-in person (views behind login_required), as our User, not Flask-Login's
    proxy (services compare and store it)."""
    return current_user._get_current_object()  # type: ignore[no-any-return]  # werkzeug proxy


def role_required(*roles: Role) -> Callable[[F], F]:
    """Signed in and holding at least one of these roles, or 403."""

    def decorator(view: F) -> F:
        @wraps(view)
        @login_required
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not any(current_user.has_role(role) for role in roles):
                abort(403)
            return view(*args, **kwargs)

        return wrapped  # type: ignore[return-value]  # wraps keeps the signature

    return decorator


def second_factor_required(view: F) -> F:
    """People with moderation powers must have passed a second factor in this session."""

    @wraps(view)
    @login_required
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if not current_user.has_second_factor:
            flash("Set up a second factor before you use moderation tools", "info")
            return redirect(url_for("account.two_factor", next=request.path))
        if not second_factor_done():
            return redirect(url_for("auth.sign_in_code", next=request.path))
        return view(*args, **kwargs)

    return wrapped  # type: ignore[return-value]  # wraps keeps the signature


def admin_required(view: F) -> F:
    """An admin who has passed the second factor."""
    return role_required(Role.ADMIN)(second_factor_required(view))


def moderator_required(view: F) -> F:
    """ULO staff or an admin, who has passed the second factor."""
    return role_required(*MODERATOR_ROLES)(second_factor_required(view))
