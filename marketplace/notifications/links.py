"""One-click links in emails: do one safe thing as one person, without signing in.

A link is single use and expires (7 days unless the email says otherwise). In an email kept back
(a weekly digest, or while the person is on a break) the days count from when it is finally
sent: `renew` moves the expiry on then, and `purge` never deletes an unused link of someone with
kept emails, however long their break. Opening it (GET)
only shows what will happen: email scanners and link previews fetch every link, and a GET must
never change anything. The one button on that page POSTs, and the action runs as the person
the link was made for. Using a link is a conditional UPDATE (... WHERE used_at IS NULL), so two
clicks at once do the action once.

Nothing that moves money can be a link: `register` refuses such an action, and `lookup` would
not return one even if it were slipped into the table. Paying always asks the person to sign in.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import current_app, url_for
from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from marketplace import audit, outbox
from marketplace.auth.models import User
from marketplace.db import as_utc, utcnow
from marketplace.errors import DomainError
from marketplace.notifications.models import ActionLink
from marketplace.tokens import hash_token, new_token

DEFAULT_TTL = timedelta(days=7)

Describe = Callable[[Session, User, dict[str, Any]], str]
Run = Callable[[Session, User, dict[str, Any]], str]


@dataclass(frozen=True)
class Action:
    """Something a link can do. `describe` says exactly what will happen (DomainError when it
    no longer can); `run` does it through the feature's own service, which checks permission,
    and returns what to tell the person (emails to the other people involved are noted with
    the change, as on the site, and go after the commit)."""

    name: str
    button: str
    describe: Describe
    run: Run
    moves_money: bool = False


_ACTIONS: dict[str, Action] = {}


def register(action: Action) -> Action:
    """Make an action available to links. Money never is: the person signs in for that."""
    if action.moves_money:
        raise ValueError(f"{action.name}: one-click links never move money")
    _ACTIONS[action.name] = action
    return action


def lookup(name: str) -> Action | None:
    """The registered action of this name (never one that moves money)."""
    action = _ACTIONS.get(name)
    return None if action is None or action.moves_money else action


def int_param(params: dict[str, Any], key: str) -> int:
    """An id a link's action needs, or DomainError when the link is not complete."""
    value = params.get(key)
    if not isinstance(value, int):
        raise DomainError("This link is not complete")
    return value


def _url(raw: str) -> str:
    try:
        return url_for("notifications.do", token=raw, _external=True)
    except RuntimeError:  # a job with no request and no SERVER_NAME: a path still helps
        with current_app.test_request_context():
            return url_for("notifications.do", token=raw)


def _new_link(
    user_id: int, action: str, params: dict[str, Any] | None, ttl: timedelta, now: datetime | None
) -> tuple[str, ActionLink]:
    if lookup(action) is None:
        raise ValueError(f"no one-click action {action!r}")
    raw, hashed = new_token()
    link = ActionLink(
        token_hash=hashed,
        user_id=user_id,
        action=action,
        params=dict(params or {}),
        expires_at=(now or utcnow()) + ttl,
    )
    return raw, link


def make_link(
    session: Session,
    user: User,
    action: str,
    params: dict[str, Any] | None = None,
    ttl: timedelta = DEFAULT_TTL,
    now: datetime | None = None,
) -> str:
    """A new link for `user` to do `action`; the row is added to the session's transaction."""
    raw, link = _new_link(user.id, action, params, ttl, now)
    session.add(link)
    return _url(raw)


def email_link(
    user_id: int,
    action: str,
    params: dict[str, Any] | None = None,
    ttl: timedelta = DEFAULT_TTL,
    *,
    session: Session | None = None,
) -> str | None:
    """A link to put in an email. Its row is written after `session`'s transaction commits
    (db.session by default; at once if none is open) and before the email that carries it is
    sent, so the link works by the time the email arrives and never outlives a rolled-back
    change. None when the person's account is gone."""
    if session is None:
        from marketplace.extensions import db

        session = db.scoped()
    user = session.get(User, user_id)
    if user is None or user.erased_at is not None:
        return None
    raw, link = _new_link(user_id, action, params, ttl, None)
    outbox.note(session, ("action-link", link.token_hash), lambda own: own.add(link), link)
    return _url(raw)


