"""One short hello before asking: a seeker may say hello once to a buddy we suggest them, and
the buddy may answer once, or not. It is not a conversation: that starts when the buddy says
yes to being someone's buddy.

Hellos and answers are private to the two people, counted in a new account's message limit,
and can be reported and hidden like buddy messages. Emails say that there is a hello, never
what it says.
"""

from __future__ import annotations

from datetime import datetime

from flask import url_for
from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from marketplace.auth.models import User
from marketplace.buddies import rounds, services
from marketplace.buddies.models import MAX_HELLO, BuddyHello, BuddyRequest, RequestStatus
from marketplace.carers import services as carers
from marketplace.carers.models import CarerScope
from marketplace.db import utcnow
from marketplace.email import send_email_or_log
from marketplace.errors import DomainError, NotAllowed
from marketplace.moderation import limits
from marketplace.moderation import services as moderation
from marketplace.privacy import services as privacy

BUDDY_HELLO = "buddy_hello"
BUDDY_HELLO_ANSWER = "buddy_hello_answer"


def _words(text: str | None, what: str) -> str:
    words = (text or "").strip().replace("\r\n", "\n")
    if not words:
        raise DomainError(f"Enter your {what}", field="body")
    if len(words) > MAX_HELLO:
        raise DomainError(f"Your {what} must be {MAX_HELLO} characters or fewer", field="body")
    return words


def hello_between(session: Session, seeker_id: int, buddy_user_id: int) -> BuddyHello | None:
    return session.scalars(
        select(BuddyHello).where(
            BuddyHello.seeker_id == seeker_id, BuddyHello.buddy_user_id == buddy_user_id
        )
    ).first()


def hellos_sent(session: Session, seeker_id: int) -> dict[int, BuddyHello]:
    """This seeker's hellos, by the buddy's user id."""
    found = session.scalars(select(BuddyHello).where(BuddyHello.seeker_id == seeker_id))
    return {hello.buddy_user_id: hello for hello in found}


def hellos_received(session: Session, buddy: User) -> list[BuddyHello]:
    """Hellos to this buddy, newest first (hidden ones are left out)."""
    return list(
        session.scalars(
            select(BuddyHello)
            .where(BuddyHello.buddy_user_id == buddy.id, BuddyHello.hidden_at.is_(None))
            .order_by(BuddyHello.created_at.desc(), BuddyHello.id.desc())
        )
    )


def say_hello(
    session: Session,
    seeker: User,
    request: BuddyRequest,
    profile_id: int,
    text: str | None,
    acting_carer: User | None = None,
) -> BuddyHello:
    """Say hello to one of the request's current suggestions: once per buddy, ever."""
    if request.seeker_id != seeker.id:
        raise NotAllowed("This is not your request")
    if request.status != RequestStatus.WAITING.value:
        raise DomainError("You are no longer waiting for a buddy")
    services.act_as(session, acting_carer, seeker.id, "Said hello to a suggested budget buddy")
    chosen = next(
        (s.profile for s in rounds.suggestions_for(session, request) if s.profile.id == profile_id),
        None,
    )
    if chosen is None:
        # Only people we suggested: nobody can be written to by guessing an id.
        raise DomainError("That buddy is no longer available. Choose from the suggestions below")
    if hello_between(session, seeker.id, chosen.user_id) is not None:
        raise DomainError(
            f"You have already said hello to {chosen.user.display_name}. You can say hello "
            "once to each buddy: ask them to be your buddy if you would like to talk more",
            field="body",
        )
    words = _words(text, "hello")
    limits.check_new_account_limit(session, seeker)
    hello = BuddyHello(
        seeker_id=seeker.id, buddy_user_id=chosen.user_id, request_id=request.id, body=words
    )
    session.add(hello)
    session.flush()
    _email(
        chosen.user,
        "Someone said hello",
        "Someone who is waiting for a budget buddy was suggested you, and has said hello. "
        "You can read it and answer once, if you like. You do not have to.",
        hello,
        session,
    )
    return hello


def get_hello_for(session: Session, user: User, hello_id: int) -> BuddyHello:
    """A hello this person sent or received (or a carer helping the seeker with buddying
    sent for them); NotAllowed for anyone else, and for the buddy once it has been hidden
    after reports."""
    hello = session.get(BuddyHello, hello_id)
    if hello is None:
        raise NotAllowed("There is no such hello")
    if user.id not in (hello.seeker_id, hello.buddy_user_id):
        carers.authorise(session, user, hello.seeker_id, CarerScope.BUDDYING)
    if user.id == hello.buddy_user_id and hello.hidden_at is not None:
        raise NotAllowed("This hello is under review")
    return hello


