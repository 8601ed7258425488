"""Crisis recognition: recall on the at-risk sentences, false alarms on ordinary ones that
share their words, and throughput.

    .venv/bin/python bench/crisis.py [--repeat 200]

The sentences are tests/moderation/crisis_at_risk.txt and crisis_ordinary.txt (the test
asserts >= 95% recall and <= 5% false alarms; this prints the figures and what was missed).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from marketplace.moderation.crisis import PATTERNS, suggests_crisis  # noqa: E402


def sentences(name: str) -> list[str]:
    lines = (ROOT / "tests" / "moderation" / name).read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=200, help="passes for the timing")
    args = parser.parse_args()
    at_risk, ordinary = sentences("crisis_at_risk.txt"), sentences("crisis_ordinary.txt")
    missed = [s for s in at_risk if not suggests_crisis(s)]
    alarms = [s for s in ordinary if suggests_crisis(s)]
    print(f"patterns: {len(PATTERNS)}")
    print(
        f"recall: {len(at_risk) - len(missed)}/{len(at_risk)} "
        f"= {100 * (1 - len(missed) / len(at_risk)):.1f}%"
    )
    print(f"false alarms: {len(alarms)}/{len(ordinary)} = {100 * len(alarms) / len(ordinary):.1f}%")
    for sentence in missed:
        print(f"  missed: {sentence}")
    for sentence in alarms:
        print(f"  false alarm: {sentence}")
    texts = at_risk + ordinary
    started = time.perf_counter()
    for _ in range(args.repeat):
        for text in texts:
            suggests_crisis(text)
    elapsed = time.perf_counter() - started
    checked = args.repeat * len(texts)
    print(
        f"throughput: {checked / elapsed:,.0f} sentences/s ({1e6 * elapsed / checked:.1f} µs each)"
    )


if __name__ == "__main__":
    main()
