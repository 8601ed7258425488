"""The app as gunicorn serves it in test_gunicorn: wsgi.py's app, plus a rate-limit key prefix of
the test's own, so that its counts in a shared Redis cannot meet another run's."""

from __future__ import annotations

import os

from marketplace import create_app

app = create_app({"RATELIMIT_KEY_PREFIX": os.environ["OPS_TEST_RATELIMIT_PREFIX"]})
