"""Load test: the site under gunicorn on PostgreSQL, against a bare Flask endpoint in the same run.

    make bench-load LOAD_ARGS="--duration 150"   # installs the `bench` extra (locust), runs this
    .venv/bin/python bench/load.py --services 100000 --users 20000 --duration 150
    .venv/bin/python bench/load.py --skip-data --duration 60     # reuse the generated world
    .venv/bin/python bench/load.py --services 2000 --users 500 --duration 30   # a quick try

1. Unless ``--skip-data``, bench/load_data.py drops, re-creates and fills its own PostgreSQL
   database (default ``bench_load``) and builds the Whoosh index (``--services`` listings,
   ``--users`` accounts, open pools, active buddy pairings); it prints each step's time, and
   keeps a copy of the world in ``bench_load_pristine``. With ``--skip-data`` the database is
   made a fresh copy of that (a few seconds), so every run starts from the same world.
2. Two gunicorn servers start on free loopback ports, with ``--workers`` workers each (default
   2 * cores + 1) and gunicorn.conf.py when the project has one: the site (``wsgi:app``, with
   DATABASE_URL, SEARCH_INDEX_DIR, a fresh SECRET_KEY, FLASK_DEBUG unset,
   SESSION_COOKIE_SECURE=0 because the client speaks plain http, and a sign-in rate limit far
   above what the test does) and bench/bare_app.py (one ``SELECT`` by primary key).
3. locust (headless, FastHttpUser; bench/load_locustfile.py) drives each in turn with the same
   settings: ``--clients`` simulated people started ``--spawn-rate`` a second, each waiting
   ``--wait`` seconds on average between requests (0: as fast as the server answers, so the
   figures are the server's capacity at that concurrency), for ``--duration`` seconds after a
   ``--warmup`` run that is not counted (it loads each worker's postcode files and caches).
   On the site each client signs in as a holder in a buddy pairing and then browses the
   directory and listings (40%), searches with text, filters and postcodes (30%), views,
   joins and leaves pools (10%) and reads and sends buddy messages (20%).
   Between the two (unless ``--no-floor``), the same clients sign in to the site and ask for
   its home page only ("floor"): the site's cheapest signed-in page, so what the site's own
   stack (gunicorn, Flask, sessions, CSRF, request log, metrics, the layout) costs before any
   page does work. It shows how much of the gap to the bare endpoint is the stack's, not the
   pages'.
4. It prints, for the site, the floor and the bare endpoint: requests, requests per second,
   p50, p95 and p99 latency in ms (locust rounds times above 100 ms to two significant figures)
   and errors (any response that is not 2xx/3xx after redirects, or a page without the text a
   person would expect). Then the site's throughput as a fraction of the bare endpoint's (and
   the floor's, for comparison) and whether each goal is met: 0 errors, site p95 <= 200 ms,
   ratio >= 0.5. The site's slowest pages by p95 follow, to show where the time goes.

Everything this starts (gunicorn servers, locust) is stopped in a finally, by process group.
Only the bench database is ever dropped: its name must start with ``bench_``.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import load_data  # bench/ is on sys.path when this file is run as a script
from sqlalchemy import create_engine, text

from marketplace.config import PROJECT_ROOT
from marketplace.providers.models import LANGUAGES

BIN = Path(sys.executable).parent
LOCUSTFILE = Path(__file__).resolve().parent / "load_locustfile.py"
GUNICORN_CONF = PROJECT_ROOT / "gunicorn.conf.py"
GOAL_P95_MS = 200
GOAL_RATIO = 0.5


@dataclass(frozen=True)
class Figures:
    requests: int
    rps: float
    p50: float
    p95: float
    p99: float
    errors: int


# ---------------------------------------------------------------------------------------------
# What the clients need to know about the world


def make_plan(url: str, password: str) -> dict[str, object]:
    """Accounts, pools, postcodes and sizes, read from the database (so --skip-data works)."""
    engine = create_engine(url)
    hour_ago = datetime.now(UTC) - timedelta(hours=1)
    try:
        with engine.connect() as connection:
            listings = connection.execute(text("SELECT max(id) FROM listings")).scalar_one()
            # Both people in each active pairing, unless they sent messages in the last hour
            # (an earlier run), so that nobody reaches the hourly message limit.
            accounts = connection.execute(
                text(
                    """
                    SELECT u.email, m.id FROM buddy_matches m
                    JOIN users u ON u.id IN (m.seeker_id, m.buddy_user_id)
                    WHERE m.status = 'active' AND (
                        SELECT count(*) FROM buddy_messages b
                        WHERE b.sender_id = u.id AND b.created_at > :hour_ago
                    ) < 5
                    ORDER BY m.id, u.id
                    """
                ),
                {"hour_ago": hour_ago},
            ).all()
            pools = connection.execute(
                text("SELECT id, cap_pence FROM pools WHERE status = 'open' ORDER BY id")
            ).all()
            postcodes = connection.execute(
                text(
                    # A fixed spread over every area (sorting by postcode would keep the Bs).
                    "SELECT postcode FROM (SELECT DISTINCT postcode FROM listings"
                    " WHERE postcode IS NOT NULL) AS p ORDER BY md5(postcode) LIMIT 2000"
                )
            ).scalars()
            councils = connection.execute(text("SELECT code FROM councils")).scalars()
            categories = connection.execute(text("SELECT slug FROM categories")).scalars()
            plan: dict[str, object] = {
                "listings": listings,
                "password": password,
                "accounts": [list(row) for row in accounts],
                "pools": [list(row) for row in pools],
                "postcodes": list(postcodes),
                "councils": list(councils),
                "categories": list(categories),
                "languages": [language for language in LANGUAGES if language != "English"],
            }
    finally:
        engine.dispose()
    if not plan["accounts"] or not plan["pools"] or not listings:
        raise SystemExit("The bench database has no pairings, pools or listings: drop --skip-data")
    return plan


# ---------------------------------------------------------------------------------------------
# Processes


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def stop(process: subprocess.Popen[bytes], name: str) -> None:
    """SIGTERM the process group we started (gunicorn's master and workers), then SIGKILL."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        print(f"{name} did not stop in 20 s: killing it")
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
    except ProcessLookupError:
        pass


@contextmanager
def gunicorn(
    label: str, app: str, env: dict[str, str], workers: int, log: Path, extra: Sequence[str] = ()
) -> Iterator[str]:
    """Serve `app` on a free loopback port; yield its base URL; stop it afterwards."""
    port = free_port()
    command = [str(BIN / "gunicorn")]
    if GUNICORN_CONF.exists():
        command += ["-c", str(GUNICORN_CONF)]  # the flags below override its bind and workers
    command += [*extra, "--bind", f"127.0.0.1:{port}", "--workers", str(workers), app]
    with log.open("wb") as output:
        process = subprocess.Popen(
            command,
            cwd=PROJECT_ROOT,
            env={"PUBLIC_BASE_URL": f"http://127.0.0.1:{port}", **env},
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, so stop() reaches every worker
        )
    base = f"http://127.0.0.1:{port}"
    try:
        yield base
    finally:
        stop(process, label)


def wait_until_up(url: str, process_log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - loopback
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            time.sleep(0.5)
    raise SystemExit(f"{url} did not answer in {timeout:.0f} s; see {process_log}:\n"
                     + process_log.read_text(errors="replace")[-3000:])  # fmt: skip


def warm_postcodes(base: str, postcodes: Sequence[str], workers: int) -> None:
    """Load every postcode file in every worker, as a long-running server would have.

    The site reads the ONS directory one first letter at a time, on first use, in each worker
    (0.1 to 0.5 s a letter). A search near one postcode per letter, sent workers * 3 times by
    `workers` threads at once, reaches (almost certainly) every worker.
    """
    by_letter = {postcode[0]: postcode for postcode in postcodes}
    urls = [
        f"{base}/services?postcode={urllib.parse.quote_plus(postcode)}&within=1"
        for postcode in by_letter.values()
        for _ in range(workers * 3)
    ]

    def get(url: str) -> int:
        with urllib.request.urlopen(url, timeout=60) as response:  # noqa: S310 - loopback
            response.read()
            return int(response.status)

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        statuses = list(pool.map(get, urls))
    print(
        f"site: postcode files for {len(by_letter)} letters loaded in every worker"
        f" ({len(urls)} searches, {time.perf_counter() - started:.1f} s;"
        f" {sum(1 for s in statuses if s != 200)} not 200)"
    )


def run_locust(
    user_class: str,
    host: str,
    args: argparse.Namespace,
    seconds: int,
    prefix: Path,
    env: dict[str, str],
) -> None:
    """One headless locust run; its figures are in PREFIX_stats.csv."""
    command = [
        str(BIN / "locust"),
        "-f", str(LOCUSTFILE),
        "--headless",
        "--users", str(args.clients),
        "--spawn-rate", str(args.spawn_rate),
        "--run-time", f"{seconds}s",
        "--stop-timeout", "10",
        "--host", host,
        "--csv", str(prefix),
        "--only-summary",
        "--loglevel", "WARNING",
        user_class,
    ]  # fmt: skip
    log = prefix.with_suffix(".log")
    with log.open("wb") as output:
        process = subprocess.Popen(
            command, env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            process.wait(timeout=seconds + 120)
        except subprocess.TimeoutExpired:
            print(f"locust did not finish in {seconds + 120} s: stopping it")
        finally:
            stop(process, "locust")
    if not Path(f"{prefix}_stats.csv").exists():
        raise SystemExit(f"locust wrote no figures; see {log}:\n" + log.read_text()[-3000:])


def read_stats(prefix: Path) -> tuple[Figures, list[dict[str, str]]]:
    """The Aggregated row as Figures, and every per-page row."""
    with open(f"{prefix}_stats.csv", encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    total = next(row for row in rows if row["Name"] == "Aggregated")
    figures = Figures(
        requests=int(total["Request Count"]),
        rps=float(total["Requests/s"]),
        p50=float(total["50%"]),
        p95=float(total["95%"]),
        p99=float(total["99%"]),
        errors=int(total["Failure Count"]),
    )
    return figures, [row for row in rows if row["Name"] != "Aggregated"]


def print_failures(prefix: Path, limit: int = 10) -> None:
    path = Path(f"{prefix}_failures.csv")
    if not path.exists():
        return
    with path.open(encoding="utf-8", newline="") as handle:
        rows = sorted(csv.DictReader(handle), key=lambda r: -int(r["Occurrences"]))
    for row in rows[:limit]:
        print(f"    {row['Occurrences']:>6} x {row['Method']} {row['Name']}: {row['Error'][:120]}")


# ---------------------------------------------------------------------------------------------


def report(results: dict[str, Figures], pages: list[dict[str, str]]) -> bool:
    """Print the table and the goals; True if every goal is met."""
    print()
    columns = ("requests", "req/s", "p50 ms", "p95 ms", "p99 ms")
    print(f"{'':<6} " + " ".join(f"{c:>9}" for c in columns) + f" {'errors':>7}")
    for label, f in results.items():
        print(
            f"{label:<6} {f.requests:>9,} {f.rps:>9.1f} {f.p50:>9.0f} {f.p95:>9.0f}"
            f" {f.p99:>9.0f} {f.errors:>7,}"
        )  # fmt: skip
    site, bare = results["site"], results["bare"]
    ratio = site.rps / bare.rps if bare.rps else 0.0
    print(f"\nThroughput ratio site/bare: {ratio:.3f}")
    if "floor" in results and bare.rps:
        floor = results["floor"].rps / bare.rps
        print(
            f"Floor/bare: {floor:.3f}. The signed-in home page alone, the site's cheapest page,"
            f" reaches {floor:.3f} of the bare endpoint; the mix reaches"
            f" {site.rps / results['floor'].rps:.3f} of the home page alone."
        )
    errors = [f.errors for f in results.values()]
    goals = [
        ("0 errors (every target)", not any(errors), " + ".join(map(str, errors))),
        (f"site p95 <= {GOAL_P95_MS} ms", site.p95 <= GOAL_P95_MS, f"{site.p95:.0f} ms"),
        (f"ratio >= {GOAL_RATIO}", ratio >= GOAL_RATIO, f"{ratio:.3f}"),
    ]  # fmt: skip
    for name, met, value in goals:
        print(f"  {'MET    ' if met else 'NOT MET'}  {name:<26} ({value})")
    print("\nSite pages by p95 (ms):")
    print(f"  {'page':<44} {'requests':>9} {'p50':>6} {'p95':>6} {'p99':>6} {'errors':>7}")
    for row in sorted(pages, key=lambda r: -float(r["95%"])):
        name = f"{row['Type']} {row['Name']}"
        print(
            f"  {name:<44} {int(row['Request Count']):>9,} {float(row['50%']):>6.0f}"
            f" {float(row['95%']):>6.0f} {float(row['99%']):>6.0f} {int(row['Failure Count']):>7}"
        )
    return all(met for _, met, _ in goals)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    load_data.add_arguments(parser)
    cores = os.cpu_count() or 1
    parser.add_argument("--skip-data", action="store_true", help="reuse the existing database")
    parser.add_argument("--workers", type=int, default=2 * cores + 1, help="gunicorn workers")
    parser.add_argument("--clients", type=int, default=10, help="simulated people at once")
    parser.add_argument("--spawn-rate", type=float, default=10, help="clients started a second")
    parser.add_argument("--duration", type=int, default=60, help="seconds measured per target")
    parser.add_argument("--warmup", type=int, default=15, help="seconds run first, not counted")
    parser.add_argument(
        "--wait", type=float, default=0, help="mean seconds a client waits between tasks"
    )
    parser.add_argument(
        "--no-floor", action="store_true", help="skip the signed-in home page on its own"
    )
    args = parser.parse_args(argv)
    url = args.database_url
    load_data.database_name(url)  # refuse a database that is not ours before anything else

    load = os.getloadavg()
    print(
        f"{cores} cores, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f};"
        f" {args.workers} gunicorn workers per server"
        + (f" with {GUNICORN_CONF.name}" if GUNICORN_CONF.exists() else "")
        + f"; {args.clients} clients, wait {args.wait} s, {args.duration} s measured"
        f" after {args.warmup} s warm-up"
    )
    if not args.skip_data:
        load_data.prepare(url, args.index_dir, load_data.sizes_from(args), args.processes)
    elif not args.index_dir.exists():
        raise SystemExit(f"No index in {args.index_dir}: run without --skip-data first")
    else:
        started = time.perf_counter()
        if load_data.restore_pristine(url):
            print(
                f"{load_data.database_name(url)}: a fresh copy of the world as generated"
                f" ({time.perf_counter() - started:.1f} s)"
            )
        else:
            print(
                f"No {load_data.database_name(load_data.pristine_url(url))}: this run starts from"
                " what earlier runs left (messages sent, pools joined and left)"
            )

    with tempfile.TemporaryDirectory(prefix="bench-load-") as scratch:
        work = Path(scratch)
        plan = make_plan(url, load_data.PASSWORD)
        (work / "plan.json").write_text(json.dumps(plan))
        print(
            f"Clients sign in as {len(plan['accounts']):,} accounts in buddy pairings;"  # type: ignore[arg-type]
            f" {len(plan['pools']):,} open pools; listings 1 to {plan['listings']:,}"  # type: ignore[arg-type]
        )
        server_env = {k: v for k, v in os.environ.items() if k != "FLASK_DEBUG"}
        server_env.update(
            DATABASE_URL=url,
            SEARCH_INDEX_DIR=str(args.index_dir),
            SECRET_KEY=secrets.token_urlsafe(32),
            SESSION_COOKIE_SECURE="0",
            SIGN_IN_RATE_LIMIT="100000 per minute",
            PYTHONUNBUFFERED="1",
        )
        client_env = dict(os.environ, LOAD_PLAN=str(work / "plan.json"), LOAD_WAIT=str(args.wait))
        results: dict[str, Figures] = {}
        pages: list[dict[str, str]] = []
        targets = [
            ("site", "SiteUser", "wsgi:app", (), "/"),
            ("floor", "FloorUser", "wsgi:app", (), "/"),
            ("bare", "BareUser", "bare_app:app", ("--pythonpath", str(LOCUSTFILE.parent)),
             "/row/1"),
        ]  # fmt: skip
        if args.no_floor:
            targets = [target for target in targets if target[0] != "floor"]
        for label, user_class, app, extra, probe in targets:
            log = work / f"{label}-gunicorn.log"
            with gunicorn(label, app, server_env, args.workers, log, extra) as base:
                wait_until_up(base + probe, log)
                if label == "site":
                    warm_postcodes(base, plan["postcodes"], args.workers)  # type: ignore[arg-type]
                if args.warmup:
                    print(f"{label}: warming up for {args.warmup} s", flush=True)
                    run_locust(
                        user_class, base, args, args.warmup, work / f"{label}-warmup", client_env
                    )
                load = os.getloadavg()
                print(
                    f"{label}: measuring for {args.duration} s (load average before:"
                    f" {load[0]:.2f})",
                    flush=True,
                )
                prefix = work / label
                run_locust(user_class, base, args, args.duration, prefix, client_env)
                results[label], rows = read_stats(prefix)
                if label == "site":
                    pages = rows
                if results[label].errors:
                    print(f"  {label} errors:")
                    print_failures(prefix)
        met = report(results, pages)
    print("\nAll goals met." if met else "\nSome goals not met.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
