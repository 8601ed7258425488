"""The budget-buddy matching engine: constraints, score order, reasons and the assignment."""

from __future__ import annotations

import dataclasses
import itertools
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from marketplace.buddies.matching import (
    HOLDINGS,
    LIVED_TOPICS,
    TIMES,
    TOPICS,
    WAYS,
    BuddyProfile,
    Seeker,
    Weights,
    assign,
    feasible,
    greedy_assign,
    reasons,
    score,
    suggestions,
)

MILE = 1609.344


def seeker(**kw: object) -> Seeker:
    base: dict[str, object] = {
        "id": 1,
        "council": "LDS",
        "holds": "direct_payment",
        "wants": frozenset({"employing_a_pa"}),
        "languages": frozenset({"English"}),
        "ways": frozenset({"phone"}),
        "times": frozenset({"evenings"}),
        "point": None,
        "only_gender": None,
        "gender": None,
        "waiting_days": 0,
        "excluded": frozenset(),
    }
    base.update(kw)
    return Seeker(**base)  # type: ignore[arg-type]


def buddy(**kw: object) -> BuddyProfile:
    base: dict[str, object] = {
        "id": 10,
        "council": "MAN",
        "holds": "managed_account",
        "experience": frozenset(),
        "languages": frozenset({"English"}),
        "ways": frozenset({"phone"}),
        "times": frozenset(),
        "capacity": 1,
        "point": None,
        "only_gender": None,
        "gender": None,
    }
    base.update(kw)
    return BuddyProfile(**base)  # type: ignore[arg-type]


# --- Hard constraints ------------------------------------------------------------------------


def test_a_plain_pair_is_feasible() -> None:
    assert feasible(seeker(), buddy())


@pytest.mark.parametrize(
    ("s", "b"),
    [
        pytest.param(seeker(languages=frozenset({"Urdu"})), buddy(), id="no shared language"),
        pytest.param(seeker(ways=frozenset({"video"})), buddy(), id="no shared way to talk"),
        pytest.param(seeker(), buddy(capacity=0), id="no free place"),
        pytest.param(seeker(only_gender="woman"), buddy(gender="man"), id="seeker wants a woman"),
        pytest.param(seeker(only_gender="woman"), buddy(gender=None), id="buddy gave no gender"),
        pytest.param(
            seeker(gender="man"), buddy(only_gender="woman", gender="woman"), id="buddy only women"
        ),
        pytest.param(seeker(excluded=frozenset({10})), buddy(id=10), id="blocked"),
    ],
)
def test_each_hard_constraint_blocks_a_pair(s: Seeker, b: BuddyProfile) -> None:
    assert not feasible(s, b)
    assert suggestions(s, [b]) == []
    assert assign([s], [b], k=5).pairs == []


def test_gender_preferences_met_on_both_sides_are_feasible() -> None:
    s = seeker(only_gender="woman", gender="woman")
    assert feasible(s, buddy(gender="woman", only_gender="woman"))


# --- Score order -----------------------------------------------------------------------------


def test_weights_are_in_order_and_each_outranks_everything_below() -> None:
    values = [f.default for f in dataclasses.fields(Weights)]
    assert values == sorted(values, reverse=True)
    for i, v in enumerate(values):
        assert v > sum(values[i + 1 :])  # type: ignore[arg-type]


def test_same_council_beats_everything_below_it() -> None:
    s = seeker(
        council="LDS",
        ways=frozenset({"in_person"}),
        point=(0, 0),
        times=frozenset({"evenings"}),
    )
    local = buddy(council="LDS", ways=frozenset({"in_person"}))
    everything_else = buddy(
        council="MAN",
        experience=frozenset({"employing_a_pa"}),
        holds="direct_payment",
        times=frozenset({"evenings"}),
        ways=frozenset({"in_person"}),
        point=(0, 0),
    )
    assert score(s, local) > score(s, everything_else)


@pytest.mark.parametrize(
    ("better", "worse"),
    [
        # experience beats holds + times + distance
        (
            {"experience": frozenset({"employing_a_pa"})},
            {"holds": "direct_payment", "times": frozenset({"evenings"}), "point": (0, 0)},
        ),
        # holds beats times + distance
        ({"holds": "direct_payment"}, {"times": frozenset({"evenings"}), "point": (0, 0)}),
        # times beats distance
        ({"times": frozenset({"evenings"})}, {"point": (0, 0)}),
        # closer beats further
        ({"point": (0, 1000)}, {"point": (0, 20_000)}),
    ],
)
def test_each_weight_beats_those_below_it(
    better: dict[str, object], worse: dict[str, object]
) -> None:
    s = seeker(ways=frozenset({"in_person"}), point=(0, 0))
    b_better = buddy(ways=frozenset({"in_person"}), **better)
    b_worse = buddy(ways=frozenset({"in_person"}), **worse)
    assert score(s, b_better) > score(s, b_worse)


