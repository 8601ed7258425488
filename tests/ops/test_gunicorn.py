"""The production server for real: gunicorn with two workers, on a migrated database of its own.

Replacing every worker (SIGHUP: gunicorn starts new processes and retires the old ones) is the
sharpest test of what must not live in one worker's memory: the metrics a scrape reports, the
session a cookie carries, and (with Redis) the count of failed sign-ins.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import redis
import requests
from prometheus_client.parser import text_string_to_metric_families

from marketplace.config import PROJECT_ROOT
from marketplace.payments.localstripe_server import free_port
from tests.conftest import Mailbox, reset_schema, separate_database

REDIS_URL = "redis://127.0.0.1:6379/13"
SIGN_IN_LIMIT = 3
START_SECONDS = 90  # two workers importing the app on a busy two-CPU machine


def _redis_or_none() -> redis.Redis | None:
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.RedisError:
        client.close()
        return None
    return client


@dataclass
class Server:
    process: subprocess.Popen
    url: str
    stderr: Path
    prefix: str
    redis: redis.Redis | None
    seen_workers: set[int] = field(default_factory=set)

    def get(self, path: str, session: requests.Session | None = None) -> requests.Response:
        return (session or requests).get(self.url + path, allow_redirects=False, timeout=30)

    def workers(self) -> set[int]:
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return {int(pid) for pid in children.read_text().split()}

    def wait_until_serving(self, old_workers: frozenset[int] = frozenset()) -> None:
        """Wait for two workers (none of them old ones) and an answer on /readyz."""
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"gunicorn exited:\n{self.stderr.read_text()[-4000:]}")
            workers = self.workers()
            if len(workers) == 2 and not workers & old_workers:
                try:
                    if self.get("/readyz").status_code == 200:
                        self.seen_workers |= workers
                        return
                except requests.ConnectionError:
                    pass
            time.sleep(0.2)
        raise AssertionError(f"gunicorn did not start:\n{self.stderr.read_text()[-4000:]}")

    def replace_workers(self) -> None:
        old = frozenset(self.workers())
        os.kill(self.process.pid, signal.SIGHUP)
        self.wait_until_serving(old_workers=old)

    def metric(self, name: str, **labels: str) -> float:
        response = self.get("/metrics")
        assert response.status_code == 200
        return sum(
            sample.value
            for family in text_string_to_metric_families(response.text)
            for sample in family.samples
            if sample.name == name and labels.items() <= sample.labels.items()
        )

    def json_lines(self) -> list[dict]:
        """Every line gunicorn and the app wrote, each of which must be a JSON object."""
        return [json.loads(line) for line in self.stderr.read_text().splitlines()]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, mailbox: Mailbox) -> Iterator[Server]:
    url, drop_database = separate_database("ops_gunicorn")
    reset_schema(url)
    tmp = tmp_path_factory.mktemp("gunicorn")
    (tmp / "metrics").mkdir()
    stderr = tmp / "stderr.log"
    prefix = f"ops-test-{uuid.uuid4().hex}"
    redis_client = _redis_or_none()
    port = free_port()
    environment = {
        key: value
        for key, value in os.environ.items()
        if key not in {"REDIS_URL", "PUBLIC_BASE_URL", "MAIL_SERVER", "TEST_DATABASE_URL"}
    }
    environment |= {
        "PORT": str(port),
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        "WEB_CONCURRENCY": "2",
        "GUNICORN_THREADS": "1",
        "DATABASE_URL": url,
        "INSTANCE_DIR": str(tmp / "instance"),
        "SEARCH_INDEX_DIR": str(tmp / "index"),
        "PROMETHEUS_MULTIPROC_DIR": str(tmp / "metrics"),
        "SECRET_KEY": "gunicorn-test-secret-key",
        "SESSION_COOKIE_SECURE": "0",  # plain http on loopback
        "SIGN_IN_RATE_LIMIT": f"{SIGN_IN_LIMIT} per 15 minutes",
        "JSON_REQUEST_LOGS": "1",
        "OPS_TEST_RATELIMIT_PREFIX": prefix,
        # Registering is by emailed link, sent after the response: to the tests' SMTP server.
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": str(mailbox.port),
    }
    if redis_client is not None:
        environment["REDIS_URL"] = REDIS_URL
    with stderr.open("wb") as errors:
        process = subprocess.Popen(  # our own gunicorn, config and app; nothing from outside
            [
                sys.executable,
                "-m",
                "gunicorn",
                "-c",
                "gunicorn.conf.py",
                "tests.ops.served_app:app",
            ],
            cwd=PROJECT_ROOT,
            env=environment,
            stdout=subprocess.DEVNULL,
            stderr=errors,
        )
    running = Server(process, f"http://127.0.0.1:{port}", stderr, prefix, redis_client)
    try:
        running.wait_until_serving()
        yield running
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        if redis_client is not None:
            for key in redis_client.scan_iter(match=f"*{prefix}*"):
                redis_client.delete(key)
            redis_client.close()
        drop_database()


def test_health_metrics_and_one_json_line_per_request(server):
    assert server.get("/healthz").json() == {"status": "ok"}
    ready = server.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"database": "ok", "search_index": "ok"}
    before = server.metric("marketplace_request_duration_seconds_count", route="/services")

    for _ in range(6):
        assert server.get("/services?q=hearing+voices+support").status_code == 200

    # However the six were shared between the workers, the scrape adds up both workers' files.
    after = server.metric("marketplace_request_duration_seconds_count", route="/services")
    assert after == before + 6
    buckets = server.metric(
        "marketplace_request_duration_seconds_bucket", route="/services", le="+Inf"
    )
    assert buckets == after

    lines = [line for line in server.json_lines() if line.get("logger") == "marketplace.requests"]
    searches = [line for line in lines if line["route"] == "/services"]
    assert len(searches) >= 6
    for line in searches:
        assert line["method"] == "GET" and line["status"] == 200
        assert re.fullmatch(r"[0-9a-f]{32}", line["request_id"])
        assert line["duration_ms"] >= 0
    log = server.stderr.read_text()
    assert "hearing" not in log and "voices" not in log  # no query strings, anywhere
    booted = [line for line in server.json_lines() if line.get("logger") == "gunicorn.error"]
    assert any("Booting worker" in line["message"] for line in booted)


def test_a_request_id_from_the_proxy_is_echoed_and_logged_once(server):
    request_id = f"proxy-{uuid.uuid4().hex}"
    response = requests.get(
        server.url + "/healthz", headers={"X-Request-ID": request_id}, timeout=30
    )

    assert response.headers["X-Request-ID"] == request_id
    assert response.headers["Cache-Control"] == "no-store"
    [line] = [line for line in server.json_lines() if line.get("request_id") == request_id]
    assert (line["logger"], line["route"], line["status"]) == (
        "marketplace.requests",
        "/healthz",
        200,
    )


def _csrf(page: requests.Response) -> str:
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.text)
    assert match, "no CSRF token on the page"
    return match.group(1)


def _post_form(server: Server, session: requests.Session, path: str, data: dict):
    token = _csrf(server.get(path, session))
    return session.post(
        server.url + path, data={**data, "csrf_token": token}, allow_redirects=False, timeout=30
    )


def _emailed_path(mailbox: Mailbox, email: str) -> str:
    """The path of the link emailed to `email` (sent once the response has gone out)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        for message in mailbox.messages:
            if message["To"] == email:
                body = message.get_payload(decode=True).decode()
                match = re.search(r"http://[^/\s]+(/register/confirm/\S+)", body)
                assert match, body
                return match.group(1)
        time.sleep(0.1)
    raise AssertionError(f"no email to {email}")


