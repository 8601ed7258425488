"""send_email_or_log: for emails sent after the commit, a mail failure is logged, not raised."""

from __future__ import annotations

import logging
import socket
from contextlib import closing

from marketplace.email import MONEY, send_email_or_log


def _closed_port() -> int:
    """A loopback port that was free a moment ago: nothing listens there, so SMTP is refused."""
    with closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_a_mail_server_that_is_down_is_logged_not_raised(app, mailbox, monkeypatch, caplog):
    monkeypatch.setitem(app.config, "MAIL_PORT", _closed_port())
    with app.app_context(), caplog.at_level(logging.ERROR):
        sent = send_email_or_log(
            "sam@example.org",
            "Your pool payment",
            "Secret body text.",
            kind=MONEY,
            about="a pool notice",
        )

    assert sent is False
    assert mailbox.messages == []
    failures = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(failures) == 1
    logged = failures[0]
    assert "Could not send a pool notice" in logged.getMessage()
    assert "'Your pool payment'" in logged.getMessage()
    assert logged.exc_info is not None  # the SMTP error, with its traceback
    assert isinstance(logged.exc_info[1], OSError)
    assert "Secret body text." not in caplog.text  # the body is never logged


def test_the_log_names_the_user_when_known(app, mailbox, monkeypatch, caplog):
    monkeypatch.setitem(app.config, "MAIL_PORT", _closed_port())
    with app.app_context(), caplog.at_level(logging.ERROR):
        assert not send_email_or_log("sam@example.org", "Hello", "Body.", user_id=4242)
    assert "user 4242" in caplog.text


def test_a_working_mail_server_gets_the_email(app, mailbox, caplog):
    with app.app_context(), caplog.at_level(logging.ERROR):
        sent = send_email_or_log("sam@example.org", "Your pool", "It is funded.")

    assert sent is True
    message = mailbox.last_to("sam@example.org", "Your pool")
    assert "It is funded." in message.get_payload()
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
