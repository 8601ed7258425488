"""gunicorn settings for production: `gunicorn -c gunicorn.conf.py wsgi:app` (or `make serve-prod`).

Everything comes from the environment: PORT (8000), WEB_CONCURRENCY (worker processes, 2 per CPU
plus 1), GUNICORN_THREADS (threads per worker, 1), GUNICORN_LOG_LEVEL (info),
GUNICORN_CONTROL_SOCKET (off), and PROMETHEUS_MULTIPROC_DIR: where the workers share their
metrics, emptied of an earlier run's samples when gunicorn starts (but not on a reload). The app
itself needs PUBLIC_BASE_URL (the site's public address) and refuses to start without it.
"""

from __future__ import annotations

import multiprocessing
import os
from typing import Any

bind = f"0.0.0.0:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY") or multiprocessing.cpu_count() * 2 + 1)
threads = int(os.environ.get("GUNICORN_THREADS") or 1)
timeout = 30
# gunicorn 25+ opens a control socket at one path per user, which two servers on one machine
# would fight over; only when asked for, at a path of its own.
control_socket = os.environ.get("GUNICORN_CONTROL_SOCKET") or None
control_socket_disable = control_socket is None

# The app writes one JSON line per request (marketplace.ops.request_log), with the route template
# rather than the path and no query string: gunicorn's own access log would add the raw URL,
# search text included. Its error log is written as JSON lines too.
accesslog = None
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
# Every logger, gunicorn's, the app's and the libraries', writes JSON lines to stderr, once: the
# root logger's handler writes what the others pass up (the app then adds no handler of its own).
# Libraries say only warnings and worse; the app ("marketplace") says info too.
logconfig_dict: dict[str, Any] = {
    "root": {"level": "WARNING", "handlers": ["error_console"]},
    "loggers": {
        "gunicorn.error": {"level": loglevel.upper(), "handlers": [], "propagate": True},
        "gunicorn.access": {"level": "INFO", "handlers": [], "propagate": False},
    },
    "formatters": {"generic": {"()": "marketplace.ops.json_logging.JsonFormatter"}},
}


def on_starting(_server: Any) -> None:
    """Before any worker exists: make the metrics directory and forget an earlier run's samples,
    which would otherwise be added to this run's (prometheus_client's multiprocess rules)."""
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory:
        os.makedirs(directory, exist_ok=True)
        for name in os.listdir(directory):
            if name.endswith(".db"):
                os.remove(os.path.join(directory, name))


def child_exit(_server: Any, worker: Any) -> None:
    """Drop a finished worker's live-gauge files; its counters and histograms stay counted."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