def answer(session: Session, buddy: User, hello: BuddyHello, text: str | None) -> BuddyHello:
    """The buddy answers, once. The seeker is emailed that there is an answer."""
    if hello.buddy_user_id != buddy.id:
        raise NotAllowed("This hello was not to you")
    if hello.reply is not None:
        raise DomainError("You have already answered this hello", field="body")
    words = _words(text, "answer")
    limits.check_new_account_limit(session, buddy)
    hello.reply = words
    hello.replied_at = utcnow()
    _email(
        hello.seeker,
        "Your hello has an answer",
        f"{buddy.display_name} has answered your hello.",
        hello,
        session,
    )
    return hello


def _email(to: User, subject: str, lead: str, hello: BuddyHello, session: Session) -> None:
    """An email after the commit; never the words themselves (others may read the inbox)."""
    if to.erased_at is not None:
        return
    link = url_for("buddies.hello", hello_id=hello.id, _external=True)
    body = (
        f"Hello {to.display_name},\n\n{lead}\n\nSign in and open:\n\n{link}\n\n"
        "We never put messages in emails, to keep them private.\n"
    )
    send_email_or_log(
        to.email,
        subject,
        body,
        user_id=to.id,
        about=f"a buddy hello email for {link}",
        session=session,
    )


# --- "Your data" ---------------------------------------------------------------------------------


def _export(session: Session, user: User) -> list[dict[str, object]]:
    """Hellos this person sent or received, with the answer, in their own words."""
    found = session.scalars(
        select(BuddyHello)
        .where(or_(BuddyHello.seeker_id == user.id, BuddyHello.buddy_user_id == user.id))
        .order_by(BuddyHello.id)
    )
    return [
        {
            "sent_by_me": hello.seeker_id == user.id,
            "hello": hello.body,
            "sent_at": hello.created_at.isoformat(),
            "answer": hello.reply,
            "answered_at": hello.replied_at.isoformat() if hello.replied_at else None,
        }
        for hello in found
    ]


def _erase(session: Session, user: User) -> None:
    """A hello is an exchange between two people: it goes with either of them."""
    session.execute(
        delete(BuddyHello).where(
            or_(BuddyHello.seeker_id == user.id, BuddyHello.buddy_user_id == user.id)
        )
    )
    for obj in list(session.identity_map.values()):
        if isinstance(obj, BuddyHello) and user.id in (obj.seeker_id, obj.buddy_user_id):
            session.expunge(obj)  # deleted above; nothing may write it back


# --- reports --------------------------------------------------------------------------------------


def _areas(session: Session, hello: BuddyHello) -> set[str]:
    """The ULOs looking after the seeker's request and the buddy's offer."""
    areas = set()
    if hello.request is not None:
        areas.add(hello.request.council.code)
    profile = services.profile_of(session, hello.buddy_user_id)
    if profile is not None:
        areas.add(profile.council.code)
    return areas


def _set_hidden(_s: Session, hello: BuddyHello, hidden_at: datetime | None) -> bool:
    if (hello.hidden_at is None) == (hidden_at is None):
        return False
    hello.hidden_at = hidden_at
    return True


def _set_answer_hidden(_s: Session, hello: BuddyHello, hidden_at: datetime | None) -> bool:
    if (hello.reply_hidden_at is None) == (hidden_at is None):
        return False
    hello.reply_hidden_at = hidden_at
    return True


def register() -> None:
    """Hellos and answers can be reported like messages, and are part of "Your data"
    (idempotent: called from init_app)."""
    load = lambda session, hello_id: session.get(BuddyHello, hello_id)  # noqa: E731
    page = lambda _s, hello: ("buddies.hello", {"hello_id": hello.id})  # noqa: E731
    moderation.register_subject(
        BUDDY_HELLO,
        load=load,
        title=lambda _s, _h: "a hello before asking for a budget buddy",
        text=lambda _s, hello: hello.body,
        areas=_areas,
        page=page,
        visible_to=lambda _s, user, hello: (
            user.id == hello.buddy_user_id and hello.hidden_at is None
        ),
        set_hidden=_set_hidden,
        owners=lambda _s, hello: ([hello.seeker], "a hello you sent a budget buddy"),
        private=True,
    )
    moderation.register_subject(
        BUDDY_HELLO_ANSWER,
        load=load,
        title=lambda _s, _h: "an answer to a hello from someone looking for a budget buddy",
        text=lambda _s, hello: hello.reply or "",
        areas=_areas,
        page=page,
        visible_to=lambda _s, user, hello: (
            user.id == hello.seeker_id and hello.reply is not None and hello.reply_hidden_at is None
        ),
        set_hidden=_set_answer_hidden,
        owners=lambda _s, hello: ([hello.buddy_user], "an answer you gave to a hello"),
        private=True,
    )
    limits.register_message_model("buddy_hello", BuddyHello, BuddyHello.seeker_id)
    privacy.register_exporter("buddy_hellos", _export)
    privacy.register_eraser(_erase)
