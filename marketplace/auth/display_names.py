"""Display names that could pass for the site or its staff are refused, at register and change.

Names are compared as a "skeleton": NFKC-normalised, case-folded, with look-alike characters
(Cyrillic and Greek letters, digits used as letters) mapped to the Latin letter they imitate,
so that "Ａdm1n" and "аdmin" (Cyrillic а) are caught like "admin".
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable

from sqlalchemy.orm import Session

from marketplace.errors import DomainError

SITE_NAME = "Budget Marketplace"

# Words that claim a role on the site, as whole words of the skeleton.
STAFF_WORDS = frozenset(
    {"admin", "administrator", "moderator", "mod", "staff", "coordinator", "official"}
)

_CONFUSABLES = str.maketrans(
    {
        # Cyrillic
        "а": "a", "в": "b", "е": "e", "к": "k", "м": "m", "н": "h", "о": "o", "р": "p",
        "с": "c", "т": "t", "у": "y", "х": "x", "і": "i", "ј": "j", "ѕ": "s", "ԁ": "d",
        "ӏ": "l", "ո": "n",
        # Greek
        "α": "a", "β": "b", "ε": "e", "ι": "i", "κ": "k", "ν": "v", "ο": "o", "ρ": "p",
        "τ": "t", "υ": "u", "χ": "x",
        # Digits and signs written for letters
        "0": "o", "1": "l", "3": "e", "4": "a", "5": "s", "7": "t", "8": "b", "@": "a",
        "$": "s", "|": "l", "!": "i",
    }
)  # fmt: skip
_EMAIL = re.compile(r"\S+@\S+\.\S+")
_NOT_LETTER = re.compile(r"[^a-z]+")
_DIGIT = re.compile(r"\d")

# Names of organisations (from the organisations package, which registers itself: auth sits
# below it and cannot import it).
_name_sources: list[Callable[[Session], Iterable[str]]] = []


def add_reserved_names(source: Callable[[Session], Iterable[str]]) -> None:
    """Also refuse display names that match any name `source` gives (once per source: every
    app made in one process registers again)."""
    if source not in _name_sources:
        _name_sources.append(source)


def skeleton(text: str) -> str:
    """The form two names are compared in: letters only, look-alikes folded together."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    # "l" and "i" are confused both ways ("admln"); compare them as one letter.
    return _NOT_LETTER.sub(" ", folded.translate(_CONFUSABLES)).replace("l", "i").strip()


def _squashed(text: str) -> str:
    return skeleton(text).replace(" ", "")


def display_name_problem(session: Session, name: str) -> str | None:
    """Why this display name cannot be used, or None."""
    plain = unicodedata.normalize("NFKC", name)
    if _EMAIL.search(plain):
        return "A display name cannot be an email address"
    if len(_DIGIT.findall(plain)) >= 7:
        return "A display name cannot be a phone number"
    words = set(skeleton(name).split())
    reserved_words = {skeleton(w) for w in STAFF_WORDS}
    squashed = _squashed(name)
    if words & reserved_words or any(squashed == w for w in reserved_words):
        return "Choose a name that does not sound like the site's staff (like admin or moderator)"
    if _squashed(SITE_NAME) in squashed:
        return "Choose a name that is not the site's name"
    for source in _name_sources:
        for other in source(session):
            other_squashed = _squashed(other)
            if len(other_squashed) >= 4 and other_squashed in squashed:
                return "Choose a name that is not the name of an organisation on the site"
    return None


def check_display_name(session: Session, name: str) -> None:
    """Raise DomainError (field display_name) if the name cannot be used."""
    if problem := display_name_problem(session, name):
        raise DomainError(problem, field="display_name")
