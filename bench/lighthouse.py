"""Lighthouse: performance score, layout shift and bytes of the pages the load mix visits.

    .venv/bin/python bench/lighthouse.py              # installs Lighthouse with npm on first use
    .venv/bin/python bench/lighthouse.py --runs 3     # the median of three runs a page

Sets up (untimed) a temporary SQLite database with the demo world, serves the site with
gunicorn (gunicorn.conf.py, as in production: WhiteNoise serves the static files), signs in as
a demo holder, and runs Lighthouse (npm; Debian's Chromium, headless) with its default mobile
settings (a mid-range phone on a slow 4G line, simulated) on each page the load mix visits:
home, a search from a postcode, a service, the pools list, a pool, and a buddy conversation.
It prints each page's performance score (0-100), cumulative layout shift (CLS), largest
contentful paint, total blocking time and bytes sent, and whether each goal is met: score
>= 95 and CLS < 0.1 on every page. Lighthouse's scores move with the machine's load: compare
runs made on the same machine at the same load.
"""

from __future__ import annotations

import argparse
import http.cookiejar
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import urllib.parse
import urllib.request
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from load import gunicorn, wait_until_up  # noqa: E402

PROJECT_ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
LIGHTHOUSE_DIR = PROJECT_ROOT / "bench" / ".lighthouse"
LIGHTHOUSE_VERSION = "12"
CHROMIUM = "/usr/bin/chromium"
HOLDER = ("holder1@demo.example.org", "demo-password-2026")
GOAL_SCORE = 95
GOAL_CLS = 0.1


def lighthouse_binary() -> Path:
    binary = LIGHTHOUSE_DIR / "node_modules" / ".bin" / "lighthouse"
    if not binary.exists():
        print(f"Installing lighthouse@{LIGHTHOUSE_VERSION} with npm into {LIGHTHOUSE_DIR}")
        LIGHTHOUSE_DIR.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["npm", "install", "--no-audit", "--no-fund", "--prefix", str(LIGHTHOUSE_DIR),
             f"lighthouse@{LIGHTHOUSE_VERSION}"],
            check=True, stdout=subprocess.DEVNULL,
        )  # fmt: skip
    return binary


def seed_world(env: dict[str, str]) -> None:
    for command in (["db", "upgrade"], ["seed-demo"], ["search", "rebuild"]):
        subprocess.run(
            [str(BIN / "flask"), "--app", "wsgi", *command],
            cwd=PROJECT_ROOT, env={**env, "PUBLIC_BASE_URL": "http://127.0.0.1"}, check=True,
            stdout=subprocess.DEVNULL,
        )  # fmt: skip