def test_distance_counts_only_in_person_and_within_30_miles() -> None:
    far = buddy(ways=frozenset({"in_person"}), point=(0, int(31 * MILE)))
    s = seeker(ways=frozenset({"in_person"}), point=(0, 0))
    assert score(s, far) == score(s, buddy(ways=frozenset({"in_person"})))
    near_by_phone = buddy(point=(0, 0))
    assert score(seeker(point=(0, 0)), near_by_phone) == score(seeker(), buddy())


def test_longer_waits_rank_higher_up_to_a_cap() -> None:
    b = buddy()
    assert score(seeker(waiting_days=60), b) > score(seeker(waiting_days=5), b)
    assert score(seeker(waiting_days=90), b) == score(seeker(waiting_days=400), b)


# --- Reasons ---------------------------------------------------------------------------------


def test_reasons_in_plain_english() -> None:
    s = seeker(
        council="LDS",
        holds="direct_payment",
        wants=frozenset({"employing_a_pa", "ideas"}),
        ways=frozenset({"in_person"}),
        times=frozenset({"evenings", "weekends"}),
        point=(0, 0),
        gender="woman",
    )
    b = buddy(
        council="LDS",
        holds="direct_payment",
        experience=frozenset({"employing_a_pa", "assessment"}),
        ways=frozenset({"in_person"}),
        times=frozenset({"evenings"}),
        point=(0, int(3 * MILE)),
        gender="woman",
    )
    assert reasons(s, b, {"LDS": "Leeds"}) == [
        "knows Leeds council's process",
        "has helped with finding and employing a PA",
        "also holds a direct payment",
        "free on weekday evenings",
        "about 3 miles away",
    ]


def test_reasons_never_mention_private_things() -> None:
    s = seeker(gender="woman", only_gender="woman", waiting_days=80, lived=frozenset({"psychosis"}))
    b = buddy(gender="woman", only_gender="woman", lived=frozenset({"psychosis"}))
    text = " ".join(reasons(s, b, {})).lower()
    for word in ("woman", "gender", "health", "wait", "block", "psychosis", "experience of"):
        assert word not in text


def test_lived_experience_counts_only_when_both_opted_in_and_share_a_topic() -> None:
    plain = score(seeker(), buddy())
    both = score(seeker(lived=frozenset({"psychosis"})), buddy(lived=frozenset({"psychosis"})))
    assert both == pytest.approx(plain + Weights().lived)
    # The services pass an empty set for anyone who did not opt in.
    assert score(seeker(), buddy(lived=frozenset({"psychosis"}))) == plain
    assert score(seeker(lived=frozenset({"bipolar"})), buddy(lived=frozenset({"psychosis"}))) == (
        plain
    )
    assert score(seeker(lived=frozenset({"unknown"})), buddy(lived=frozenset({"unknown"}))) == (
        plain
    )


# --- Suggestions -----------------------------------------------------------------------------


def test_suggestions_best_first_ties_by_id_and_limited() -> None:
    s = seeker()
    buddies = [
        buddy(id=5),
        buddy(id=3),
        buddy(id=4, council="LDS"),
        buddy(id=2, experience=frozenset({"employing_a_pa"})),
        buddy(id=1, capacity=0, council="LDS"),
    ]
    got = suggestions(s, buddies, limit=3, council_names={"LDS": "Leeds"})
    assert [g.buddy_id for g in got] == [4, 2, 3]
    assert got[0].reasons == ["knows Leeds council's process"]
    assert got[0].score > got[1].score > got[2].score


# --- Assignment ------------------------------------------------------------------------------

COUNCILS = ("LDS", "MAN", "BRS")


@st.composite
def seekers_st(draw: st.DrawFn, n: int, n_buddies: int) -> list[Seeker]:
    out = []
    for i in range(n):
        out.append(
            Seeker(
                id=i,
                council=draw(st.sampled_from(COUNCILS)),
                holds=draw(st.sampled_from(HOLDINGS)),
                wants=draw(st.frozensets(st.sampled_from(TOPICS), max_size=3)),
                languages=draw(st.frozensets(st.sampled_from(("en", "ur")), min_size=1)),
                ways=draw(st.frozensets(st.sampled_from(WAYS), min_size=1, max_size=2)),
                times=draw(st.frozensets(st.sampled_from(TIMES))),
                point=draw(st.none() | st.tuples(st.integers(0, 60_000), st.integers(0, 60_000))),
                only_gender=draw(st.sampled_from((None, None, "woman"))),
                gender=draw(st.sampled_from((None, "woman", "man"))),
                waiting_days=draw(st.integers(0, 120)),
                lived=draw(st.frozensets(st.sampled_from(LIVED_TOPICS[:3]), max_size=2)),
                excluded=draw(st.frozensets(st.integers(0, max(n_buddies - 1, 0)), max_size=1)),
            )
        )
    return out


