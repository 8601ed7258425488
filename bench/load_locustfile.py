"""Locust users for bench/load.py: people using the site, and a client of the bare endpoint.

Run by bench/load.py (``locust -f bench/load_locustfile.py --headless ... SiteUser``); it reads
what exists in the database (accounts, pools, postcodes, sizes) from the JSON file named by
LOAD_PLAN. Each SiteUser signs in as a holder in an active buddy pairing and then, with
weights roughly 40/30/10/20, browses the directory, searches it, looks at, joins and leaves
pools (paying by managed-account invoice: no Stripe), and reads and sends buddy messages.
A FloorUser signs in the same way and then asks for the home page only; a BareUser asks the
bare app (bench/bare_app.py) for one row.
Every form POST carries the CSRF token parsed from the page that holds the form.

A response counts as an error if it is not 2xx/3xx (redirects are followed) or if the page is
not the one a person would expect (each check looks for text the page must show).
"""

from __future__ import annotations

import itertools
import json
import os
import random
import re
import threading
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import load_mix  # bench/ is on locust's path: it loads this file from there
from load_mix import CSRF, SENDS_PER_ACCOUNT
from locust import FastHttpUser, between, constant, task

PLAN: dict[str, Any] = json.loads(Path(os.environ["LOAD_PLAN"]).read_text(encoding="utf-8"))
WAIT = float(os.environ.get("LOAD_WAIT", "0"))

_accounts_lock = threading.Lock()  # locust runs users as greenlets; this is cheap insurance
_accounts = itertools.cycle(random.Random().sample(PLAN["accounts"], len(PLAN["accounts"])))
_sends: Counter[str] = Counter()


def next_account() -> tuple[str, int] | None:
    """The next account that has sent fewer than SENDS_PER_ACCOUNT messages in this run."""
    with _accounts_lock:
        for _ in range(len(PLAN["accounts"])):
            email, match_id = next(_accounts)
            if _sends[email] < SENDS_PER_ACCOUNT:
                return email, match_id
    return None


def csrf_token(body: str) -> str | None:
    match = CSRF.search(body)
    return match.group(1) if match else None


class SignedInPerson(FastHttpUser):
    """A budget holder signed in to the site: sign-in and the page checks, but no tasks."""

    abstract = True
    wait_time = between(WAIT / 2, WAIT * 1.5) if WAIT else constant(0)

    def on_start(self) -> None:
        self.email = ""
        self.match_id = 0
        self.sent = 0
        self.sign_in()

    # --- helpers ------------------------------------------------------------------------------

    def ask(self, make: Callable[[Any, dict[str, Any]], load_mix.Request], name: str) -> None:
        """GET a page of the mix that needs nothing but the plan (bench/load_mix.py)."""
        request = make(random, PLAN)
        self.page(request.path, name, request.expect)

    def page(self, path: str, name: str, expect: str | re.Pattern[str]) -> str | None:
        """GET a page; a failure unless it is 2xx (after redirects) and shows `expect`."""
        with self.client.get(path, name=name, catch_response=True) as response:
            return self._check(response, expect)

    def post(
        self, path: str, name: str, data: dict[str, str], expect: str | re.Pattern[str]
    ) -> str | None:
        with self.client.post(path, data=data, name=name, catch_response=True) as response:
            return self._check(response, expect)

    @staticmethod
    def _check(response: Any, expect: str | re.Pattern[str]) -> str | None:
        if response.status_code is None or not 200 <= response.status_code < 400:
            response.failure(f"HTTP {response.status_code}")
            return None
        body = response.text or ""
        found = expect.search(body) if isinstance(expect, re.Pattern) else expect in body
        if not found:
            response.failure(f"unexpected page (no {expect!r})")
            return None
        response.success()
        return body

    def sign_in(self) -> None:
        account = next_account()
        if account is None:
            raise RuntimeError("Every load account has sent its share of messages")
        self.email, self.match_id = account
        self.sent = 0
        body = self.page("/sign-in", "/sign-in", "Sign in")
        token = csrf_token(body or "")
        if token:
            self.post(
                "/sign-in",
                "/sign-in [POST]",
                {"csrf_token": token, "email": self.email, "password": PLAN["password"]},
                "Your account",
            )

    def switch_account(self, token: str) -> None:
        """Sign out and in as someone else, before this account reaches the message limit."""
        self.post("/sign-out", "/sign-out [POST]", {"csrf_token": token}, "personal budget")
        self.sign_in()


