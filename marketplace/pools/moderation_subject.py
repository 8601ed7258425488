"""What moderation knows about pools: the queue kinds (a proposed pool, a quote), and pools
and their discussion messages as things people can report."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from marketplace.auth.models import User
from marketplace.moderation import limits
from marketplace.moderation import services as moderation
from marketplace.moderation.models import ModerationItem
from marketplace.pools.models import Pool, PoolMessage
from marketplace.pools.quotes import ITEM_QUOTE, _decide_quote
from marketplace.pools.services import ITEM_POOL, _decide_pool, can_see

POOL_MESSAGE = "pool_message"


def moderation_subject(session: Session, item: ModerationItem) -> dict[str, object]:
    """Template values for the moderation item page (empty for other kinds of item)."""
    if item.item_type == ITEM_POOL:
        return {"pool": session.get(Pool, item.item_id)}
    return {}


def _pool_of(session: Session, message: PoolMessage) -> Pool:
    pool = session.get(Pool, message.pool_id)
    assert pool is not None  # noqa: S101 - _load_message checked it
    return pool


def _load_message(session: Session, message_id: int) -> PoolMessage | None:
    message = session.get(PoolMessage, message_id)
    if message is None or session.get(Pool, message.pool_id) is None:
        return None
    return message


def _message_visible(session: Session, user: User, message: PoolMessage) -> bool:
    """Everyone who can see the pool, except its author, while it is not hidden."""
    return (
        can_see(session, user, _pool_of(session, message))
        and message.hidden_at is None
        and message.author_id != user.id
    )


def _set_hidden(_session: Session, message: PoolMessage, hidden_at: datetime | None) -> bool:
    if (message.hidden_at is None) == (hidden_at is None):
        return False
    message.hidden_at = hidden_at
    return True


def _message_owners(session: Session, message: PoolMessage) -> tuple[list[User], str]:
    owner = session.get(User, message.author_id) if message.author_id else None
    return [owner] if owner else [], "a message you wrote in a pool discussion"


def _message_page(session: Session, message: PoolMessage) -> tuple[str, dict[str, int]]:
    return "pools.pool_page", {"pool_id": message.pool_id}


def register() -> None:
    """Teach moderation about pools (idempotent: called from init_app)."""
    moderation.register_subject(
        ITEM_POOL,
        load=lambda session, pool_id: session.get(Pool, pool_id),
        title=lambda _s, pool: f"the pool {pool.title}",
        text=lambda _s, pool: pool.description,
        areas=lambda _s, pool: {pool.council.code},
        page=lambda _s, pool: ("pools.pool_page", {"pool_id": pool.id}),
        visible_to=can_see,
        decide=_decide_pool,
        label="Proposed pool",
        approve_label="Approve: open it for people to join",
        reject_label="Send back with a reason",
        view=moderation_subject,
    )
    moderation.register_subject(
        POOL_MESSAGE,
        load=_load_message,
        title=lambda s, message: f"a message in the pool {_pool_of(s, message).title}",
        text=lambda _s, message: message.body,
        areas=lambda s, message: {_pool_of(s, message).council.code},
        page=_message_page,
        visible_to=_message_visible,
        set_hidden=_set_hidden,
        owners=_message_owners,
    )
    moderation.register_kind(
        ITEM_QUOTE,
        "Quote for a pool",
        _decide_quote,
        approve_label="Nothing wrong: leave it on the pool",
        reject_label="Take it off the pool, with a reason for the provider",
    )
    limits.register_message_model("pool", PoolMessage, PoolMessage.author_id)
