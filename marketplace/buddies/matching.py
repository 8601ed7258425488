"""Matching budget buddies with seekers: a pure engine, with no database and no Flask.

A *buddy* is someone who has held a personal budget for a while and offers to help; a *seeker*
is a newcomer who asks for one. This module decides:

- which pairs may be matched at all (``feasible``: the hard constraints);
- how good a feasible pair is (``score``, with every weight in ``Weights``);
- why, in plain English that a seeker can be shown (``reasons``);
- the best few buddies for one seeker (``suggestions``);
- the globally best set of pairs for everyone waiting at once (``assign``), which respects each
  buddy's number of free places.

``assign`` is exact on a sparse graph: every seeker keeps only their ``k`` best feasible buddies
(scored in vectorised NumPy blocks, and only against buddies in their own council unless they
have fewer than ``k`` feasible ones there: the council weight outranks everything else, so that
prunes nothing that could be in the top ``k``), and the maximum-weight matching on that graph
(each buddy repeated once per free place) is found with SciPy's
``min_weight_full_bipartite_matching``, council by council once there are more buddies than ``k``.
Seekers left over get a second, equally exact round among the buddies with places left, in any
council. With ``k`` at least the number of buddies, the whole graph is solved at once and the
result is the true optimum. bench/matching.py measures time and quality up to England's scale
(100,000 seekers x 50,000 buddies). ``greedy_assign`` is kept for comparison only.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components, min_weight_full_bipartite_matching

HOLDINGS = ("direct_payment", "managed_account", "council_arranged", "mixed")
TOPICS = (
    "assessment",
    "choosing_how_to_hold",
    "employing_a_pa",
    "paperwork_monitoring",
    "ideas",
    "joining_a_pool",
)
WAYS = ("messages", "phone", "video", "in_person")
# Lived-experience topics someone may choose to be matched on. Private: they add to the score
# only when BOTH people opted in, and never appear in reasons or on any page.
LIVED_TOPICS = (
    "anxiety",
    "bipolar",
    "depression",
    "eating_disorders",
    "hearing_voices",
    "personality_disorder_diagnosis",
    "psychosis",
    "self_harm",
    "substance_use",
    "trauma",
)
TIMES = ("weekday_daytime", "evenings", "weekends")

# Distance only counts up to here: a buddy further away than this is no easier to meet than one
# in the next county, so they get no distance credit at all.
METRES_PER_MILE = 1609.344
MAX_DISTANCE_MILES = 30.0
MAX_DISTANCE_METRES = MAX_DISTANCE_MILES * METRES_PER_MILE
# Waiting time stops adding after this many days, so a very old request cannot outrank a good
# fit for everyone else.
WAITING_CAP_DAYS = 90

# How many candidate buddies each seeker keeps for the global assignment. Measured with
# bench/matching.py (10,000 seekers, 5,000 buddies, 2 cores): K=20 took 1.7 s but reached only
# 98.8% of an upper bound on the optimum; K=40 takes 1.6-1.8 s and reaches 99.2%; K=60 2.1 s.
DEFAULT_K = 40


@dataclass(frozen=True)
class BuddyProfile:
    id: int
    council: str
    holds: str  # "direct_payment" | "managed_account" | "council_arranged" | "mixed"
    experience: frozenset[str]  # help topics they know, from TOPICS
    languages: frozenset[str]
    ways: frozenset[str]  # from WAYS
    times: frozenset[str]  # from TIMES
    capacity: int  # free places, 0..3
    point: tuple[int, int] | None  # OS grid metres (easting, northing)
    only_gender: str | None = None  # e.g. "woman": only buddy seekers of that gender
    gender: str | None = None
    lived: frozenset[str] = frozenset()  # empty unless they opted in to matching on it


@dataclass(frozen=True)
class Seeker:
    id: int
    council: str
    holds: str
    wants: frozenset[str]  # help topics wanted, from TOPICS
    languages: frozenset[str]
    ways: frozenset[str]
    times: frozenset[str]
    point: tuple[int, int] | None
    only_gender: str | None = None  # e.g. "woman": only a buddy of that gender
    gender: str | None = None
    waiting_days: int = 0
    excluded: frozenset[int] = frozenset()  # buddy ids they blocked or ended with
    lived: frozenset[str] = frozenset()  # empty unless they opted in to matching on it


@dataclass(frozen=True)
class Weights:
    """Every weight of the score, in order of importance.

    Each component is a fraction in [0, 1] multiplied by its weight. Each weight is larger than
    the sum of all the weights below it, so a full match on one criterion always outranks full
    matches on every less important criterion together (100 > 50+24+12+6+3+1.5, ...).
    """

    council: float = 100.0  # same council: knows the local process, panels and forms
    experience: float = 50.0  # fraction of the topics the seeker wants that the buddy knows
    holds: float = 24.0  # holds the budget the same way (direct payment, managed account, ...)
    times: float = 12.0  # fraction of the seeker's free times the buddy shares
    distance: float = 6.0  # closer is better; only if both meet in person and both have points
    waiting: float = 3.0  # longer waits rank higher, up to WAITING_CAP_DAYS
    # Both opted in and share a lived-experience topic. Last: a gentle tie-break that never
    # outweighs knowing the process, and private, so it is never given as a reason.
    lived: float = 1.5


@dataclass(frozen=True)
class Suggestion:
    buddy_id: int
    score: float
    reasons: list[str]


@dataclass(frozen=True)
class Assignment:
    pairs: list[tuple[int, int, float]]  # (seeker id, buddy id, score)
    total: float


def feasible(seeker: Seeker, buddy: BuddyProfile) -> bool:
    """Whether the pair may be matched at all: the hard constraints."""
    return (
        not seeker.languages.isdisjoint(buddy.languages)
        and not seeker.ways.isdisjoint(buddy.ways)
        and buddy.capacity > 0
        and (seeker.only_gender is None or buddy.gender == seeker.only_gender)
        and (buddy.only_gender is None or seeker.gender == buddy.only_gender)
        and buddy.id not in seeker.excluded
    )


def _distance_metres(seeker: Seeker, buddy: BuddyProfile) -> float | None:
    # Distance only matters to people who would meet in person; for messages or calls it is noise.
    if (
        seeker.point is None
        or buddy.point is None
        or "in_person" not in seeker.ways
        or "in_person" not in buddy.ways
    ):
        return None
    return math.hypot(seeker.point[0] - buddy.point[0], seeker.point[1] - buddy.point[1])


def _components(seeker: Seeker, buddy: BuddyProfile) -> tuple[float, ...]:
    """The fractions, in the order of ``Weights``' fields."""
    council = 1.0 if seeker.council == buddy.council else 0.0
    experience = len(seeker.wants & buddy.experience) / len(seeker.wants) if seeker.wants else 0.0
    # Only a known way of holding counts as shared (the vectorised scorer agrees).
    holds = 1.0 if seeker.holds == buddy.holds and seeker.holds in HOLDINGS else 0.0
    times = len(seeker.times & buddy.times) / len(seeker.times) if seeker.times else 0.0
    d = _distance_metres(seeker, buddy)
    distance = 0.0 if d is None else max(0.0, 1.0 - d / MAX_DISTANCE_METRES)
    waiting = min(max(seeker.waiting_days, 0), WAITING_CAP_DAYS) / WAITING_CAP_DAYS
    # Only the fixed topics count (the vectorised scorer agrees).
    shared_lived = seeker.lived & buddy.lived & frozenset(LIVED_TOPICS)
    lived = 1.0 if shared_lived else 0.0
    return council, experience, holds, times, distance, waiting, lived


