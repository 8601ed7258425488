"""`make run` (marketplace/devserver.py): started as a newcomer would, it serves the site, runs the
background jobs, prints emails readably with links whole, registers the Stripe webhook, and
SIGTERM stops everything it started."""

from __future__ import annotations

import http.cookiejar
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from email.message import EmailMessage
from pathlib import Path

import pytest

from marketplace.devserver import WEBHOOK_NAME, readable_email
from marketplace.payments.localstripe_server import free_port, webhooks

ROOT = Path(__file__).resolve().parents[1]
# What the dev server sets itself (or takes from the environment): none may leak in from here.
OURS = (
    "DATABASE_URL",
    "MAIL_SERVER",
    "MAIL_PORT",
    "PUBLIC_BASE_URL",
    "EXTRA_TRUSTED_HOSTS",
    "EMAIL_DELIVERY",
    "STRIPE_API_BASE",
    "FLASK_DEBUG",
    "TEST_DATABASE_URL",
)


def test_readable_email_decodes_the_body_so_a_long_link_is_whole():
    link = "http://127.0.0.1:5000/reset-password/" + "x" * 120 + "=="
    message = EmailMessage()
    message["From"] = "Budget Marketplace <no-reply@marketplace.invalid>"
    message["To"] = "sam@example.org"
    message["Subject"] = "Reset your password"
    message.set_content(f"Hello Sam,\n\nChoose a new password: {link}\n\nThanks — the team\n")
    raw = message.as_bytes().replace(b"\n", b"\r\n")  # as it arrives over SMTP
    assert link.encode() not in raw  # quoted-printable: broken across lines

    text = readable_email(raw)

    assert f"Choose a new password: {link}\n" in text
    assert "To: sam@example.org" in text
    assert "Subject: Reset your password" in text
    assert "Thanks — the team" in text
    assert "\r" not in text


class _Lines:
    """The dev server's standard output, line by line, read in a thread (the pipe never fills)."""

    def __init__(self, stream):
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        self.reader = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self.reader.start()

    def _read(self, stream):
        for line in iter(stream.readline, ""):
            self.lines.put(line)

    def wait_for(self, pattern: str, seconds: float) -> re.Match[str]:
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = self.lines.get(timeout=left)
            except queue.Empty:
                break
            self.seen.append(line)
            if found := re.search(pattern, line):
                return found
        raise AssertionError(f"no line matching {pattern!r} in:\n{''.join(self.seen)}")


def _children(pid: int) -> list[int]:
    found = subprocess.run(  # noqa: S603 - fixed arguments
        ["/bin/ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True, check=False
    )
    return [int(p) for p in found.stdout.split()]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    status = Path(f"/proc/{pid}/stat")
    return status.exists() and status.read_text().split(") ", 1)[1][0] != "Z"


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
    assert found, html[:2000]
    return found.group(1)


def test_make_run_starts_and_stops_everything(tmp_path):
    port, stripe_port, mail_port = free_port(), free_port(), free_port()
    site = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if k not in OURS}
    env["INSTANCE_DIR"] = str(tmp_path / "instance")
    env["PYTHONUNBUFFERED"] = "1"
    stderr = (tmp_path / "stderr.log").open("w")
    server = subprocess.Popen(  # noqa: S603 - our own interpreter and module
        [
            sys.executable,
            "-m",
            "marketplace.devserver",
            "--port",
            str(port),
            "--stripe-port",
            str(stripe_port),
            "--mail-port",
            str(mail_port),
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=stderr,
        text=True,
    )
    out = _Lines(server.stdout)
    children: list[int] = []
    try:
        out.wait_for(re.escape(f"The site is at {site}/"), 60)
        children = _children(server.pid)
        assert len(children) == 2  # localstripe and the worker
        opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        )
        with opener.open(f"{site}/healthz", timeout=10) as response:
            assert response.status == 200

        # The site's webhook, with the site's address, is registered at localstripe.
        hooks = webhooks(f"http://127.0.0.1:{stripe_port}")
        assert hooks[WEBHOOK_NAME]["url"] == f"{site}/payments/webhook"

        # A forgotten password: the email is a queued job that the worker sends to the printer.
        with opener.open(f"{site}/forgotten-password", timeout=10) as response:
            token = _csrf(response.read().decode())
        form = {"csrf_token": token, "email": "holder1@demo.example.org"}
        with opener.open(
            f"{site}/forgotten-password", urllib.parse.urlencode(form).encode(), timeout=10
        ) as response:
            assert response.status == 200
        # The reset is queued after the response has gone (outbox.after_response), so this wait
        # also covers SQLite's busy timeout (15 s) while the worker's first round of jobs writes,
        # and then the worker's poll.
        out.wait_for(r"^To: holder1@demo\.example\.org$", 60)
        out.wait_for(r"^Subject: Reset your password$", 5)
        link = out.wait_for(rf"^({re.escape(site)}/reset-password/[\w-]+)$", 5).group(1)
        with opener.open(link, timeout=10) as response:
            assert "Choose a new password" in response.read().decode()
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=45)
        finally:
            server.kill()
            out.reader.join(timeout=10)  # at the end of the output: every writer has gone
            server.stdout.close()
            stderr.close()

    assert server.returncode == 0, (tmp_path / "stderr.log").read_text()[-3000:]
    assert not out.reader.is_alive()
    assert children and not [pid for pid in children if _alive(pid)]
    for stopped in (port, stripe_port, mail_port):
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", stopped), timeout=2).close()
