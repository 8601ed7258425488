"""The requests in the load test's mix that need no signed-in state, as paths with the text
the page must show: one definition for locust (bench/load_locustfile.py) and for the per-request
cost (bench/page_cost.py), so both ask for the same pages.

Each maker takes a random source (a ``random.Random``, or the ``random`` module itself) and the
load plan bench/load.py writes (listings, categories, councils, languages, postcodes, pools).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Protocol

SEARCH_WORDS = (
    "peer support walking gym art counselling payroll advocacy computer help home night "
    "swimming cooking music women group travel yoga anxiety volunteering social club"
).split()
DELIVERY = ["in_person", "at_home", "online", "phone"]
TOTAL = re.compile(r"service(s)? found|No services match")
CSRF = re.compile(r'<input[^>]*name="csrf_token"[^>]*value="([^"]+)"')
# A buddy may send 30 messages an hour; an account is swapped well before that.
SENDS_PER_ACCOUNT = 10


class Random(Protocol):
    def choice(self, seq: Any) -> Any: ...
    def sample(self, population: Any, k: int) -> list[Any]: ...
    def randint(self, a: int, b: int) -> int: ...
    def random(self) -> float: ...


@dataclass(frozen=True)
class Request:
    """One request to make: GET unless `data` is given; `expect` must be in the answer."""

    path: str
    expect: str | re.Pattern[str]
    data: dict[str, str] | None = None
    status: int = 200


def browse(rng: Random, _plan: dict[str, Any]) -> Request:
    page = rng.choice((1, 1, 1, 2, 3, rng.randint(4, 50)))
    return Request("/services" + ("" if page == 1 else f"?page={page}"), TOTAL)


def listing(rng: Random, plan: dict[str, Any]) -> Request:
    return Request(f"/services/{rng.randint(1, plan['listings'])}", "Report this listing")


def search_text(rng: Random, plan: dict[str, Any]) -> Request:
    words = " ".join(rng.sample(SEARCH_WORDS, rng.choice((1, 1, 2))))
    args = f"q={words.replace(' ', '+')}"
    if rng.random() < 0.4:
        args += f"&category={rng.choice(plan['categories'])}"
    if rng.random() < 0.3:
        args += "&dp=y"
    return Request(f"/services?{args}", TOTAL)


def search_filters(rng: Random, plan: dict[str, Any]) -> Request:
    args = [f"category={c}" for c in rng.sample(plan["categories"], rng.randint(1, 2))]
    if rng.random() < 0.5:
        args.append(f"delivery={rng.choice(DELIVERY)}")
    if rng.random() < 0.3:
        args.append(f"language={rng.choice(plan['languages'])}")
    if rng.random() < 0.5:
        args.append(f"council={rng.choice(plan['councils'])}")
    if rng.random() < 0.4:
        args.append(f"max_price={rng.choice((10, 20, 30))}&sort=price")
    return Request(f"/services?{'&'.join(args)}", TOTAL)


def search_near(rng: Random, plan: dict[str, Any]) -> Request:
    postcode = rng.choice(plan["postcodes"]).replace(" ", "+")
    args = f"postcode={postcode}&within={rng.choice((1, 3, 5, 10))}&sort=distance"
    if rng.random() < 0.5:
        args += f"&q={rng.choice(SEARCH_WORDS)}"
    return Request(f"/services?{args}", TOTAL)


def pool(rng: Random, plan: dict[str, Any]) -> Request:
    pool_id, _cap = rng.choice(plan["pools"])
    return Request(f"/pools/{pool_id}", "Open: people can join")
