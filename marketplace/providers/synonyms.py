"""The words people use about mental health and support, and the words listings use instead.

One maintained list, applied when a search is run (never when listings are indexed), so a change
here needs no reindex. Each group is a set of words and phrases that mean the same thing to
someone looking for a service: a search for any of them also finds listings that use another,
ranked below listings that use the word that was typed. Spelling variants (counseling) belong
here too; plural and other endings are the stemmer's job, so "group" covers "groups".

Keep groups tight: a word in a group should find what the person meant, not just something
related ("sad" is not "depression"; a search for "swimming" should not list every gym).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import cache

GROUPS: tuple[tuple[str, ...], ...] = (
    # Feelings and conditions
    ("anxiety", "anxious", "panic", "panic attacks", "nervous", "worry", "worried"),
    ("depression", "depressed", "low mood", "feeling low"),
    ("stress", "stressed", "overwhelmed", "burnout"),
    ("grief", "bereavement", "bereaved", "loss of a loved one"),
    ("loneliness", "lonely", "isolated", "isolation", "on my own", "on your own"),
    ("hearing voices", "voices", "psychosis", "hallucinations"),
    ("mental health", "mental wellbeing", "emotional wellbeing"),
    ("wellbeing", "wellness", "well-being"),
    ("sleep", "insomnia", "cannot sleep"),
    # Kinds of support
    ("counselling", "counseling", "counsellor", "counselor", "therapy", "therapist"),
    ("talking therapy", "talking therapies", "psychotherapy", "cbt"),
    ("befriending", "befriender", "companionship", "friendship", "someone to talk to"),
    ("pa", "pas", "personal assistant", "personal assistants", "support worker", "care worker"),
    ("peer support", "lived experience", "self-help group", "support group"),
    ("advocacy", "advocate", "advocates", "speak up for me"),
    ("sleep-in", "sleep in", "overnight", "night-time", "night support"),
    ("payroll", "wages", "paye"),
    ("direct payment", "direct payments", "personal budget", "personal budgets"),
    ("cleaning", "cleaner", "housework", "domestic help", "help around the home"),
    ("cooking", "meals", "meal preparation"),
    ("shopping", "groceries"),
    # Activities
    ("gym", "fitness", "exercise", "workout"),
    ("swimming", "swim", "swimming pool"),
    ("walking", "walk", "walks", "rambling", "hiking"),
    ("art", "arts", "painting", "drawing", "creative", "crafts"),
    ("social club", "socialising", "socializing", "meet people", "meeting people", "social"),
    ("computer", "computers", "laptop", "tablet", "smartphone", "digital skills", "getting online"),
    ("job", "jobs", "work", "employment", "career"),
    ("volunteering", "volunteer", "volunteers"),
    ("coaching", "coach", "mentoring", "mentor"),
    ("travel", "transport", "bus", "buses", "train", "trains", "getting out"),
    # How and who
    ("online", "video call", "video calls", "zoom", "internet"),
    ("phone", "telephone", "by phone", "phone call", "phone calls", "calls", "helpline"),
    ("women", "woman", "female", "ladies"),
    ("men", "man", "male"),
    ("older people", "older", "elderly", "seniors", "pensioners"),
    ("young people", "young adults", "youth", "teenagers"),
    ("bme", "bame", "black and minority ethnic", "ethnic minority"),
    ("south asian", "asian", "pakistani", "bangladeshi", "indian"),
    ("lgbtq", "lgbt", "lgbtq+", "gay", "lesbian", "bisexual", "trans", "queer"),
    ("deaf", "bsl", "british sign language", "sign language"),
    ("low-cost", "low cost", "cheap", "affordable"),
)

# The same words as the search's tokenizer makes of what is typed: "sleep-in" is two.
_WORD = re.compile(r"\w+")


def _key(text: str) -> tuple[str, ...]:
    return tuple(_WORD.findall(text.casefold()))


@cache
def _table() -> dict[tuple[str, ...], tuple[tuple[str, ...], ...]]:
    """Each entry (as a tuple of words) -> the other entries of every group it is in."""
    table: dict[tuple[str, ...], list[tuple[str, ...]]] = {}
    for group in GROUPS:
        entries = [_key(entry) for entry in group]
        for entry in entries:
            others = table.setdefault(entry, [])
            others.extend(other for other in entries if other != entry and other not in others)
    return {entry: tuple(others) for entry, others in table.items()}


def longest_phrase() -> int:
    """The most words in any entry: how far ahead a typed phrase can reach."""
    return max((len(entry) for entry in _table()), default=1)


def alternatives(words: Sequence[str]) -> tuple[tuple[str, ...], ...]:
    """What else to search for when someone types these words (one word, or a phrase).

    Each alternative is a tuple of words; one of several words is a phrase, all of whose words
    a listing must have. Empty when the words are in no group.
    """
    return _table().get(tuple(word.casefold() for word in words), ())


@cache
def _single_words() -> frozenset[str]:
    return frozenset(entry[0] for entry in _table() if len(entry) == 1)


def near_words(word: str) -> tuple[str, ...]:
    """Words of the list one typo from this one (a letter missing, extra, wrong, or two
    neighbouring letters swapped; the first letter kept unless swapped), so "bereavment"
    still finds what "bereavement" would, even when no listing uses the word itself."""
    word = word.casefold()
    return tuple(
        sorted(
            other
            for other in _single_words()
            if _one_edit(word, other) and _same_start(word, other)
        )
    )


def _same_start(a: str, b: str) -> bool:
    # As the search's own typo tolerance: the first letter is kept unless it was swapped.
    return a[:1] == b[:1] or (len(a) > 1 and a[1] + a[0] + a[2:] == b)


def _one_edit(a: str, b: str) -> bool:
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        differ = [i for i in range(len(a)) if a[i] != b[i]]
        if len(differ) == 1:
            return True
        first, second = differ[0], differ[-1]
        return (
            len(differ) == 2
            and second == first + 1
            and a[first] == b[second]
            and a[second] == b[first]
        )
    shorter, longer = (a, b) if len(a) < len(b) else (b, a)
    for at in range(len(longer)):
        if longer[:at] + longer[at + 1 :] == shorter:
            return True
    return False
