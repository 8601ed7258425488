"""Benchmark the budget-buddy assignment: time, total score, greedy and an upper bound.

    .venv/bin/python bench/matching.py --seekers 10000 --buddies 5000

Generates seeded, realistic people (about 20 councils spread over England, most people speak
English and some speak another language as well or instead, random subsets of ways and times,
buddy capacities 1-3, 60% with a point near their council) and reports:

1. the time and total of ``assign`` (exact on each seeker's top-K feasible buddies);
2. the total of ``greedy_assign`` on the same candidates;
3. an upper bound on the optimum over the FULL feasible edge set, from Lagrangian relaxation of
   the capacity constraints: for any buddy prices p >= 0,
   ``sum_j cap_j * p_j + sum_i max(0, max_j (s_ij - p_j))`` bounds the optimum from above.
   p = 0 gives "every seeker gets their own best"; a few subgradient steps tighten it. The ratio
   assign / bound is a lower bound on how close ``assign`` is to the true optimum.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from marketplace.buddies.matching import (  # noqa: E402
    DEFAULT_K,
    HOLDINGS,
    TIMES,
    TOPICS,
    WAYS,
    BuddyProfile,
    Seeker,
    Weights,
    _candidates,
    _Encoded,
    assign,
    greedy_assign,
)

OTHER_LANGUAGES = ["Urdu", "Polish", "Punjabi", "Bengali", "Arabic", "Gujarati", "BSL", "Welsh"]


def _subset(rng: random.Random, items: tuple[str, ...], p: float) -> frozenset[str]:
    chosen = frozenset(x for x in items if rng.random() < p)
    return chosen or frozenset([rng.choice(items)])


def _languages(rng: random.Random) -> frozenset[str]:
    r = rng.random()
    if r < 0.85:
        return frozenset(["English"])
    other = rng.choice(OTHER_LANGUAGES)
    return frozenset(["English", other]) if r < 0.97 else frozenset([other])


def generate(
    n_seekers: int, n_buddies: int, seed: int, n_councils: int = 20
) -> tuple[list[Seeker], list[BuddyProfile]]:
    rng = random.Random(seed)
    councils = [
        (f"E{6000000 + i:08d}", rng.randint(350_000, 600_000), rng.randint(100_000, 550_000))
        for i in range(n_councils)
    ]
    # Bigger councils have more people: a Zipf-like weight per council.
    council_weights = [1 / (i + 1) ** 0.6 for i in range(len(councils))]

    def place() -> tuple[str, tuple[int, int] | None]:
        code, x, y = rng.choices(councils, council_weights)[0]
        point = (x + int(rng.gauss(0, 12_000)), y + int(rng.gauss(0, 12_000)))
        return code, point if rng.random() < 0.6 else None

    def gender() -> str | None:
        return rng.choices(["woman", "man", "non_binary", None], [0.5, 0.4, 0.03, 0.07])[0]

    seekers = []
    for i in range(n_seekers):
        council, point = place()
        g = gender()
        seekers.append(
            Seeker(
                id=i,
                council=council,
                holds=rng.choice(HOLDINGS),
                wants=_subset(rng, TOPICS, 0.3),
                languages=_languages(rng),
                ways=_subset(rng, WAYS, 0.5),
                times=_subset(rng, TIMES, 0.5),
                point=point,
                only_gender=g if g and rng.random() < 0.1 else None,
                gender=g,
                waiting_days=int(rng.expovariate(1 / 30)),
                excluded=frozenset(rng.sample(range(n_buddies), 1))
                if rng.random() < 0.05
                else frozenset(),
            )
        )
    buddies = []
    for j in range(n_buddies):
        council, point = place()
        g = gender()
        buddies.append(
            BuddyProfile(
                id=j,
                council=council,
                holds=rng.choice(HOLDINGS),
                experience=_subset(rng, TOPICS, 0.5),
                languages=_languages(rng),
                ways=_subset(rng, WAYS, 0.5),
                times=_subset(rng, TIMES, 0.5),
                capacity=rng.randint(1, 3),
                point=point,
                only_gender=g if g and rng.random() < 0.1 else None,
                gender=g,
            )
        )
    return seekers, buddies


def upper_bound(
    seekers: list[Seeker], buddies: list[BuddyProfile], w: Weights, steps: int, target: float
) -> tuple[float, float]:
    """(best-per-seeker bound, Lagrangian bound) over every feasible pair.

    Subgradient steps on the buddy prices use Polyak's step towards ``target`` (a known feasible
    total): any prices give a valid bound, the steps only make it tighter.
    """
    enc = _Encoded(seekers, buddies)
    cols = np.arange(len(buddies))
    cap = enc.b["capacity"].astype(np.float64)
    waiting = enc.s["waiting"] * w.waiting
    blocks = [np.arange(a, min(a + 1024, len(seekers))) for a in range(0, len(seekers), 1024)]
    # Full score matrix in float32 blocks: 10,000 x 5,000 is 200 MB, fine for a bench.
    full = [(enc.block(r, cols, w) + waiting[r, None]).astype(np.float32) for r in blocks]
    prices = np.zeros(len(buddies), dtype=np.float32)
    best = None
    first = None
    step = 2.0
    for _ in range(steps + 1):
        total = float(cap @ prices)
        demand = np.zeros(len(buddies))
        for sc in full:
            red = sc - prices[None, :]
            arg = np.argmax(red, axis=1)
            val = red[np.arange(len(red)), arg]
            pos = val > 0
            total += float(val[pos].sum())
            demand += np.bincount(arg[pos], minlength=len(buddies))
        first = total if first is None else first
        best = total if best is None else min(best, total)
        g = demand - cap
        norm = float(g @ g)
        if norm == 0:
            break
        t = step * (total - target) / norm
        prices = np.maximum(0.0, prices + t * g).astype(np.float32)
        step = max(step * 0.97, 0.05)
    assert first is not None and best is not None
    return first, best


def candidate_bound(
    seekers: list[Seeker],
    buddies: list[BuddyProfile],
    w: Weights,
    steps: int,
    target: float,
    k: int,
) -> tuple[float, float]:
    """(best-per-seeker bound, Lagrangian bound) over every feasible pair, without scoring every
    pair: for national sizes, where seekers x buddies scores would not fit in memory.

    Each seeker's exact ``k`` best feasible buddies come from the engine's own candidate search
    (exact: see ``_candidates``). Every other feasible buddy scores at most the k-th best score
    ``t``; one in another council also at most ``r``, the most the non-council terms can give this
    seeker. So for prices p >= 0 the seeker's term ``max(0, max_j (s_ij - p_j))`` is at most the
    largest of: the candidates' ``s_ij - p_j``, ``t - (lowest price at home)`` and
    ``min(t, r) - (lowest price elsewhere)``. That keeps the bound valid (never below the true
    optimum); it is looser than the full one only where those last two terms win.
    """
    enc = _Encoded(seekers, buddies)
    rows, cols, scores = _candidates(enc, len(seekers), len(buddies), w, k)
    n_s, n_b = len(seekers), len(buddies)
    order = np.lexsort((-scores, rows))
    rows, cols, scores = rows[order], cols[order], scores[order]
    count = np.bincount(rows, minlength=n_s)
    start = np.concatenate([[0], np.cumsum(count)[:-1]])
    # Only seekers with k candidates can have other feasible buddies at all.
    t = np.where(count >= k, scores[np.minimum(start + k - 1, len(scores) - 1)], -np.inf)
    t = np.where(count > 0, t, -np.inf)  # no feasible buddy anywhere: nothing else to bound
    has = lambda field: np.array([bool(getattr(x, field)) for x in seekers])  # noqa: E731
    holds_known = np.array([x.holds in HOLDINGS for x in seekers])
    r = (
        w.experience * has("wants")
        + w.holds * holds_known
        + w.times * has("times")
        + w.distance * enc.s["meets"]
        + w.lived * has("lived")
        + w.waiting * enc.s["waiting"]
    )
    away_cap = np.minimum(t, r)
    s_council, b_council = enc.s["council"], enc.b["council"]
    n_councils = int(max(s_council.max(), b_council.max())) + 1
    cap = enc.b["capacity"].astype(np.float64)
    prices = np.zeros(n_b)
    first = best = None
    step = 2.0
    for _ in range(steps + 1):
        # Lowest price in each council, and the two lowest councils (for "elsewhere").
        council_min = np.full(n_councils, np.inf)
        np.minimum.at(council_min, b_council, prices)
        council_arg = np.full(n_councils, -1)
        cheapest = prices == council_min[b_council]
        council_arg[b_council[cheapest]] = np.flatnonzero(cheapest)
        two = np.argsort(council_min)[:2]
        away_min = np.where(s_council == two[0], council_min[two[1]], council_min[two[0]])
        away_arg = np.where(s_council == two[0], council_arg[two[1]], council_arg[two[0]])
        home_min = council_min[s_council]

        reduced = scores - prices[cols]
        cand_best = np.full(n_s, -np.inf)
        np.maximum.at(cand_best, rows, reduced)
        options = np.stack([np.zeros(n_s), cand_best, t - home_min, away_cap - away_min])
        choice = np.argmax(options, axis=0)
        value = options[choice, np.arange(n_s)]
        total = float(cap @ prices) + float(value.sum())
        first = total if first is None else first
        best = total if best is None else min(best, total)

        demand = np.zeros(n_b)
        is_best = (reduced == cand_best[rows]) & (choice[rows] == 1)
        r_first = np.unique(rows[is_best], return_index=True)[1]
        np.add.at(demand, cols[is_best][r_first], 1)
        np.add.at(demand, council_arg[s_council[choice == 2]], 1)
        np.add.at(demand, away_arg[choice == 3], 1)
        g = demand - cap
        norm = float(g @ g)
        if norm == 0:
            break
        prices = np.maximum(0.0, prices + step * (total - target) / norm * g)
        step = max(step * 0.97, 0.05)
    assert first is not None and best is not None
    return first, best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seekers", type=int, default=10_000)
    ap.add_argument("--buddies", type=int, default=5_000)
    ap.add_argument("--councils", type=int, default=20)
    ap.add_argument(
        "--national",
        action="store_true",
        help="England's scale: 100,000 seekers, 50,000 buddies, 153 councils",
    )
    ap.add_argument("--k", type=int, default=DEFAULT_K)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--bound-steps", type=int, default=300)
    ap.add_argument("--bound-k", type=int, default=100, help="candidates per seeker for the bound")
    args = ap.parse_args()
    if args.national:
        args.seekers, args.buddies, args.councils = 100_000, 50_000, 153
    w = Weights()

    seekers, buddies = generate(args.seekers, args.buddies, args.seed, args.councils)
    slots = sum(b.capacity for b in buddies)
    print(
        f"{len(seekers)} seekers, {len(buddies)} buddies, {slots} places, "
        f"{args.councils} councils, K={args.k}"
    )

    t0, c0 = time.perf_counter(), time.process_time()
    result = assign(seekers, buddies, w, k=args.k)
    t_assign, c_assign = time.perf_counter() - t0, time.process_time() - c0
    print(
        f"assign: {t_assign:.2f} s ({c_assign:.2f} s of CPU), {len(result.pairs)} pairs, "
        f"total {result.total:.1f}"
    )

    t0 = time.perf_counter()
    greedy = greedy_assign(seekers, buddies, w, k=args.k)
    t_greedy = time.perf_counter() - t0
    print(
        f"greedy: {t_greedy:.2f} s, {len(greedy.pairs)} pairs, total {greedy.total:.1f} "
        f"({greedy.total / result.total:.2%} of assign)"
    )

    t0 = time.perf_counter()
    naive, lagrange = candidate_bound(
        seekers, buddies, w, args.bound_steps, result.total, args.bound_k
    )
    t_bound = time.perf_counter() - t0
    print(
        f"upper bound from each seeker's {args.bound_k} best, each seeker's own best: "
        f"{naive:.1f} (assign/bound {result.total / naive:.2%})"
    )
    print(
        f"upper bound from each seeker's {args.bound_k} best, Lagrangian "
        f"({args.bound_steps} steps, {t_bound:.1f} s): {lagrange:.1f} "
        f"(assign/bound {result.total / lagrange:.2%})"
    )
    if len(seekers) * len(buddies) <= 50_000_000:
        # Small enough to score every pair: the full bound, to show how loose the other is.
        t0 = time.perf_counter()
        naive, lagrange = upper_bound(seekers, buddies, w, args.bound_steps, result.total)
        t_bound = time.perf_counter() - t0
        print(
            f"upper bound over every pair, Lagrangian ({args.bound_steps} steps, "
            f"{t_bound:.1f} s): {lagrange:.1f} (assign/bound {result.total / lagrange:.2%})"
        )


if __name__ == "__main__":
    main()
