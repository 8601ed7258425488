"""`make run`: migrate, load demo data if empty, start localstripe, serve the site."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from marketplace import migrations


def main() -> None:
    """Prepare everything a fresh machine needs, then run the development server."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=5000)
    parser.add_argument("--stripe-port", type=int, default=8420)
    args = parser.parse_args()

    os.environ.setdefault("FLASK_DEBUG", "1")  # cookies over plain http on localhost
    os.environ.setdefault("STRIPE_API_BASE", f"http://127.0.0.1:{args.stripe_port}")

    from marketplace import create_app
    from marketplace.demo import seed
    from marketplace.payments.localstripe_server import start_process

    app = create_app()
    migrations.upgrade(app.config["DATABASE_URL"])
    # Started first, and kept in the instance folder between runs: the demo data creates Stripe
    # plans, and the database keeps pointing at the customers and cards made in earlier runs.
    state = Path(app.instance_path) / "localstripe.pickle"
    stripe = start_process(args.stripe_port, state)
    try:
        with app.app_context():
            world = seed.seed_if_empty()
        print(f"\nlocalstripe (the Stripe endpoint) on {app.config['STRIPE_API_BASE']}")
        if world is not None:
            print(seed.describe_accounts(world))
        else:
            print(f"Demo data was already loaded; demo password: {seed.DEMO_PASSWORD}")
        print(f"\nThe site is at http://127.0.0.1:{args.port}/\n", flush=True)
        app.run(host="127.0.0.1", port=args.port, debug=False, use_reloader=False)
    finally:
        stripe.terminate()
        stripe.wait(timeout=30)  # it saves its state as it stops


if __name__ == "__main__":
    main()
