"""Crisis recognition against a test set: at-risk sentences and ordinary ones sharing their
words. The figures themselves are printed by bench/crisis.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from marketplace.moderation import crisis

HERE = Path(__file__).parent


def sentences(name: str) -> list[str]:
    """The non-comment lines of one of the data files."""
    lines = (HERE / name).read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


AT_RISK = sentences("crisis_at_risk.txt")
ORDINARY = sentences("crisis_ordinary.txt")


def test_the_sets_are_big_enough_and_distinct():
    assert len(AT_RISK) >= 100 and len(ORDINARY) >= 100
    assert not set(AT_RISK) & set(ORDINARY)


def test_at_least_95_percent_of_at_risk_sentences_are_recognised():
    missed = [s for s in AT_RISK if not crisis.suggests_crisis(s)]
    assert len(missed) <= 0.05 * len(AT_RISK), missed


def test_at_most_5_percent_of_ordinary_sentences_raise_a_false_alarm():
    alarms = [s for s in ORDINARY if crisis.suggests_crisis(s)]
    assert len(alarms) <= 0.05 * len(ORDINARY), alarms


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("I can’t   go on", True),  # curly apostrophe, extra spaces
        ("I CANT GO ON", True),
        ("i'm not safe right now", True),
        ("Im not safe right now", True),
        ("I would never kill myself", False),
        ("I'm not going to kill myself, don't worry", False),
        ("I'd never ever think about killing myself", False),
        # The negation governs only its own sentence.
        ("I would never lie to you. I want to kill myself.", True),
        ("I don't know why, I want to die", True),
    ],
)
def test_spelling_spacing_and_negation(text, expected):
    assert crisis.suggests_crisis(text) is expected


def test_the_signpost_is_still_only_a_flash_for_the_writer(app):
    from flask import get_flashed_messages

    with app.test_request_context():
        assert crisis.signpost_if_needed("I took too many tablets") is True
        assert get_flashed_messages(with_categories=True) == [(crisis.CATEGORY, "crisis")]
    with app.test_request_context():
        assert crisis.signpost_if_needed("I took two tablets for my headache") is False
        assert get_flashed_messages() == []
