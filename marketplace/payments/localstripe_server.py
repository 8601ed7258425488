"""Run localstripe (a stateful fake of the Stripe API) on loopback, for development and tests.

Its own CLI listens on every interface and pickles its whole store to a shared temp
file after each write; this starts it from Python, loopback only, with that disabled.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import subprocess
import sys
import time
from contextlib import closing


def free_port() -> int:
    """A TCP port on loopback that nothing is listening on right now."""
    with closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def serve(port: int) -> None:
    """Serve localstripe on 127.0.0.1:port until killed."""
    from aiohttp import web
    from localstripe import server

    server.store.dump_to_disk = lambda: None
    asyncio.set_event_loop(asyncio.new_event_loop())
    web.run_app(server.app, host="127.0.0.1", port=port, print=None, handle_signals=True)


def start_process(port: int) -> subprocess.Popen[bytes]:
    """Start localstripe in a child process and wait until it accepts connections."""
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and module, fixed arguments
        [sys.executable, "-m", "marketplace.payments.localstripe_server", "--port", str(port)],
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
    serve(parser.parse_args().port)
