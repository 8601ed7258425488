"""Crisis signposting: when what someone writes suggests they may be in crisis, show them
(privately, on their next page) where to get urgent help now.

This is a signpost, never a diagnosis. Nothing is stored, flagged, emailed or shared: the
check runs on the text just posted and only ever produces a flash message for its writer.
"""

from __future__ import annotations

import re

from flask import flash

# Kept short and careful: phrases people use about themselves when they may be at risk.
CRISIS_PHRASES = (
    "kill myself",
    "killing myself",
    "end my life",
    "ending my life",
    "take my own life",
    "suicide",
    "suicidal",
    "want to die",
    "wanna die",
    "self harm",
    "self-harm",
    "self harming",
    "self-harming",
    "hurt myself",
    "hurting myself",
    "can't go on",
    "cannot go on",
    "can not go on",
    "overdose",
)

_PATTERN = re.compile(
    r"\b(?:"
    + "|".join(re.escape(p).replace(r"\ ", r"\s+").replace("'", "['’]") for p in CRISIS_PHRASES)
    + r")\b",
    re.IGNORECASE,
)

CATEGORY = "crisis"


def suggests_crisis(text: str | None) -> bool:
    """Whether the text contains a phrase that suggests its writer may be in crisis."""
    return bool(text) and _PATTERN.search(text or "") is not None


def signpost_if_needed(text: str | None) -> bool:
    """Flash the urgent-help signpost to the writer (only) if their text suggests crisis."""
    if not suggests_crisis(text):
        return False
    flash("crisis", CATEGORY)
    return True