@dataclass
class BeforeReplacement:
    healthz_count: float
    signed_in: requests.Session
    failed_sign_ins: list[int]


@pytest.fixture(scope="module")
def replaced(server, mailbox: Mailbox) -> BeforeReplacement:
    """Count some requests, sign someone in and fail to sign in; then replace both workers."""
    for _ in range(3):
        server.get("/healthz")
    healthz_count = server.metric("marketplace_request_duration_seconds_count", route="/healthz")

    person = requests.Session()
    email = f"ash-{uuid.uuid4().hex[:8]}@example.org"
    asked = _post_form(
        server,
        person,
        "/register",
        {
            "display_name": "Ash",
            "email": email,
            "password": "a long enough password",
            "confirm_password": "a long enough password",
            "usage": "holder",
        },
    )
    assert asked.status_code == 200, asked.text[:2000]
    registered = _post_form(server, person, _emailed_path(mailbox, email), {})
    assert registered.status_code == 302, registered.text[:2000]
    assert server.get("/account", person).status_code == 200

    stranger = requests.Session()
    failed = [
        _post_form(
            server, stranger, "/sign-in", {"email": "nobody@example.org", "password": "wrong"}
        ).status_code
        for _ in range(SIGN_IN_LIMIT)
    ]

    server.replace_workers()
    return BeforeReplacement(healthz_count, person, failed)


def test_new_workers_report_the_old_workers_metrics(server, replaced):
    assert len(server.seen_workers) == 4  # two, then two others
    count = server.metric("marketplace_request_duration_seconds_count", route="/healthz")
    assert count == replaced.healthz_count


def test_a_session_from_an_old_worker_is_accepted_by_a_new_one(server, replaced):
    response = server.get("/account", replaced.signed_in)
    assert response.status_code == 200
    assert "Ash" in response.text


def test_failed_sign_ins_counted_by_old_workers_limit_new_ones(server, replaced):
    if server.redis is None:
        pytest.skip(f"Redis is not reachable at {REDIS_URL}: the limit is per worker without it")
    assert replaced.failed_sign_ins == [200] * SIGN_IN_LIMIT
    stranger = requests.Session()
    refused = _post_form(
        server, stranger, "/sign-in", {"email": "nobody@example.org", "password": "wrong"}
    )
    assert refused.status_code == 429
    assert any(server.prefix in key.decode() for key in server.redis.scan_iter(match="*"))
