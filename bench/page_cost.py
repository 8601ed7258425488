"""Server CPU per request for each kind of request in the load mix (bench/load_locustfile.py).

    .venv/bin/python bench/page_cost.py                      # every kind, 200 requests each
    .venv/bin/python bench/page_cost.py --requests 50 --kinds listing,search_text
    .venv/bin/python bench/page_cost.py --profile search_near   # top 25 functions, cProfile
    .venv/bin/python bench/page_cost.py --profile home --sort tottime --lines 40
    .venv/bin/python bench/page_cost.py --statements pool     # the SQL one request sends

Runs the app in this process with Flask's test client against the load-test world that
bench/load_data.py made (DATABASE_URL and SEARCH_INDEX_DIR as bench/load.py sets them; by default
the ``bench_load`` database and its index in instance/bench-load-index). Nothing here fills or
drops a database; sending messages adds rows, as the load test does.

It signs in as holders in active buddy pairings (the accounts bench/load.py gives locust), warms
every kind up, then runs ``--requests`` requests of each kind and prints, per request: the CPU
time of this process (``time.process_time``: the app's Python, Jinja, SQLAlchemy and psycopg, plus
the test client's small share; PostgreSQL's own CPU is another process and is not counted) as a
median and 90th percentile, the wall time, and the SQL statements sent. Each response is checked
for the text the locustfile looks for; a page without it is counted as "wrong", never hidden.
Timings are printed, never asserted: they depend on the machine and what else it is doing.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import logging
import os
import pstats
import random
import re
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import load_data  # bench/ is on sys.path when this file is run as a script
import load_mix
from flask import Flask
from flask.testing import FlaskClient
from load import make_plan
from load_mix import CSRF, SENDS_PER_ACCOUNT, Request
from sqlalchemy import event

from marketplace import create_app
from marketplace.extensions import db
from marketplace.ops.json_logging import JsonStreamHandler

MESSAGE = "Thanks, that helps. Shall we talk on Thursday?"


@dataclass
class Sample:
    cpu_ms: list[float] = field(default_factory=list)
    wall_ms: list[float] = field(default_factory=list)
    statements: list[int] = field(default_factory=list)
    wrong: int = 0


class StatementCounter:
    """Counts the SQL statements the app's engine sends (before_cursor_execute)."""

    def __init__(self, keep: bool = False) -> None:
        self.count = 0
        self.keep = keep
        self.statements: list[str] = []

    def __call__(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        self.count += 1
        if self.keep:
            self.statements.append(statement)


# ---------------------------------------------------------------------------------------------
# Signed-in people


class Holder:
    """A signed-in test client for one account in a buddy pairing."""

    def __init__(self, app: Flask, email: str, match_id: int, password: str) -> None:
        self.email = email
        self.match_id = match_id
        self.sent = 0
        self.client: FlaskClient = app.test_client()
        page = self.client.get("/sign-in").get_data(as_text=True)
        answer = self.client.post(
            "/sign-in",
            data={"csrf_token": csrf_token(page), "email": email, "password": password},
            follow_redirects=True,
        )
        if "Your account" not in answer.get_data(as_text=True):
            raise SystemExit(f"Could not sign in as {email} (status {answer.status_code})")


def csrf_token(body: str) -> str:
    match = CSRF.search(body)
    if not match:
        raise SystemExit("No CSRF token on the page")
    return match.group(1)


class People:
    """Holders to make requests as: one for reading, a fresh one when a sender has sent enough."""

    def __init__(self, app: Flask, plan: dict[str, Any]) -> None:
        self.app = app
        self.password = plan["password"]
        email, match_id = plan["accounts"][0]
        self.reader = Holder(app, email, match_id, self.password)
        # Senders come from the other end of the list and never write to the reader's pairing,
        # so that the page `pairing` measures is the same from one run to the next.
        self._senders: Iterator[list[Any]] = (
            account for account in reversed(plan["accounts"]) if account[1] != match_id
        )
        self.sender = self._next()

    def _next(self) -> Holder:
        try:
            email, match_id = next(self._senders)
        except StopIteration:
            raise SystemExit("Every account has sent its share of messages this hour") from None
        return Holder(self.app, email, match_id, self.password)

    def ready_sender(self) -> Holder:
        """The sender, swapped for a new account (signed in, untimed) before the hourly limit."""
        if self.sender.sent >= SENDS_PER_ACCOUNT:
            self.sender = self._next()
        return self.sender


# ---------------------------------------------------------------------------------------------
# The kinds of request, as the locustfile makes them


# kind -> (the locustfile's name for it, how to make one; None: request_for makes it from the
# signed-in people)
Maker = Callable[[random.Random, dict[str, Any]], Request]
KINDS: dict[str, tuple[str, Maker | None]] = {
    "home": ("/", lambda _rng, _plan: Request("/", "Get more from your personal budget")),
    "browse": ("/services (browse)", load_mix.browse),
    "listing": ("/services/[id]", load_mix.listing),
    "search_text": ("/services?q (text)", load_mix.search_text),
    "search_filters": ("/services?filters", load_mix.search_filters),
    "search_near": ("/services?postcode (near)", load_mix.search_near),
    "pools": ("/pools", lambda _rng, _plan: Request("/pools", "Pools")),
    "pool": ("/pools/[id]", load_mix.pool),
    "buddies": ("/buddies", lambda _rng, _plan: Request("/buddies", "Budget buddies")),
    # The reader's own pairing, and a message from the current sender.
    "pairing": ("/buddies/pairings/[id]", None),
    "send": ("/buddies/pairings/[id]/messages [POST]", None),
}


def request_for(kind: str, rng: random.Random, plan: dict[str, Any], people: People) -> Request:
    """The next request of this kind (for `send`: the form, fetched untimed, then the POST)."""
    if kind == "pairing":
        return Request(f"/buddies/pairings/{people.reader.match_id}", "Send message")
    if kind == "send":
        sender = people.ready_sender()
        path = f"/buddies/pairings/{sender.match_id}"
        token = csrf_token(sender.client.get(path).get_data(as_text=True))
        # The POST answers with a redirect back to the pairing (locust follows it: that GET is
        # the `pairing` kind); the flash says "Message sent" on the page it redirects to.
        return Request(
            f"{path}/messages",
            f"{path}#latest",
            data={"csrf_token": token, "body": MESSAGE},
            status=302,
        )
    maker = KINDS[kind][1]
    if maker is None:
        raise ValueError(f"no way to make a {kind!r} request")
    return maker(rng, plan)


def client_for(kind: str, people: People) -> FlaskClient:
    return (people.sender if kind == "send" else people.reader).client


def run_one(
    kind: str,
    rng: random.Random,
    plan: dict[str, Any],
    people: People,
    counter: StatementCounter,
    sample: Sample | None,
) -> None:
    """Make one request of this kind; record its cost in `sample` (None: warm-up)."""
    request = request_for(kind, rng, plan, people)
    client = client_for(kind, people)
    counter.count = 0
    counter.statements.clear()
    wall = time.perf_counter()
    cpu = time.process_time()
    if request.data is None:
        response = client.get(request.path)
    else:
        response = client.post(request.path, data=request.data)
    cpu = time.process_time() - cpu
    wall = time.perf_counter() - wall
    statements = counter.count
    if kind == "send":
        people.sender.sent += 1
    if sample is None:
        return
    sample.cpu_ms.append(cpu * 1000)
    sample.wall_ms.append(wall * 1000)
    sample.statements.append(statements)
    if not _as_expected(response, request):
        sample.wrong += 1


def _as_expected(response: Any, request: Request) -> bool:
    if response.status_code != request.status:
        return False
    if request.status == 302:
        return str(request.expect) in response.headers.get("Location", "")
    body = response.get_data(as_text=True)
    expect = request.expect
    return bool(expect.search(body)) if isinstance(expect, re.Pattern) else expect in body


# ---------------------------------------------------------------------------------------------
# Running and reporting


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def make_app(url: str, index_dir: Path) -> Flask:
    """The site as bench/load.py runs it under gunicorn (no debug, request logs on)."""
    # gunicorn.conf.py gives the root logger a JSON handler; the app's request log lines then go
    # to it. Same cost here, written to /dev/null rather than over the figures.
    root = logging.getLogger()
    root.addHandler(JsonStreamHandler(open(os.devnull, "w")))  # noqa: SIM115 - for the run
    root.setLevel(logging.WARNING)
    return create_app(
        {
            "DATABASE_URL": url,
            "PUBLIC_BASE_URL": "http://127.0.0.1",  # required; nothing here is served
            "SEARCH_INDEX_DIR": str(index_dir),
            "SESSION_COOKIE_SECURE": False,  # the test client speaks plain http
            "SIGN_IN_RATE_LIMIT": "100000 per minute",
            "JSON_REQUEST_LOGS": True,
        }
    )


def measure(
    app: Flask, plan: dict[str, Any], kinds: list[str], requests: int, warmup: int, seed: int
) -> dict[str, Sample]:
    counter = StatementCounter()
    event.listen(db.engine, "before_cursor_execute", counter)
    people = People(app, plan)
    rng = random.Random(seed)
    for kind in kinds:  # warm every worker-lifetime cache first, as a running worker has them
        for _ in range(warmup):
            run_one(kind, rng, plan, people, counter, None)
    samples = {kind: Sample() for kind in kinds}
    # Round after round of one request of each kind, so that whatever else the machine is doing
    # weighs on every kind alike rather than on whichever kind was running at the time.
    for _ in range(requests):
        for kind in kinds:
            run_one(kind, rng, plan, people, counter, samples[kind])
    return samples


def report(samples: dict[str, Sample]) -> None:
    header = (
        f"{'kind':<15} {'locust name':<40} {'n':>4} {'cpu p50':>8} {'cpu p90':>8}"
        f" {'wall p50':>9} {'wall p90':>9} {'SQL p50':>8} {'SQL max':>8} {'wrong':>6}"
    )
    print(header)
    print("-" * len(header))
    for kind, sample in samples.items():
        print(
            f"{kind:<15} {KINDS[kind][0]:<40} {len(sample.cpu_ms):>4}"
            f" {statistics.median(sample.cpu_ms):>8.2f} {percentile(sample.cpu_ms, 0.9):>8.2f}"
            f" {statistics.median(sample.wall_ms):>9.2f} {percentile(sample.wall_ms, 0.9):>9.2f}"
            f" {statistics.median(sample.statements):>8.0f} {max(sample.statements):>8}"
            f" {sample.wrong:>6}"
        )
    print("(milliseconds per request; SQL: statements per request)")


def show_statements(app: Flask, plan: dict[str, Any], kind: str, warmup: int, seed: int) -> None:
    """Print each SQL statement one request of this kind sends, in order."""
    counter = StatementCounter(keep=True)
    event.listen(db.engine, "before_cursor_execute", counter)
    people = People(app, plan)
    rng = random.Random(seed)
    for _ in range(warmup):
        run_one(kind, rng, plan, people, counter, None)
    run_one(kind, rng, plan, people, counter, None)
    print(f"{kind}: {counter.count} statements")
    for number, statement in enumerate(counter.statements, 1):
        print(f"\n-- {number}\n{' '.join(statement.split())[:600]}")


def profile(
    app: Flask,
    plan: dict[str, Any],
    kind: str,
    requests: int,
    warmup: int,
    seed: int,
    sort: str = "cumulative",
    lines: int = 25,
) -> None:
    """The `lines` functions with the most `sort` time over `requests` requests of one kind."""
    counter = StatementCounter()
    event.listen(db.engine, "before_cursor_execute", counter)
    people = People(app, plan)
    rng = random.Random(seed)
    for _ in range(warmup):
        run_one(kind, rng, plan, people, counter, None)
    profiler = cProfile.Profile(time.process_time)
    for _ in range(requests):
        # Only the request itself: making the next request (and, for `send`, fetching the
        # form's token) happens outside the profile.
        request = request_for(kind, rng, plan, people)
        client = client_for(kind, people)
        profiler.enable()
        if request.data is None:
            client.get(request.path)
        else:
            client.post(request.path, data=request.data)
        profiler.disable()
        if kind == "send":
            people.sender.sent += 1
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats(sort).print_stats(lines)
    print(f"{kind}: {requests} requests, CPU profile (process time, by {sort})")
    print(out.getvalue())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database-url", default=os.environ.get("DATABASE_URL") or load_data.DEFAULT_URL
    )
    parser.add_argument(
        "--index-dir",
        type=Path,
        default=Path(os.environ.get("SEARCH_INDEX_DIR") or load_data.DEFAULT_INDEX_DIR),
    )
    parser.add_argument("--requests", type=int, default=200, help="measured requests per kind")
    parser.add_argument("--warmup", type=int, default=50, help="untimed requests per kind first")
    parser.add_argument("--kinds", default=",".join(KINDS), help="comma-separated kinds")
    parser.add_argument("--profile", metavar="KIND", choices=list(KINDS), default=None)
    parser.add_argument(
        "--sort", choices=("cumulative", "tottime"), default="cumulative", help="profile order"
    )
    parser.add_argument("--lines", type=int, default=25, help="functions the profile shows")
    parser.add_argument(
        "--statements", metavar="KIND", choices=list(KINDS), default=None,
        help="print the SQL statements of one request of this kind (after the warm-up)",
    )  # fmt: skip
    parser.add_argument("--seed", type=int, default=8)
    args = parser.parse_args(argv)
    kinds = [kind for kind in args.kinds.split(",") if kind]
    unknown = [kind for kind in kinds if kind not in KINDS]
    if unknown:
        parser.error(f"unknown kinds {unknown}; choose from {', '.join(KINDS)}")
    if not args.index_dir.exists():
        raise SystemExit(f"No search index in {args.index_dir}: run bench/load_data.py first")

    plan = make_plan(args.database_url, load_data.PASSWORD)
    app = make_app(args.database_url, args.index_dir)
    print(
        f"{load_data.database_name(args.database_url)}: listings 1 to {plan['listings']:,},"
        f" {len(plan['pools'])} open pools, {len(plan['accounts']):,} pairing accounts;"
        f" Jinja auto_reload={app.jinja_env.auto_reload}; load average {os.getloadavg()[0]:.2f}",
        flush=True,
    )
    if args.statements:
        show_statements(app, plan, args.statements, args.warmup, args.seed)
    elif args.profile:
        profile(
            app, plan, args.profile, args.requests, args.warmup, args.seed, args.sort, args.lines
        )
    else:
        report(measure(app, plan, kinds, args.requests, args.warmup, args.seed))
    return 0


if __name__ == "__main__":
    sys.exit(main())
