"""Running in production: health checks, request logs and Prometheus metrics."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Add /healthz, /readyz and /metrics, and time and log every request."""
    from marketplace.ops import health, metrics, request_log

    request_log.init_app(app)
    app.register_blueprint(health.bp)
    app.register_blueprint(metrics.bp)
