"""Prometheus metrics: request latency, background jobs, off-session payments, and `/metrics`.

The metric objects live in the process-wide default registry, so any module can record on them
without an app. Under gunicorn every worker is its own process; with PROMETHEUS_MULTIPROC_DIR set
(``make serve-prod`` sets it) each worker writes its samples to files in that directory, and
`/metrics` adds up every worker's files, so a scrape that lands on any one worker sees them all.
That variable is read when prometheus_client is first imported: set it before the app starts.
"""

from __future__ import annotations

import hmac
import os

from flask import Blueprint, Response, abort, current_app, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client import multiprocess as prometheus_multiprocess

__all__ = [
    "JOB_OUTCOMES",
    "PAYMENT_OUTCOMES",
    "bp",
    "multiprocess_dir",
    "observe_request",
    "record_job",
    "record_payment",
    "render",
]

# The *_created timestamp series double every counter for nothing our dashboards use.
disable_created_metrics()

JOB_OUTCOMES = frozenset({"done", "failed", "dead"})
PAYMENT_OUTCOMES = frozenset({"succeeded", "failed", "requires_action"})

# Pages answer in tens of milliseconds; searches and payments can take a second or more.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

REQUEST_LATENCY = Histogram(
    "marketplace_request_duration_seconds",
    "Time to answer an HTTP request, by route template (never the raw path).",
    ("method", "route", "status"),
    buckets=LATENCY_BUCKETS,
)
JOBS = Counter(
    "marketplace_jobs",
    "Background jobs finished, by kind and outcome (done, failed and will retry, dead).",
    ("kind", "outcome"),
)
PAYMENTS = Counter(
    "marketplace_payments",
    "Off-session card charges, by how they ended (succeeded, failed, requires_action).",
    ("outcome",),
)


def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    """Count one answered request; `route` is the URL rule (e.g. /pools/<int:pool_id>)."""
    REQUEST_LATENCY.labels(method=method, route=route, status=str(status)).observe(seconds)


def record_job(kind: str, outcome: str) -> None:
    """Count one background job ending in `outcome`: "done", "failed" or "dead"."""
    if outcome not in JOB_OUTCOMES:
        raise ValueError(f"unknown job outcome {outcome!r}; expected one of {sorted(JOB_OUTCOMES)}")
    JOBS.labels(kind=kind, outcome=outcome).inc()


def record_payment(outcome: str) -> None:
    """Count one off-session charge ending "succeeded", "failed" or "requires_action"."""
    if outcome not in PAYMENT_OUTCOMES:
        raise ValueError(
            f"unknown payment outcome {outcome!r}; expected one of {sorted(PAYMENT_OUTCOMES)}"
        )
    PAYMENTS.labels(outcome=outcome).inc()


def multiprocess_dir() -> str | None:
    """The directory gunicorn's workers share their samples through, when there is one."""
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


def render() -> bytes:
    """Every metric in the Prometheus text format (all workers' samples, in multiprocess mode)."""
    if multiprocess_dir():
        registry = CollectorRegistry()
        prometheus_multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry)
    return generate_latest(REGISTRY)


bp = Blueprint("metrics", __name__)


@bp.get("/metrics")
def metrics() -> Response:
    token = current_app.config.get("METRICS_TOKEN")
    if token:
        given = request.headers.get("Authorization", "")
        if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
            abort(Response("Unauthorized\n", 401, {"WWW-Authenticate": "Bearer"}))
    response = Response(render(), mimetype=None, content_type=CONTENT_TYPE_LATEST)
    response.headers["Cache-Control"] = "no-store"
    return response