class State(enum.StrEnum):
    READY = "ready"
    USED = "used"
    EXPIRED = "expired"
    GONE = "gone"  # what it was about has changed (already answered, closed, deleted)
    UNKNOWN = "unknown"  # no such link (mistyped, tampered with) or its person is gone


@dataclass(frozen=True)
class Found:
    state: State
    link: ActionLink | None = None
    user: User | None = None
    action: Action | None = None
    description: str = ""


def _suspended(user: User, now: datetime) -> bool:
    return user.suspended_until is not None and as_utc(user.suspended_until) > now


def find(session: Session, raw: str, now: datetime | None = None) -> Found:
    """What a token would do now, changing nothing."""
    now = as_utc(now or utcnow())
    link = session.scalars(
        select(ActionLink).where(ActionLink.token_hash == hash_token(raw))
    ).first()
    if link is None:
        return Found(State.UNKNOWN)
    if link.used_at is not None:
        return Found(State.USED, link)
    if as_utc(link.expires_at) <= now:
        return Found(State.EXPIRED, link)
    user = session.get(User, link.user_id)
    action = lookup(link.action)
    if user is None or not user.is_active or _suspended(user, now) or action is None:
        return Found(State.UNKNOWN, link)
    try:
        description = action.describe(session, user, dict(link.params or {}))
    except DomainError as error:
        return Found(State.GONE, link, user, action, error.message)
    return Found(State.READY, link, user, action, description)


class LinkUnusable(DomainError):
    """The link cannot be used (now): `state` says why."""

    def __init__(self, found: Found) -> None:
        super().__init__(found.description or f"This link is {found.state.value}")
        self.found = found


def use(session: Session, raw: str, now: datetime | None = None) -> tuple[Found, str]:
    """Use the link once and do its action as its person; returns (what it was, what was done).
    LinkUnusable when it is used, expired or unknown; the action's own DomainError when it
    cannot be done (the caller rolls back, which leaves the link unused)."""
    now = as_utc(now or utcnow())
    found = find(session, raw, now)
    if found.state is not State.READY:
        raise LinkUnusable(found)
    link, user, action = found.link, found.user, found.action
    if link is None or user is None or action is None:  # READY always has all three
        raise LinkUnusable(Found(State.UNKNOWN))
    claimed = session.execute(
        update(ActionLink)
        .where(
            ActionLink.id == link.id,
            ActionLink.used_at.is_(None),
            ActionLink.expires_at > now,
        )
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if getattr(claimed, "rowcount", 0) != 1:  # another click got there first
        raise LinkUnusable(Found(State.USED, link))
    done = action.run(session, user, dict(link.params or {}))
    audit.record(
        session,
        user.id,
        "notifications.link_used",
        "action_link",
        link.id,
        link.action,
    )
    return found, done


def renew(
    session: Session, raws: Iterable[str], now: datetime | None = None, ttl: timedelta = DEFAULT_TTL
) -> int:
    """An email kept back goes out now: its unused links work for `ttl` from now (never less
    than they had). Returns how many links were renewed."""
    hashes = [hash_token(raw) for raw in raws]
    if not hashes:
        return 0
    until = as_utc(now or utcnow()) + ttl
    result = session.execute(
        update(ActionLink)
        .where(
            ActionLink.token_hash.in_(hashes),
            ActionLink.used_at.is_(None),
            ActionLink.expires_at < until,
        )
        .values(expires_at=until)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def purge(
    session: Session, now: datetime | None = None, keep: timedelta = timedelta(days=30)
) -> int:
    """Delete links that expired more than `keep` ago, used or not, except the unused links of
    anyone with emails still kept for them (they will be renewed when those go). Returns how
    many were deleted."""
    from sqlalchemy import delete

    from marketplace.notifications.models import DigestItem

    kept_for = select(DigestItem.user_id)
    result = session.execute(
        delete(ActionLink)
        .where(
            ActionLink.expires_at < as_utc(now or utcnow()) - keep,
            or_(ActionLink.used_at.is_not(None), ActionLink.user_id.not_in(kept_for)),
        )
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)
