"""Run localstripe (a stateful fake of the Stripe API) on loopback, for development and tests.

Its own CLI listens on every interface and pickles its whole store to a shared temp
file after each write; this starts it from Python, loopback only, with that disabled.

localstripe also finds the objects of one kind by scanning its whole store, and does so when
it renders every Charge (for the charge's refunds): each payment then costs time in proportion
to everything created so far, and settling 20,000 pledges slows to a crawl. We keep an index
of the store by kind, so listing one kind reads only that kind, as Stripe itself would.
It also lacks Stripe's `pause_collection` on subscriptions (how a membership fee stops while a
member takes a break); `support_pause_collection` adds it with Stripe's checks and shape.
For `make run`, `--state FILE` loads the store from FILE at start and saves it there when
stopped, so the customers, cards and plans our database points at survive a restart.
Webhooks are registered with `POST /_config/webhooks/<name>` (`register_webhook`) and are not
kept in that state; `GET /_config/webhooks`, which we add, lists them (without their secrets).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import pickle
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections import defaultdict
from contextlib import closing
from pathlib import Path
from typing import Any


def free_port() -> int:
    """A TCP port on loopback that nothing is listening on right now."""
    with closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def index_store_by_kind() -> None:
    """Make localstripe list one kind of object without scanning every object it holds."""
    from localstripe import resources

    store = resources.store
    by_kind: dict[str, dict[str, Any]] = defaultdict(dict)
    for key, value in store.items():
        by_kind[key.split(":", 1)[0]][key] = value

    def set_item(self: dict[str, Any], key: str, value: Any) -> None:
        dict.__setitem__(self, key, value)
        by_kind[key.split(":", 1)[0]][key] = value

    def del_item(self: dict[str, Any], key: str) -> None:
        dict.__delitem__(self, key)
        by_kind[key.split(":", 1)[0]].pop(key, None)

    def clear(self: dict[str, Any]) -> None:
        dict.clear(self)
        by_kind.clear()

    def list_all(
        cls: Any, url: str, limit: Any = None, starting_after: Any = None, **kwargs: Any
    ) -> Any:
        # The same as StripeObject._api_list_all, reading one kind's index instead of the store.
        if kwargs:
            raise resources.UserError(400, "Unexpected " + ", ".join(kwargs.keys()))
        found = resources.List(url, limit=limit, starting_after=starting_after)
        found._list = list(by_kind[cls.object].values())
        return found

    resources.Store.__setitem__ = set_item  # type: ignore[assignment]
    resources.Store.__delitem__ = del_item  # type: ignore[assignment]
    resources.Store.clear = clear  # type: ignore[method-assign]
    resources.StripeObject._api_list_all = classmethod(list_all)


PAUSE_BEHAVIOURS = ("keep_as_draft", "mark_uncollectible", "void")


def support_pause_collection() -> None:
    """Accept, check and return `pause_collection` on subscriptions as Stripe does: a dict with
    `behavior` (one of PAUSE_BEHAVIOURS) and an optional `resumes_at` timestamp, or "" to resume.
    localstripe never bills a new period by itself, so there is no invoice to void meanwhile;
    what the setting is, at any moment, is what Stripe would report."""
    from localstripe import resources

    subscription = resources.Subscription
    if getattr(subscription, "_pause_collection_supported", False):
        return
    original_update = subscription._update

    def checked(value: Any) -> dict[str, Any] | None:
        if value in ("", None):
            return None
        if not isinstance(value, dict) or value.get("behavior") not in PAUSE_BEHAVIOURS:
            raise resources.UserError(400, "Bad request")
        resumes_at = value.get("resumes_at")
        if resumes_at not in (None, ""):
            resumes_at = resources.try_convert_to_int(resumes_at)
            if not isinstance(resumes_at, int) or resumes_at <= time.time():
                raise resources.UserError(400, "Bad request")
        return {"behavior": value["behavior"], "resumes_at": resumes_at or None}

    def update(self: Any, pause_collection: Any = ..., **data: Any) -> Any:
        paused = self.pause_collection if pause_collection is ... else checked(pause_collection)
        # Its own checks first, so a bad request changes nothing.
        result = original_update(self, **data)
        self.pause_collection = paused
        return result

    subscription.pause_collection = None  # exported like Stripe's own field
    subscription._update = update
    subscription._pause_collection_supported = True


def list_webhooks_route() -> None:
    """Add `GET /_config/webhooks`: each registered webhook's url and events, by name."""
    from aiohttp import web
    from localstripe import server, webhooks

    async def list_webhooks(_request: Any) -> Any:
        return web.json_response(
            {
                name: {"url": hook.url, "events": hook.events}
                for name, hook in webhooks._webhooks.items()
            }
        )

    server.app.router.add_get("/_config/webhooks", list_webhooks)


def register_webhook(
    api_base: str, name: str, url: str, secret: str, events: list[str] | None = None
) -> None:
    """Have localstripe send its events to `url`, signed with `secret` (as Stripe's endpoint
    secret would sign them); registering the same name again replaces that webhook."""
    fields = [("url", url), ("secret", secret)]
    fields += [(f"events[{i}]", event) for i, event in enumerate(events or ())]
    request = urllib.request.Request(  # noqa: S310 - our own loopback localstripe
        f"{api_base.rstrip('/')}/_config/webhooks/{urllib.parse.quote(name)}",
        data=urllib.parse.urlencode(fields).encode(),
    )
    with urllib.request.urlopen(request, timeout=10):  # noqa: S310 - as above
        pass


def webhooks(api_base: str) -> dict[str, Any]:
    """What `GET /_config/webhooks` lists: {name: {"url": ..., "events": ...}}."""
    url = f"{api_base.rstrip('/')}/_config/webhooks"
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - loopback
        return dict(json.load(response))


def serve(port: int, state: Path | None = None) -> None:
    """Serve localstripe on 127.0.0.1:port until stopped (SIGINT or SIGTERM)."""
    from aiohttp import web
    from localstripe import server

    server.store.dump_to_disk = lambda: None
    if state is not None and state.exists():
        # Our own file, written below by this same code: not untrusted input.
        server.store.update(pickle.loads(state.read_bytes()))  # noqa: S301
    index_store_by_kind()
    support_pause_collection()
    list_webhooks_route()
    asyncio.set_event_loop(asyncio.new_event_loop())
    web.run_app(server.app, host="127.0.0.1", port=port, print=None, handle_signals=True)
    if state is not None:
        temporary = state.with_suffix(".tmp")
        temporary.write_bytes(pickle.dumps(dict(server.store), protocol=pickle.HIGHEST_PROTOCOL))
        temporary.replace(state)  # never a half-written file


def start_process(
    port: int, state: Path | None = None, *, own_session: bool = False
) -> subprocess.Popen[bytes]:
    """Start localstripe in a child process and wait until it accepts connections.

    `own_session`: in a session of its own, so that Ctrl-C in a terminal reaches only our
    process, which then stops this one itself (after what still uses it)."""
    extra = ["--state", str(state)] if state is not None else []
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and module, fixed arguments
        [
            sys.executable,
            "-m",
            "marketplace.payments.localstripe_server",
            "--port",
            str(port),
            *extra,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=own_session,
    )
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError("localstripe exited while starting")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    return process
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("localstripe did not start within 20 seconds")
    except BaseException:  # Ctrl-C or SIGTERM while waiting, too: never leave it behind
        process.kill()
        process.wait()
        raise


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=8420)
    parser.add_argument("--state", type=Path, help="load the store from here; save it on exit")
    arguments = parser.parse_args()
    serve(arguments.port, arguments.state)
