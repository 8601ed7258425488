"""A buddy's "about me": a few lines in their own words, shown with the suggestions a seeker
sees, but only once the local user-led organisation has read them.

The words someone writes wait in `about_me_pending`. With a new (or re-sent) offer the ULO
reads them with the offer, and confirming the offer shows them. A confirmed buddy who changes
their words keeps being suggested with the words already read, while the new ones go to the
queue on their own ("About me for a budget buddy"); refusing them keeps the old ones and tells
the buddy why. Removing the words needs nobody's say.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from marketplace.auth.models import User
from marketplace.buddies.models import MAX_ABOUT_ME, BuddyProfile
from marketplace.errors import DomainError
from marketplace.moderation import services as moderation
from marketplace.moderation.models import Decision, ModerationItem

ITEM_BUDDY_ABOUT_ME = "buddy_about_me"


def clean(text: str | None) -> str | None:
    """The words as kept: trimmed, None when empty. Too long is refused, never cut."""
    words = (text or "").strip().replace("\r\n", "\n")
    if len(words) > MAX_ABOUT_ME:
        raise DomainError(f"About you must be {MAX_ABOUT_ME} characters or fewer", field="about_me")
    return words or None


def written(profile: BuddyProfile) -> str | None:
    """What the buddy last wrote (waiting to be read, or already shown)."""
    return profile.about_me_pending or profile.about_me


def shown(profile: BuddyProfile) -> str | None:
    """The words other people see: only ones the ULO has read (None until then)."""
    return profile.about_me


def with_the_offer(profile: BuddyProfile, text: str | None) -> None:
    """A new or re-sent offer: the words wait to be read with it."""
    words = clean(text)
    profile.about_me = None
    profile.about_me_pending = words
    profile.about_me_refused = None


def offer_confirmed(profile: BuddyProfile) -> None:
    """The ULO confirmed the offer, having read the words with it: show them."""
    if profile.about_me_pending is not None:
        profile.about_me = profile.about_me_pending
    profile.about_me_pending = None


def changed_by_confirmed_buddy(
    session: Session, user: User, profile: BuddyProfile, text: str | None
) -> None:
    """A confirmed (or paused) buddy changed their words: new words go to the queue alone."""
    words = clean(text)
    if words == written(profile):
        return
    moderation.withdraw(session, ITEM_BUDDY_ABOUT_ME, profile.id)
    if words is None or words == profile.about_me:
        # Taking words away, or going back to the ones already shown, needs no reading.
        profile.about_me = words
        profile.about_me_pending = None
        return
    profile.about_me_pending = words
    profile.about_me_refused = None
    moderation.submit(
        session,
        ITEM_BUDDY_ABOUT_ME,
        profile.id,
        f"About me for a budget buddy in {profile.council.name}",
        user,
        {profile.council.code},
    )


def _decide(session: Session, item: ModerationItem, decision: Decision, reason: str) -> None:
    profile = session.get(BuddyProfile, item.item_id)
    if profile is None or profile.about_me_pending is None:
        raise DomainError("These words have been changed or removed since")
    if decision is Decision.APPROVE:
        profile.about_me = profile.about_me_pending
        profile.about_me_refused = None
    else:
        profile.about_me_refused = reason
    profile.about_me_pending = None


def moderation_view(session: Session, item: ModerationItem) -> dict[str, object]:
    """The moderator's page shows the words (escaped by the template) and the buddy's name."""
    return {"buddy_about_me": session.get(BuddyProfile, item.item_id)}


def register() -> None:
    """Teach moderation about a buddy's changed words (idempotent: called from init_app)."""
    moderation.register_kind(
        ITEM_BUDDY_ABOUT_ME,
        "About me for a budget buddy",
        _decide,
        approve_label="Show these words with their suggestions",
        reject_label="Do not show them, with a reason they will see",
        view=moderation_view,
    )