class SiteUser(SignedInPerson):
    """A budget holder using the site: the load test's mix."""

    # --- browsing: 40 ------------------------------------------------------------------------

    @task(5)
    def home(self) -> None:
        self.page("/", "/", "Get more from your personal budget")

    @task(10)
    def directory(self) -> None:
        self.ask(load_mix.browse, "/services (browse)")

    @task(25)
    def listing(self) -> None:
        self.ask(load_mix.listing, "/services/[id]")

    # --- searching: 30 -----------------------------------------------------------------------

    @task(12)
    def search_text(self) -> None:
        self.ask(load_mix.search_text, "/services?q (text)")

    @task(8)
    def search_filters(self) -> None:
        self.ask(load_mix.search_filters, "/services?filters")

    @task(10)
    def search_near(self) -> None:
        self.ask(load_mix.search_near, "/services?postcode (near)")

    # --- pools: 10 ---------------------------------------------------------------------------

    @task(3)
    def pools(self) -> None:
        self.page("/pools", "/pools", "Pools")

    @task(4)
    def pool(self) -> None:
        self.ask(load_mix.pool, "/pools/[id]")

    @task(3)
    def join_and_leave(self) -> None:
        """Join a pool (answers, check them, confirm), then leave it: six requests."""
        pool_id, cap = random.choice(PLAN["pools"])
        body = self.page(f"/pools/{pool_id}/join", "/pools/[id]/join", "How will you pay?")
        token = csrf_token(body or "")
        if not token:
            return
        answers = {
            "csrf_token": token,
            "for_whom": "me",
            "max_pence": f"{cap / 100:.2f}",
            "pay_by": "managed_account",
            "invoice_to": "Independent Living Accounts Ltd",
        }
        with self.client.post(
            f"/pools/{pool_id}/join", data=answers, name="/pools/[id]/join [POST]",
            catch_response=True,
        ) as response:  # fmt: skip
            body = response.text or ""
            if "You have already joined this pool" in body:
                # Left over from an interrupted earlier run: leave, as a person would.
                response.success()
                self.leave(pool_id)
                return
            body = self._check(response, "Check your answers before joining")
        token = csrf_token(body or "")
        if not token:
            return
        joined = self.post(
            f"/pools/{pool_id}/join/check",
            "/pools/[id]/join/check [POST]",
            {"csrf_token": token},
            re.compile("You are a member of this pool|on the waiting list"),
        )
        if joined:
            self.leave(pool_id)

    def leave(self, pool_id: int) -> None:
        body = self.page(f"/pools/{pool_id}/leave", "/pools/[id]/leave", "Are you sure")
        token = csrf_token(body or "")
        if token:
            self.post(
                f"/pools/{pool_id}/leave",
                "/pools/[id]/leave [POST]",
                {"csrf_token": token},
                "You have left the pool",
            )

    # --- buddy messages: 20 ------------------------------------------------------------------

    @task(3)
    def buddies(self) -> None:
        self.page("/buddies", "/buddies", "Budget buddies")

    @task(10)
    def read_messages(self) -> None:
        self.page(f"/buddies/pairings/{self.match_id}", "/buddies/pairings/[id]", "Send message")

    @task(7)
    def send_message(self) -> None:
        body = self.page(
            f"/buddies/pairings/{self.match_id}", "/buddies/pairings/[id]", "Send message"
        )
        token = csrf_token(body or "")
        if not token:
            return
        with _accounts_lock:
            _sends[self.email] += 1
        self.post(
            f"/buddies/pairings/{self.match_id}/messages",
            "/buddies/pairings/[id]/messages [POST]",
            {"csrf_token": token, "body": "Thanks, that helps. Shall we talk on Thursday?"},
            "Message sent",
        )
        self.sent += 1
        if self.sent >= SENDS_PER_ACCOUNT:
            self.switch_account(token)


class FloorUser(SignedInPerson):
    """The site's cheapest signed-in page (the home page), over and over: the most any mix of
    signed-in pages could reach through the site's own stack (gunicorn, Flask, sessions,
    Flask-Login, CSRF, the request log and metrics, the GOV.UK layout)."""

    @task
    def home(self) -> None:
        self.page("/", "/", "Get more from your personal budget")


class BareUser(FastHttpUser):
    """The same client against the bare endpoint: one SELECT by primary key per request."""

    wait_time = between(WAIT / 2, WAIT * 1.5) if WAIT else constant(0)

    @task
    def row(self) -> None:
        row_id = random.randint(1, PLAN["listings"])
        with self.client.get(f"/row/{row_id}", name="/row/[id]", catch_response=True) as response:
            if response.status_code != 200 or not response.text:
                response.failure(f"HTTP {response.status_code}")