def sign_in(base: str) -> tuple[urllib.request.OpenerDirector, str]:
    """A signed-in opener, and its cookies as a Cookie header for Lighthouse."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(f"{base}/sign-in").read().decode()
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page) or re.search(
        r'name="csrf_token" value="([^"]+)"', page
    )
    assert token, "no CSRF token on the sign-in page"
    form = {"csrf_token": token.group(1), "email": HOLDER[0], "password": HOLDER[1]}
    opener.open(f"{base}/sign-in", urllib.parse.urlencode(form).encode()).read()
    return opener, "; ".join(f"{cookie.name}={cookie.value}" for cookie in jar)


def first_link(opener: urllib.request.OpenerDirector, url: str, pattern: str) -> str:
    page = opener.open(url).read().decode()
    match = re.search(pattern, page)
    assert match, f"no link matching {pattern} on {url}"
    return match.group(1)


def pages(base: str, opener: urllib.request.OpenerDirector) -> dict[str, str]:
    search = "/services?q=counselling&postcode=LS2+8BY&within=10"
    return {
        "home": "/",
        "search": search,
        "service": first_link(opener, base + search, r'href="(/services/\d+)[?"]'),
        "pools": "/pools",
        "pool": first_link(opener, base + "/pools", r'href="(/pools/\d+)[?"]'),
        "messages": first_link(opener, base + "/buddies", r'href="(/buddies/pairings/\d+)[?"/]'),
    }


def _lighthouse_once(
    binary: Path, url: str, cookie: str, output: Path
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(binary), url, "--only-categories=performance", "--output=json",
         f"--output-path={output}", "--quiet",
         "--chrome-flags=--headless=new --no-sandbox --disable-dev-shm-usage",
         f"--extra-headers={json.dumps({'Cookie': cookie})}"],
        check=False, capture_output=True, text=True, env={**os.environ, "CHROME_PATH": CHROMIUM},
    )  # fmt: skip


def run_lighthouse(binary: Path, url: str, cookie: str, work: Path) -> dict[str, float]:
    output = work / "report.json"
    for attempt in range(3):  # Chromium now and then fails to start on a loaded machine
        finished = _lighthouse_once(binary, url, cookie, output)
        if finished.returncode == 0:
            break
        print(f"Lighthouse failed on {url} (attempt {attempt + 1}): {finished.stderr[-500:]}")
    else:
        raise SystemExit(f"Lighthouse failed three times on {url}")
    report = json.loads(output.read_text())
    audits = report["audits"]
    return {
        "score": round(report["categories"]["performance"]["score"] * 100),
        "cls": audits["cumulative-layout-shift"]["numericValue"],
        "lcp_ms": audits["largest-contentful-paint"]["numericValue"],
        "tbt_ms": audits["total-blocking-time"]["numericValue"],
        "kb": audits["total-byte-weight"]["numericValue"] / 1024,
    }


def _met(met: bool) -> str:
    return "met" if met else "NOT met"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=1, help="runs a page (the median is shown)")
    args = parser.parse_args(argv)
    binary = lighthouse_binary()
    work = Path(tempfile.mkdtemp(prefix="bench-lighthouse-"))
    env = {
        **os.environ,
        "INSTANCE_DIR": str(work / "instance"),
        "DATABASE_URL": f"sqlite:///{work / 'site.sqlite3'}",
        "SEARCH_INDEX_DIR": str(work / "search-index"),
        "SECRET_KEY": "bench-only",
        "SESSION_COOKIE_SECURE": "0",
    }
    env.pop("FLASK_DEBUG", None)
    seed_world(env)
    log = work / "gunicorn.log"
    with gunicorn("site", "wsgi:app", env, 2, log) as base:
        wait_until_up(f"{base}/", log)
        opener, cookie = sign_in(base)
        results: dict[str, dict[str, float]] = {}
        for name, path in pages(base, opener).items():
            runs = [run_lighthouse(binary, base + path, cookie, work) for _ in range(args.runs)]
            results[name] = {key: statistics.median(run[key] for run in runs) for key in runs[0]}
    print(f"Lighthouse {LIGHTHOUSE_VERSION}, mobile settings, median of {args.runs} run(s) a page;"
          f" load {os.getloadavg()[0]:.2f}")  # fmt: skip
    print(f"{'page':<10} {'score':>5} {'CLS':>6} {'LCP ms':>7} {'TBT ms':>7} {'KB sent':>8}")
    for name, figures in results.items():
        print(
            f"{name:<10} {figures['score']:>5.0f} {figures['cls']:>6.3f} {figures['lcp_ms']:>7.0f}"
            f" {figures['tbt_ms']:>7.0f} {figures['kb']:>8.1f}"
        )
    lowest = min(figures["score"] for figures in results.values())
    worst_shift = max(figures["cls"] for figures in results.values())
    met_score, met_shift = lowest >= GOAL_SCORE, worst_shift < GOAL_CLS
    print(f"Goal: every page scores >= {GOAL_SCORE}: lowest {lowest:.0f}: {_met(met_score)}")
    print(f"Goal: CLS < {GOAL_CLS} on every page: worst {worst_shift:.3f}: {_met(met_shift)}")
    return 0 if met_score and met_shift else 1


if __name__ == "__main__":
    raise SystemExit(main())
