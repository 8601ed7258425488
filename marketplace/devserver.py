"""`make run`: the whole site on one machine with one command, stopped together.

It migrates the database, loads the demo data if the database is empty, and starts:

- localstripe (the Stripe API) on 127.0.0.1:<stripe port>, a child process, with the site's
  /payments/webhook registered so that fee payments and the rest reach the site;
- unless MAIL_SERVER is set, a small SMTP server on loopback that prints every email the site
  sends, headers and decoded plain-text body, so links are whole and can be clicked;
- the background worker (`flask worker`, a child process): the periodic jobs (pool charging,
  membership jobs, ending breaks, digests) and queued jobs, emails included
  (EMAIL_DELIVERY=queue, so that the worker sends them);
- the site on 127.0.0.1:<port>, with PUBLIC_BASE_URL set to that address so that links in
  emails (sent by the worker) point at it.

Ctrl-C, SIGTERM or SIGHUP stops the site, then the worker (which finishes the job in hand), then
localstripe (which saves its state) and the SMTP server. Environment variables that are already
set win over what this sets, so e.g. MAIL_SERVER=... sends real emails instead.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
from email import policy
from email.parser import BytesParser
from pathlib import Path
from types import FrameType
from typing import Any

from marketplace import migrations

WEBHOOK_NAME = "make-run"
STOP_SECONDS = 30  # how long a child may take to stop (the worker finishes its job) before a kill


def readable_email(raw: bytes) -> str:
    """An email as a person reads it: the main headers, then the plain-text body decoded (not
    quoted-printable, so a link is on one line)."""
    # SMTP's line ends are CRLF; a terminal wants LF.
    message = BytesParser(policy=policy.default).parsebytes(raw.replace(b"\r\n", b"\n"))
    rule = "-" * 72
    lines = ["", rule, "Email (printed by make run, not sent):"]
    lines += [f"{name}: {message[name]}" for name in ("From", "To", "Subject") if message[name]]
    body = message.get_body(preferencelist=("plain",))
    text = body.get_content() if body is not None else "(no plain-text part)"  # type: ignore[attr-defined]
    lines += ["", text.rstrip(), rule, ""]
    return "\n".join(lines)


class PrintEmails:
    """An aiosmtpd handler that prints each message it receives to standard output."""

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd's name
        print(readable_email(envelope.original_content or envelope.content), flush=True)
        return "250 Message printed"


def start_email_printer(port: int) -> Any:
    """An SMTP server on 127.0.0.1:port (in a thread) that prints what it receives."""
    from aiosmtpd.controller import Controller

    controller = Controller(PrintEmails(), hostname="127.0.0.1", port=port)
    controller.start()
    return controller


def start_worker() -> subprocess.Popen[bytes]:
    """`flask worker` in a child process of its own session (so Ctrl-C in the terminal reaches
    only us, and we stop it with SIGTERM: it finishes the job in hand, then exits)."""
    return subprocess.Popen(  # noqa: S603 - our own interpreter and module, fixed arguments
        [sys.executable, "-m", "flask", "--app", "marketplace:create_app", "worker", "--poll", "2"],
        start_new_session=True,
    )


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM, then SIGKILL if it has not stopped within STOP_SECONDS."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=STOP_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)  # Ctrl-C, kill, terminal closed


def _stop_on_signal(_signum: int, _frame: FrameType | None) -> None:
    # Unwinds main() through its `finally`, which stops everything it started. The children are
    # in sessions of their own, so a closed terminal (SIGHUP) reaches only us: we must pass it on.
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> None:
    """Prepare everything a fresh machine needs, then run the site until Ctrl-C or SIGTERM."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--port", type=int, default=5000, help="the site [5000]")
    parser.add_argument("--stripe-port", type=int, default=8420, help="localstripe [8420]")
    parser.add_argument(
        "--mail-port", type=int, default=0, help="the email printer [any free port]"
    )
    args = parser.parse_args(argv)
    for signum in STOP_SIGNALS:  # SIGINT too: a shell may have started us with it ignored
        signal.signal(signum, _stop_on_signal)

    from marketplace.payments.localstripe_server import free_port

    mail_port = args.mail_port or free_port()
    site = f"127.0.0.1:{args.port}"
    # Set before the app is made, and inherited by the worker (a child process).
    os.environ.setdefault("FLASK_DEBUG", "1")  # cookies over plain http on localhost
    os.environ.setdefault("STRIPE_API_BASE", f"http://127.0.0.1:{args.stripe_port}")
    os.environ.setdefault("PUBLIC_BASE_URL", f"http://{site}")  # links in emails reach it
    os.environ.setdefault("EXTRA_TRUSTED_HOSTS", "localhost")  # http://localhost:<port> works too
    os.environ.setdefault("EMAIL_DELIVERY", "queue")  # emails go through the worker
    print_emails = not os.environ.get("MAIL_SERVER")
    if print_emails:
        os.environ["MAIL_SERVER"] = "127.0.0.1"
        os.environ["MAIL_PORT"] = str(mail_port)

    from marketplace import create_app
    from marketplace.demo import seed
    from marketplace.payments.localstripe_server import register_webhook, start_process

    app = create_app()
    migrations.upgrade(app.config["DATABASE_URL"])
    started: list[Any] = []  # stopped in the reverse order
    try:
        # Started first, and kept in the instance folder between runs: the demo data creates
        # Stripe plans, and the database keeps pointing at the customers and cards made earlier.
        state = Path(app.instance_path) / "localstripe.pickle"
        started.append(start_process(args.stripe_port, state, own_session=True))
        if print_emails:
            started.append(start_email_printer(mail_port))
        with app.app_context():
            world = seed.seed_if_empty()
        # After the demo data, whose own Stripe events would find no site to receive them.
        register_webhook(
            app.config["STRIPE_API_BASE"],
            WEBHOOK_NAME,
            f"http://{site}/payments/webhook",
            app.config["STRIPE_WEBHOOK_SECRET"],
        )
        started.append(start_worker())
        print(f"\nlocalstripe (the Stripe endpoint) on {app.config['STRIPE_API_BASE']}")
        print(f"  sending its webhooks to http://{site}/payments/webhook")
        print("Background jobs: a worker (flask worker) is running")
        if print_emails:
            print(f"Emails are printed here (an SMTP server on 127.0.0.1:{mail_port})")
        if world is not None:
            print(seed.describe_accounts(world))
        else:
            print(f"Demo data was already loaded; demo password: {seed.DEMO_PASSWORD}")
        print(f"\nThe site is at http://{site}/  (Ctrl-C stops everything)\n", flush=True)
        app.run(host="127.0.0.1", port=args.port, debug=False, use_reloader=False)
    except KeyboardInterrupt:
        pass
    finally:
        # No second Ctrl-C half way through: the worker finishes its job, localstripe saves.
        for signum in STOP_SIGNALS:
            signal.signal(signum, signal.SIG_IGN)
        print("\nStopping the worker, localstripe and the email printer...", flush=True)
        for thing in reversed(started):
            if isinstance(thing, subprocess.Popen):
                stop(thing)
            else:
                thing.stop()
        print("Stopped.", flush=True)


if __name__ == "__main__":
    main()
