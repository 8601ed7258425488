"""Run localstripe (a stateful fake of the Stripe API) on loopback, for development and tests.

Its own CLI listens on every interface and pickles its whole store to a shared temp
file after each write; this starts it from Python, loopback only, with that disabled.
For `make run`, `--state FILE` loads the store from FILE at start and saves it there when
stopped, so the customers, cards and plans our database points at survive a restart.
"""

from __future__ import annotations

import argparse
import asyncio
import pickle
import socket
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path


def free_port() -> int:
    """A TCP port on loopback that nothing is listening on right now."""
    with closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def serve(port: int, state: Path | None = None) -> None:
    """Serve localstripe on 127.0.0.1:port until stopped (SIGINT or SIGTERM)."""
    from aiohttp import web
    from localstripe import server

    server.store.dump_to_disk = lambda: None
    if state is not None and state.exists():
        # Our own file, written below by this same code: not untrusted input.
        server.store.update(pickle.loads(state.read_bytes()))  # noqa: S301
    asyncio.set_event_loop(asyncio.new_event_loop())
    web.run_app(server.app, host="127.0.0.1", port=port, print=None, handle_signals=True)
    if state is not None:
        temporary = state.with_suffix(".tmp")
        temporary.write_bytes(pickle.dumps(dict(server.store), protocol=pickle.HIGHEST_PROTOCOL))
        temporary.replace(state)  # never a half-written file


def start_process(port: int, state: Path | None = None) -> subprocess.Popen[bytes]:
    """Start localstripe in a child process and wait until it accepts connections."""
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
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("localstripe exited while starting")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return process
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("localstripe did not start within 20 seconds")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=8420)
    parser.add_argument("--state", type=Path, help="load the store from here; save it on exit")
    arguments = parser.parse_args()
    serve(arguments.port, arguments.state)