@st.composite
def buddies_st(draw: st.DrawFn, n: int, max_capacity: int) -> list[BuddyProfile]:
    out = []
    for j in range(n):
        out.append(
            BuddyProfile(
                id=j,
                council=draw(st.sampled_from(COUNCILS)),
                holds=draw(st.sampled_from(HOLDINGS)),
                experience=draw(st.frozensets(st.sampled_from(TOPICS))),
                languages=draw(st.frozensets(st.sampled_from(("en", "ur")), min_size=1)),
                ways=draw(st.frozensets(st.sampled_from(WAYS), min_size=1, max_size=3)),
                times=draw(st.frozensets(st.sampled_from(TIMES))),
                capacity=draw(st.integers(0 if max_capacity > 2 else 1, max_capacity)),
                point=draw(st.none() | st.tuples(st.integers(0, 60_000), st.integers(0, 60_000))),
                only_gender=draw(st.sampled_from((None, None, "woman"))),
                gender=draw(st.sampled_from((None, "woman", "man"))),
                lived=draw(st.frozensets(st.sampled_from(LIVED_TOPICS[:3]), max_size=2)),
            )
        )
    return out


@st.composite
def instance(
    draw: st.DrawFn, max_seekers: int, max_buddies: int, max_capacity: int
) -> tuple[list[Seeker], list[BuddyProfile]]:
    n_s = draw(st.integers(0, max_seekers))
    n_b = draw(st.integers(0, max_buddies))
    return draw(seekers_st(n_s, n_b)), draw(buddies_st(n_b, max_capacity))


def check_valid(seekers: list[Seeker], buddies: list[BuddyProfile], pairs: list) -> None:
    by_s = {s.id: s for s in seekers}
    by_b = {b.id: b for b in buddies}
    seeker_ids = [p[0] for p in pairs]
    assert len(seeker_ids) == len(set(seeker_ids)), "a seeker was assigned twice"
    for bid, n in Counter(p[1] for p in pairs).items():
        assert n <= by_b[bid].capacity, "a buddy's capacity was exceeded"
    for sid, bid, sc in pairs:
        assert feasible(by_s[sid], by_b[bid]), "an infeasible pair was used"
        assert sc == pytest.approx(score(by_s[sid], by_b[bid]))


@settings(max_examples=100, deadline=None)
@given(instance(max_seekers=12, max_buddies=8, max_capacity=3), st.integers(1, 6))
def test_assign_respects_capacity_feasibility_and_uniqueness(
    inst: tuple[list[Seeker], list[BuddyProfile]], k: int
) -> None:
    seekers, buddies = inst
    for result in (assign(seekers, buddies, k=k), greedy_assign(seekers, buddies, k=k)):
        check_valid(seekers, buddies, result.pairs)
        assert result.total == pytest.approx(sum(p[2] for p in result.pairs))


def brute_force(seekers: list[Seeker], buddies: list[BuddyProfile]) -> float:
    options = [[None] + [j for j, b in enumerate(buddies) if feasible(s, b)] for s in seekers]
    best = 0.0
    for choice in itertools.product(*options):
        used = Counter(j for j in choice if j is not None)
        if any(n > buddies[j].capacity for j, n in used.items()):
            continue
        total = sum(
            score(s, buddies[j]) for s, j in zip(seekers, choice, strict=True) if j is not None
        )
        best = max(best, total)
    return best


@settings(max_examples=60, deadline=None)
@given(instance(max_seekers=6, max_buddies=4, max_capacity=2))
def test_assign_matches_brute_force_optimum(
    inst: tuple[list[Seeker], list[BuddyProfile]],
) -> None:
    seekers, buddies = inst
    result = assign(seekers, buddies, k=len(buddies) + 1)
    check_valid(seekers, buddies, result.pairs)
    assert result.total == pytest.approx(brute_force(seekers, buddies), abs=1e-6)


def test_assign_beats_greedy_where_greedy_is_short_sighted() -> None:
    # Greedy gives the only Urdu-speaking buddy to the English speaker who likes her best and
    # leaves the Urdu-only seeker with nobody; the optimum matches both.
    both = buddy(
        id=1, council="LDS", holds="direct_payment", languages=frozenset({"English", "Urdu"})
    )
    other = buddy(id=2, council="LDS")
    a = seeker(id=1, council="LDS", holds="direct_payment")
    b = seeker(id=2, council="LDS", holds="mixed", languages=frozenset({"Urdu"}))
    best = assign([a, b], [both, other], k=5)
    assert sorted((p[0], p[1]) for p in best.pairs) == [(1, 2), (2, 1)]
    assert best.total > greedy_assign([a, b], [both, other], k=5).total