def score(seeker: Seeker, buddy: BuddyProfile, weights: Weights | None = None) -> float:
    """How good a pair is (higher is better); does not check feasibility."""
    w = weights or Weights()
    c = _components(seeker, buddy)
    return (
        w.council * c[0]
        + w.experience * c[1]
        + w.holds * c[2]
        + w.times * c[3]
        + w.distance * c[4]
        + w.waiting * c[5]
        + w.lived * c[6]
    )


_TOPIC_TEXT = {
    "assessment": "getting an assessment",
    "choosing_how_to_hold": "choosing how to hold a budget",
    "employing_a_pa": "finding and employing a PA",
    "paperwork_monitoring": "paperwork and council monitoring",
    "ideas": "ideas for using a budget",
    "joining_a_pool": "joining a pool with other people",
}
_HOLDS_TEXT = {
    "direct_payment": "also holds a direct payment",
    "managed_account": "also has a managed account",
    "council_arranged": "also has a council-arranged budget",
    "mixed": "also holds a budget in more than one way",
}
_TIMES_TEXT = {
    "weekday_daytime": "weekday daytimes",
    "evenings": "weekday evenings",
    "weekends": "weekends",
}


def _and_list(items: Sequence[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def reasons(
    seeker: Seeker, buddy: BuddyProfile, council_names: Mapping[str, str] | None = None
) -> list[str]:
    """Why this buddy was suggested, in plain English.

    Only the shared, non-private facts the score uses: never health, gender or anything a buddy
    has not chosen to show.
    """
    out: list[str] = []
    if seeker.council == buddy.council:
        name = (council_names or {}).get(buddy.council)
        out.append(f"knows {name} council's process" if name else "knows your council's process")
    topics = [_TOPIC_TEXT[t] for t in TOPICS if t in seeker.wants and t in buddy.experience]
    if topics:
        out.append("has helped with " + _and_list(topics))
    if seeker.holds == buddy.holds and seeker.holds in _HOLDS_TEXT:
        out.append(_HOLDS_TEXT[seeker.holds])
    times = [_TIMES_TEXT[t] for t in TIMES if t in seeker.times and t in buddy.times]
    if times:
        out.append("free on " + _and_list(times))
    d = _distance_metres(seeker, buddy)
    if d is not None and d <= MAX_DISTANCE_METRES:
        miles = round(d / METRES_PER_MILE)
        out.append(
            "less than a mile away"
            if miles < 1
            else f"about {miles} mile{'s' if miles != 1 else ''} away"
        )
    return out


def suggestions(
    seeker: Seeker,
    buddies: Iterable[BuddyProfile],
    limit: int = 3,
    weights: Weights | None = None,
    council_names: Mapping[str, str] | None = None,
) -> list[Suggestion]:
    """The best ``limit`` feasible buddies for one seeker, best first (ties by buddy id)."""
    scored = [(score(seeker, b, weights), b) for b in buddies if feasible(seeker, b)]
    scored.sort(key=lambda sb: (-sb[0], sb[1].id))
    return [Suggestion(b.id, s, reasons(seeker, b, council_names)) for s, b in scored[:limit]]


# --- Vectorised scoring, for candidate generation over thousands of people ---------------------


def _mask(values: frozenset[str], index: Mapping[str, int]) -> int:
    bits = 0
    for v in values:
        if v in index:
            bits |= 1 << index[v]
    return bits


class _Encoded:
    """Seekers and buddies as NumPy arrays of small codes and bitmasks.

    Sets become bitmasks so that "do they share a language" is one AND over a whole block of
    pairs instead of a Python set intersection per pair.
    """

    def __init__(self, seekers: Sequence[Seeker], buddies: Sequence[BuddyProfile]) -> None:
        everyone: list[Seeker | BuddyProfile] = [*seekers, *buddies]
        langs = sorted({x for p in everyone for x in p.languages})
        # Languages may outnumber the bits of one word, so they take as many uint64 words as needed.
        self.lang_words = max(1, (len(langs) + 63) // 64)
        lang_index = {x: i for i, x in enumerate(langs)}
        councils = {c: i for i, c in enumerate(sorted({p.council for p in everyone}))}
        genders = sorted({g for p in everyone for g in (p.gender, p.only_gender) if g is not None})
        gender_index = {g: i + 1 for i, g in enumerate(genders)}  # 0 means none given
        topics = {t: i for i, t in enumerate(TOPICS)}
        ways = {w: i for i, w in enumerate(WAYS)}
        times = {t: i for i, t in enumerate(TIMES)}
        holds = {h: i for i, h in enumerate(HOLDINGS)}
        lived = {t: i for i, t in enumerate(LIVED_TOPICS)}
        in_person = 1 << ways["in_person"]

        def lang_array(people: Sequence[Seeker | BuddyProfile]) -> np.ndarray:
            out = np.zeros((len(people), self.lang_words), dtype=np.uint64)
            for i, p in enumerate(people):
                m = _mask(p.languages, lang_index)
                for w in range(self.lang_words):
                    out[i, w] = (m >> (64 * w)) & 0xFFFFFFFFFFFFFFFF
            return out

        def common(people: Sequence[Seeker | BuddyProfile]) -> dict[str, np.ndarray]:
            pts = [p.point for p in people]
            return {
                "council": np.array([councils[p.council] for p in people], dtype=np.int32),
                # Unknown ways of holding get -1 / -2 so they never count as "the same".
                "holds": np.array([holds.get(p.holds, -1) for p in people], dtype=np.int8),
                "ways": np.array([_mask(p.ways, ways) for p in people], dtype=np.uint8),
                "times": np.array([_mask(p.times, times) for p in people], dtype=np.uint8),
                "gender": np.array([gender_index.get(p.gender or "", 0) for p in people]),
                "only": np.array([gender_index.get(p.only_gender or "", 0) for p in people]),
                "x": np.array([pt[0] if pt else 0 for pt in pts], dtype=np.float64),
                "y": np.array([pt[1] if pt else 0 for pt in pts], dtype=np.float64),
                "has_point": np.array([pt is not None for pt in pts], dtype=bool),
                "lang": lang_array(people),
                "lived": np.array([_mask(p.lived, lived) for p in people], dtype=np.uint16),
            }

        self.s = common(seekers)
        self.b = common(buddies)
        self.b["holds"] = np.where(self.b["holds"] < 0, -2, self.b["holds"]).astype(np.int8)
        self.s["wants"] = np.array([_mask(s.wants, topics) for s in seekers], dtype=np.uint8)
        self.b["exp"] = np.array([_mask(b.experience, topics) for b in buddies], dtype=np.uint8)
        self.s["n_wants"] = np.bitwise_count(self.s["wants"]).astype(np.float64)
        self.s["n_times"] = np.bitwise_count(self.s["times"]).astype(np.float64)
        self.s["waiting"] = (
            np.array([min(max(s.waiting_days, 0), WAITING_CAP_DAYS) for s in seekers])
            / WAITING_CAP_DAYS
        )
        for side in (self.s, self.b):
            side["meets"] = side["has_point"] & ((side["ways"] & in_person) != 0)
        self.b["capacity"] = np.array([b.capacity for b in buddies], dtype=np.int64)
        self.buddy_pos = {b.id: j for j, b in enumerate(buddies)}
        self.excluded = [
            [self.buddy_pos[x] for x in s.excluded if x in self.buddy_pos] for s in seekers
        ]

    def block(self, rows: np.ndarray, cols: np.ndarray, w: Weights) -> np.ndarray:
        """Scores of seekers ``rows`` against buddies ``cols``; -inf where infeasible.

        The waiting term is left out: it is the same for every buddy of a seeker, so it does not
        change which buddies a seeker prefers, and is added back to the chosen edges.
        """
        s, b = self.s, self.b
        ok = np.zeros((len(rows), len(cols)), dtype=bool)
        for word in range(self.lang_words):
            ok |= (s["lang"][rows, word][:, None] & b["lang"][cols, word][None, :]) != 0
        ok &= (s["ways"][rows][:, None] & b["ways"][cols][None, :]) != 0
        ok &= (b["capacity"][cols] > 0)[None, :]
        s_only, b_gender = s["only"][rows][:, None], b["gender"][cols][None, :]
        ok &= (s_only == 0) | (s_only == b_gender)
        b_only, s_gender = b["only"][cols][None, :], s["gender"][rows][:, None]
        ok &= (b_only == 0) | (b_only == s_gender)
        for i, r in enumerate(rows):
            if self.excluded[r]:
                # Excluded buddies are few per seeker: mark them by position, not per pair.
                ok[i, np.isin(cols, self.excluded[r])] = False

        sc = (s["council"][rows][:, None] == b["council"][cols][None, :]) * w.council
        n_wants = s["n_wants"][rows]
        exp_w = np.divide(w.experience, n_wants, out=np.zeros_like(n_wants), where=n_wants > 0)
        sc += np.bitwise_count(s["wants"][rows][:, None] & b["exp"][cols][None, :]) * exp_w[:, None]
        sc += (s["holds"][rows][:, None] == b["holds"][cols][None, :]) * w.holds
        n_times = s["n_times"][rows]
        t_w = np.divide(w.times, n_times, out=np.zeros_like(n_times), where=n_times > 0)
        sc += np.bitwise_count(s["times"][rows][:, None] & b["times"][cols][None, :]) * t_w[:, None]
        s_lived, b_lived = s["lived"][rows], b["lived"][cols]
        if s_lived.any() and b_lived.any():
            shared = (s_lived[:, None] & b_lived[None, :]) != 0
            sc += shared.astype(np.float64) * w.lived

        # Distance only on the sub-block of people who meet in person and have a point.
        si = np.flatnonzero(s["meets"][rows])
        bj = np.flatnonzero(b["meets"][cols])
        if len(si) and len(bj):
            dx = s["x"][rows[si]][:, None] - b["x"][cols[bj]][None, :]
            dy = s["y"][rows[si]][:, None] - b["y"][cols[bj]][None, :]
            near = np.maximum(0.0, 1.0 - np.sqrt(dx * dx + dy * dy) / MAX_DISTANCE_METRES)
            sc[np.ix_(si, bj)] += near * w.distance
        return np.where(ok, sc, -np.inf)


def _dominant_council(w: Weights) -> bool:
    """Whether a feasible buddy in the seeker's own council always outscores every buddy in
    another council: true when the council weight is more than every other per-pair weight
    together (the waiting term is the seeker's own and changes no ranking)."""
    return w.council > w.experience + w.holds + w.times + w.distance + w.lived


def _candidates(
    enc: _Encoded,
    n_seekers: int,
    n_buddies: int,
    w: Weights,
    k: int,
    block_rows: int = 512,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each seeker's ``k`` best feasible buddies (exactly those) as (seeker rows, buddy cols,
    scores).

    Buddies with no free place are dropped up front. The council weight outweighs everything
    else (``_dominant_council``), so a seeker with at least ``k`` feasible buddies in their own
    council has all of their ``k`` best there: each council's seekers are scored only against
    that council's buddies, and only the few seekers with fewer than ``k`` feasible buddies at
    home (a rare language, a small council) are scored against everyone. That keeps the work near
    the sum of councils' sizes squared instead of seekers x buddies, without changing the result.
    """
    cols = np.flatnonzero(enc.b["capacity"] > 0)
    empty = np.zeros(0, dtype=np.int64)
    if len(cols) == 0 or n_seekers == 0:
        return empty, empty, np.zeros(0)

    def one_block(rows: np.ndarray, block_cols: np.ndarray) -> tuple[np.ndarray, ...]:
        r_idx, c_idx, scores, found = _block_top(enc, rows, block_cols, w, k)
        # Fewer than k feasible at home: these rows are searched again among everyone.
        short = rows[found < k] if len(block_cols) < len(cols) else empty
        return r_idx, c_idx, scores, short

    tasks: list[tuple[np.ndarray, np.ndarray]] = []
    if _dominant_council(w):
        s_council, b_council = enc.s["council"], enc.b["council"][cols]
        order = np.argsort(s_council, kind="stable")
        codes, starts = np.unique(s_council[order], return_index=True)
        for code, rows in zip(codes, np.split(order, starts[1:]), strict=True):
            home = cols[b_council == code]
            for a in range(0, len(rows), block_rows):
                tasks.append((rows[a : a + block_rows], home))
    else:
        everyone = np.arange(n_seekers)
        tasks = [(everyone[a : a + block_rows], cols) for a in range(0, n_seekers, block_rows)]

    # NumPy releases the GIL in the big array operations, so two threads use two cores.
    with ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1)) as pool:
        parts = list(pool.map(lambda t: one_block(*t), tasks))
        short = np.concatenate([p[3] for p in parts]) if parts else empty
        if len(short):
            # Their home results are replaced by a search of every buddy (home ones included).
            is_short = np.zeros(n_seekers, dtype=bool)
            is_short[short] = True
            parts = [tuple(a[~is_short[p[0]]] for a in p[:3]) + (empty,) for p in parts]
            parts += list(pool.map(lambda t: one_block(*t), _fitting_groups(enc, short, cols)))
    return (
        np.concatenate([p[0] for p in parts]),
        np.concatenate([p[1] for p in parts]),
        np.concatenate([p[2] for p in parts]),
    )


def _fitting_groups(
    enc: _Encoded, rows: np.ndarray, cols: np.ndarray, block_rows: int = 512
) -> list[tuple[np.ndarray, np.ndarray]]:
    """``rows`` in groups that share their languages and ways of talking, each with only the
    ``cols`` who share at least one of each: the hard constraints prune before anything is
    scored (most of these seekers speak a language few buddies do)."""
    s, b = enc.s, enc.b
    keys = np.concatenate([s["lang"][rows], s["ways"][rows, None].astype(np.uint64)], axis=1)
    _, group = np.unique(keys, axis=0, return_inverse=True)
    group = group.reshape(-1)
    tasks = []
    for g in range(int(group.max()) + 1 if len(group) else 0):
        members = rows[group == g]
        first = members[0]
        fits = (b["ways"][cols] & s["ways"][first]) != 0
        speaks = np.zeros(len(cols), dtype=bool)
        for word in range(enc.lang_words):
            speaks |= (b["lang"][cols, word] & s["lang"][first, word]) != 0
        fitting = cols[fits & speaks]
        if len(fitting):
            tasks += [
                (members[a : a + block_rows], fitting) for a in range(0, len(members), block_rows)
            ]
    return tasks


def _block_top(
    enc: _Encoded, rows: np.ndarray, cols: np.ndarray, w: Weights, k: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The k best feasible buddies among ``cols`` for each of ``rows``, as (seeker rows, buddy
    cols, scores with the waiting term added back), and how many each row found (at most k)."""
    sc = enc.block(rows, cols, w)
    top = _top(sc, k)
    picked = np.take_along_axis(sc, top, axis=1)
    keep = np.isfinite(picked)
    r_idx = np.broadcast_to(rows[:, None], top.shape)[keep]
    return (
        r_idx,
        cols[top[keep]],
        picked[keep] + enc.s["waiting"][r_idx] * w.waiting,
        keep.sum(axis=1),
    )


def _top(sc: np.ndarray, k: int) -> np.ndarray:
    """Column indices of the k largest entries of each row (in no particular order)."""
    if k >= sc.shape[1]:
        return np.broadcast_to(np.arange(sc.shape[1]), sc.shape)
    return np.argpartition(-sc, k - 1, axis=1)[:, :k]


def _result(
    seekers: Sequence[Seeker],
    buddies: Sequence[BuddyProfile],
    chosen: Iterable[tuple[int, int]],
    w: Weights,
) -> Assignment:
    # The reported scores come from ``score`` itself, so they agree exactly with ``suggestions``.
    pairs = [(seekers[i].id, buddies[j].id, score(seekers[i], buddies[j], w)) for i, j in chosen]
    pairs.sort()
    return Assignment(pairs=pairs, total=sum(p[2] for p in pairs))


def assign(
    seekers: Sequence[Seeker],
    buddies: Sequence[BuddyProfile],
    weights: Weights | None = None,
    k: int = DEFAULT_K,
) -> Assignment:
    """A maximum-total-score assignment: each seeker at most once, each buddy at most
    ``capacity`` times, only feasible pairs.

    Round one is exact on the sparse graph of each seeker's ``k`` best feasible buddies (so exact
    overall when ``k`` covers every feasible buddy). Round two gives the seekers still unmatched
    their ``k`` best buddies among those with places left, and solves that exactly as well.

    The graph for SciPy: one row per seeker; one column per free place of each candidate buddy;
    plus one private "unmatched" column per seeker so that a full matching always exists.
    SciPy minimises, so a real edge costs ``big - score`` and staying unmatched costs ``big``:
    minimising the total cost is then the same as maximising the total score. Costs are kept
    strictly positive because the sparse matrix must not rely on stored zeros.
    """
    w = weights or Weights()
    seekers, buddies = list(seekers), list(buddies)
    if not seekers or not buddies:
        return Assignment(pairs=[], total=0.0)
    enc = _Encoded(seekers, buddies)
    rows, cols, scores = _candidates(enc, len(seekers), len(buddies), w, k)
    if len(rows) == 0:
        return Assignment(pairs=[], total=0.0)

    capacity = enc.b["capacity"]
    if k < len(buddies) and _dominant_council(w):
        # At scale one graph of everyone is too slow to solve at once, and it falls apart into
        # councils once the few edges between councils wait for round two: each council is then
        # solved exactly on its own.
        home = enc.s["council"][rows] == enc.b["council"][cols]
        chosen = _by_component(len(seekers), rows[home], cols[home], scores[home], capacity)
    else:
        chosen = _max_weight_b_matching(len(seekers), rows, cols, scores, capacity)

    # Second round: seekers left out (a council with more seekers than places, or too few
    # buddies who fit at home) get their k best buddies among everyone who still has a place, in
    # any council, and that problem is solved exactly too. This never lowers the total.
    matched = np.zeros(len(seekers), dtype=bool)
    left = capacity.copy()
    for r, c in chosen:
        matched[r] = True
        left[c] -= 1
    waiting_rows, open_cols = np.flatnonzero(~matched), np.flatnonzero(left > 0)
    if len(waiting_rows) and len(open_cols):
        r2, c2, s2 = _best_among(enc, waiting_rows, open_cols, w, k)
        if len(r2):
            chosen.extend(_by_component(len(seekers), r2, c2, s2, left))
    return _result(seekers, buddies, chosen, w)


def _best_among(
    enc: _Encoded, rows: np.ndarray, cols: np.ndarray, w: Weights, k: int, block_rows: int = 512
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each of ``rows``' k best feasible buddies among ``cols``, scored in blocks of rows so
    that memory stays bounded however many are left over."""
    parts = [
        _block_top(enc, rows[a : a + block_rows], cols, w, k)[:3]
        for a in range(0, len(rows), block_rows)
    ]
    return (
        np.concatenate([p[0] for p in parts]),
        np.concatenate([p[1] for p in parts]),
        np.concatenate([p[2] for p in parts]),
    )


def _by_component(
    n_rows: int, rows: np.ndarray, cols: np.ndarray, scores: np.ndarray, capacity: np.ndarray
) -> list[tuple[int, int]]:
    """``_max_weight_b_matching`` solved separately on each connected part of the graph: the
    same optimum, since no edge joins two parts, but far faster than one solve of them all."""
    if len(rows) == 0:
        return []
    n_cols = len(capacity)
    graph = csr_matrix(
        (np.ones(len(rows)), (rows, n_rows + cols)), shape=(n_rows + n_cols, n_rows + n_cols)
    )
    _, label = connected_components(graph, directed=False)
    edge_part = label[rows]
    order = np.argsort(edge_part, kind="stable")
    _, starts = np.unique(edge_part[order], return_index=True)
    chosen: list[tuple[int, int]] = []
    for edges in np.split(order, starts[1:]):
        local, local_rows = np.unique(rows[edges], return_inverse=True)
        for r, c in _max_weight_b_matching(
            len(local), local_rows, cols[edges], scores[edges], capacity
        ):
            chosen.append((int(local[r]), c))
    return chosen


def _max_weight_b_matching(
    n_rows: int, rows: np.ndarray, cols: np.ndarray, scores: np.ndarray, capacity: np.ndarray
) -> list[tuple[int, int]]:
    """Maximum-total-score matching of rows to columns, column j used at most capacity[j] times.

    Each edge is given once as (rows[e], cols[e], scores[e]); rows and columns are positions.
    """
    # Only columns that appear in an edge get slots, as many as their capacity (but no more than
    # their number of edges, which could never all be used).
    used, col_of_edge = np.unique(cols, return_inverse=True)
    caps = np.minimum(capacity[used], np.bincount(col_of_edge))
    slot_start = np.concatenate([[0], np.cumsum(caps)[:-1]]).astype(np.int64)
    n_slots = int(caps.sum())
    slot_col = np.repeat(used, caps)

    reps = caps[col_of_edge]
    e_rows = np.repeat(rows, reps)
    offsets = np.arange(int(reps.sum())) - np.repeat(np.cumsum(reps) - reps, reps)
    e_cols = np.repeat(slot_start[col_of_edge], reps) + offsets
    big = float(scores.max()) + 1.0
    e_cost = big - np.repeat(scores, reps)

    all_rows = np.concatenate([e_rows, np.arange(n_rows)])
    all_cols = np.concatenate([e_cols, n_slots + np.arange(n_rows)])
    all_cost = np.concatenate([e_cost, np.full(n_rows, big)])
    graph = csr_matrix((all_cost, (all_rows, all_cols)), shape=(n_rows, n_slots + n_rows))
    row_ind, col_ind = min_weight_full_bipartite_matching(graph)
    return [
        (int(r), int(slot_col[c])) for r, c in zip(row_ind, col_ind, strict=True) if c < n_slots
    ]


def greedy_assign(
    seekers: Sequence[Seeker],
    buddies: Sequence[BuddyProfile],
    weights: Weights | None = None,
    k: int = DEFAULT_K,
) -> Assignment:
    """Take the best remaining edge while places last. For comparison with ``assign`` only."""
    w = weights or Weights()
    seekers, buddies = list(seekers), list(buddies)
    if not seekers or not buddies:
        return Assignment(pairs=[], total=0.0)
    enc = _Encoded(seekers, buddies)
    rows, cols, scores = _candidates(enc, len(seekers), len(buddies), w, k)
    left = enc.b["capacity"].copy()
    done = np.zeros(len(seekers), dtype=bool)
    chosen = []
    for e in np.lexsort((cols, rows, -scores)):
        r, c = rows[e], cols[e]
        if not done[r] and left[c] > 0:
            done[r] = True
            left[c] -= 1
            chosen.append((int(r), int(c)))
    return _result(seekers, buddies, chosen, w)
