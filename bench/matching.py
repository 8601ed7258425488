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


def generate(n_seekers: int, n_buddies: int, seed: int) -> tuple[list[Seeker], list[BuddyProfile]]:
    rng = random.Random(seed)
    councils = [
        (f"E{6000000 + i:08d}", rng.randint(350_000, 600_000), rng.randint(100_000, 550_000))
        for i in range(20)
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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seekers", type=int, default=10_000)
    ap.add_argument("--buddies", type=int, default=5_000)
    ap.add_argument("--k", type=int, default=DEFAULT_K)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--bound-steps", type=int, default=1000)
    args = ap.parse_args()
    w = Weights()

    seekers, buddies = generate(args.seekers, args.buddies, args.seed)
    slots = sum(b.capacity for b in buddies)
    print(f"{len(seekers)} seekers, {len(buddies)} buddies, {slots} places, K={args.k}")

    t0 = time.perf_counter()
    result = assign(seekers, buddies, w, k=args.k)
    t_assign = time.perf_counter() - t0
    print(f"assign: {t_assign:.2f} s, {len(result.pairs)} pairs, total {result.total:.1f}")

    t0 = time.perf_counter()
    greedy = greedy_assign(seekers, buddies, w, k=args.k)
    t_greedy = time.perf_counter() - t0
    print(
        f"greedy: {t_greedy:.2f} s, {len(greedy.pairs)} pairs, total {greedy.total:.1f} "
        f"({greedy.total / result.total:.2%} of assign)"
    )

    t0 = time.perf_counter()
    naive, lagrange = upper_bound(seekers, buddies, w, args.bound_steps, result.total)
    t_bound = time.perf_counter() - t0
    print(
        f"upper bound, each seeker's own best: {naive:.1f} "
        f"(assign/bound {result.total / naive:.2%})"
    )
    print(
        f"upper bound, Lagrangian ({args.bound_steps} steps, {t_bound:.1f} s): {lagrange:.1f} "
        f"(assign/bound {result.total / lagrange:.2%})"
    )


if __name__ == "__main__":
    main()
