"""Crisis phrases and messaging limits for new accounts, without HTTP."""

from __future__ import annotations

from datetime import timedelta

import pytest

from marketplace.db import utcnow
from marketplace.errors import DomainError
from marketplace.moderation import crisis, limits
from marketplace.pools import services as pools
from tests.moderation.reporting import buddy_pair, pool_message


@pytest.mark.parametrize(
    "words",
    [
        "Sometimes I want to kill myself",
        "I WANT TO DIE",
        "thinking about suicide",
        "I have been self-harming again",
        "I self harm",
        "I might hurt myself",
        "I can't go on like this",
        "I can’t go on",
        "took an overdose last year",
        "I want to end my life",
    ],
)
def test_phrases_that_suggest_crisis(words):
    assert crisis.suggests_crisis(words)


@pytest.mark.parametrize(
    "words",
    ["", None, "This service is killer value", "Can we go on Tuesday?", "My harmonica group"],
)
def test_ordinary_words_do_not(words):
    assert not crisis.suggests_crisis(words)


def test_new_accounts_send_five_messages_an_hour_across_the_site(db_session, council, moderator):
    message = pool_message(db_session, council, moderator)
    pool = pools.get_pool_for(db_session, None, message.pool_id)
    author = message.author
    assert limits.is_new_account(author)
    for n in range(4):  # the first message was the builder's, written directly
        pools.post_message(db_session, author, pool, f"note {n}")
    db_session.flush()
    with pytest.raises(DomainError, match="New accounts can send 5 messages an hour") as error:
        pools.post_message(db_session, author, pool, "one more")
    assert error.value.field == "body"


def test_new_account_limit_counts_buddy_messages_and_older_accounts_are_not_held(
    db_session, council, moderator
):
    from marketplace.buddies import conversations

    seeker, buddy, match = buddy_pair(db_session, council, moderator)
    now = utcnow()
    for n in range(5):
        conversations.send_message(db_session, seeker, match, f"hi {n}", now=now)
    with pytest.raises(DomainError, match="New accounts"):
        conversations.send_message(db_session, seeker, match, "again", now=now)
    # An hour later the new account may write again.
    conversations.send_message(db_session, seeker, match, "later", now=now + timedelta(hours=1))
    # A week-old account keeps the feature's own, higher limit.
    buddy.created_at = now - timedelta(days=8)
    for n in range(10):
        conversations.send_message(db_session, buddy, match, f"reply {n}", now=now)


def test_links_only_from_accounts_older_than_a_week(db_session, council, moderator):
    seeker, _, _ = buddy_pair(db_session, council, moderator)
    body = "Try www.example.org or https://example.org/a?b=1&c=2. <script>x</script>"
    plain = str(limits.message_text(body, seeker))
    assert "<a " not in plain and "&lt;script&gt;" in plain
    seeker.created_at = utcnow() - timedelta(days=8)
    linked = str(limits.message_text(body, seeker))
    assert 'href="https://www.example.org"' in linked
    assert 'href="https://example.org/a?b=1&amp;c=2"' in linked
    assert "&lt;script&gt;" in linked
    assert str(limits.message_text(body, None)) == plain
