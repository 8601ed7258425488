"""Claiming is exclusive: many moderators claiming one item at once, real commits, one wins."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy.orm import Session

from marketplace.audit import AuditEntry
from marketplace.auth.models import User
from marketplace.errors import DomainError
from marketplace.extensions import db
from marketplace.moderation import services as moderation
from marketplace.moderation.models import ModerationItem
from tests.factories import CouncilFactory
from tests.listing_helpers import ulo_moderator
from tests.pools.test_concurrency import in_thread_session, own_database  # noqa: F401

MODERATORS = 12


def test_only_one_of_many_moderators_claims_an_item(own_database):  # noqa: F811
    council = CouncilFactory()
    moderators = [ulo_moderator(council) for _ in range(MODERATORS)]
    item = ModerationItem(
        item_type="report", item_id=1, summary="A report", council_codes=council.code
    )
    db.session.add(item)
    db.session.commit()
    item_id, ids = item.id, [m.id for m in moderators]
    start = threading.Barrier(MODERATORS)

    def claim(user_id: int) -> str:
        start.wait(timeout=30)

        def work(session: Session) -> str:
            try:
                moderation.claim(
                    session, session.get(User, user_id), session.get(ModerationItem, item_id)
                )
            except DomainError:
                return "refused"
            return "claimed"

        return in_thread_session(own_database, work)

    with ThreadPoolExecutor(max_workers=MODERATORS) as executor:
        outcomes = list(executor.map(claim, ids))

    assert outcomes.count("claimed") == 1
    assert outcomes.count("refused") == MODERATORS - 1
    with own_database() as session:
        row = session.get(ModerationItem, item_id)
        assert row is not None
        winner = ids[outcomes.index("claimed")]
        assert row.claimed_by_id == winner
        claims = session.query(AuditEntry).filter_by(action="moderation.claimed").all()
        assert [c.actor_id for c in claims] == [winner]
