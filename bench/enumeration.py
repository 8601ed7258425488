"""Can the time of an answer tell whether an address has an account? Register and reset, for
known and unknown addresses, through the Flask test client.

    .venv/bin/python bench/enumeration.py [--requests 50]

A temporary SQLite database (migrated) holds one account per known address. Each request is a
POST through the test client with CSRF and the rate limits off (50 resets from one address
would otherwise be refused): /register with a known address, then with a new one, then
/forgotten-password with a known and an unknown address, interleaved so that the machine's
state is the same for both. The time is from the POST until the test client has the
response, which is what a real server sends before it closes the response; the work a view
leaves for after the response (outbox.after_response) runs when the response is closed, after
the clock has stopped, as it runs after the bytes have gone out behind gunicorn. It prints each
median, and the ratio known/unknown (1.00: the time tells nothing).

To compare with another checkout, put it first on PYTHONPATH: the bench imports `marketplace`
from there if it can.
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.append(str(ROOT))  # after PYTHONPATH, so another checkout can be measured

os.environ.setdefault("SECRET_KEY", "bench-secret-key")
os.environ.setdefault("PUBLIC_BASE_URL", "http://localhost")

from marketplace import create_app, migrations  # noqa: E402
from marketplace.auth import services  # noqa: E402
from marketplace.auth.models import UsageIntent  # noqa: E402
from marketplace.extensions import db  # noqa: E402


def _form(email: str) -> dict[str, str]:
    return {
        "display_name": "Bench person",
        "email": email,
        "password": "a long enough password",
        "confirm_password": "a long enough password",
        "usage": "holder",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=50, help="requests of each kind")
    args = parser.parse_args()
    logging.disable(logging.INFO)  # no MAIL_SERVER: emails go to the log, which is not timed

    with tempfile.TemporaryDirectory(prefix="bench-enumeration-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.sqlite3'}"
        migrations.upgrade(url)
        app = create_app(
            {
                "TESTING": True,
                "DATABASE_URL": url,
                "WTF_CSRF_ENABLED": False,
                "RATELIMIT_ENABLED": False,
                "SESSION_COOKIE_SECURE": False,
                "SEARCH_INDEX_DIR": str(Path(tmp) / "index"),
            }
        )
        known = [f"known-{n}@example.org" for n in range(args.requests)]
        with app.app_context():
            hashed = services.hash_password("a long enough password")
            for email in known:
                services.register(
                    db.session,
                    services.Registration(
                        "Bench person", email, "a long enough password", UsageIntent.HOLDER
                    ),
                    password_hash=hashed,
                )
            db.session.commit()

        times: dict[str, list[float]] = {
            k: [] for k in ("register known", "register unknown", "reset known", "reset unknown")
        }

        def timed(kind: str, path: str, data: dict[str, str]) -> None:
            client = app.test_client()  # signed out each time (before, registering signed in)
            started = time.perf_counter()
            response = client.post(path, data=data)
            elapsed = time.perf_counter() - started
            response.close()  # the work left for after the response runs now, untimed
            assert response.status_code in (200, 302), (path, response.status_code)
            times[kind].append(elapsed)

        for _ in range(3):  # warm up: templates compiled, connections open
            timed("register unknown", "/register", _form(f"warm-{uuid.uuid4().hex}@example.org"))
            timed("reset unknown", "/forgotten-password", {"email": "warm@example.org"})
        for values in times.values():
            values.clear()
        for n in range(args.requests):
            new = f"new-{uuid.uuid4().hex}@example.org"
            timed("register known", "/register", _form(known[n]))
            timed("register unknown", "/register", _form(new))
            timed("reset known", "/forgotten-password", {"email": known[n]})
            timed(
                "reset unknown",
                "/forgotten-password",
                {"email": f"gone-{uuid.uuid4().hex}@example.org"},
            )

    medians = {kind: statistics.median(values) * 1000 for kind, values in times.items()}
    print(f"{args.requests} requests of each kind, median ms:")
    for kind, value in medians.items():
        print(f"  {kind:<17} {value:7.2f}")
    for route in ("register", "reset"):
        ratio = medians[f"{route} known"] / medians[f"{route} unknown"]
        print(f"  {route}: known/unknown = {ratio:.2f}")


if __name__ == "__main__":
    main()
