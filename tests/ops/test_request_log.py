"""One JSON line per request: the fields, the request id, and nothing that identifies anyone."""

from __future__ import annotations

import json
import logging
import re

from marketplace.ops import request_log
from marketplace.ops.json_logging import JsonFormatter
from marketplace.ops.request_log import REQUEST_ID_HEADER, request_id_from, user_hash
from tests.factories import UserFactory
from tests.helpers import sign_in

HEX32 = re.compile(r"[0-9a-f]{32}")


def test_a_request_is_one_json_line_with_every_field(client, request_lines):
    response = client.get("/healthz")

    [line] = request_lines.raw
    fields = json.loads(line)
    assert "\n" not in line
    assert fields["logger"] == "marketplace.requests"
    assert fields["method"] == "GET"
    assert fields["route"] == "/healthz"
    assert fields["status"] == 200
    assert isinstance(fields["duration_ms"], int | float) and fields["duration_ms"] >= 0
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00", fields["ts"])
    assert HEX32.fullmatch(fields["request_id"])
    assert response.headers[REQUEST_ID_HEADER] == fields["request_id"]
    assert "user" not in fields  # nobody signed in


def test_the_route_is_the_url_rule_and_the_query_string_is_never_logged(client, request_lines):
    client.get("/services/987654?q=panic+attacks+at+night")
    client.get("/services?q=panic+attacks+at+night&category=peer-support")
    client.get("/no/such/page?q=panic")

    first, second, third = request_lines.parsed()
    assert (first["route"], first["status"]) == ("/services/<int:listing_id>", 404)
    assert (second["route"], second["status"]) == ("/services", 200)
    assert (third["route"], third["status"]) == ("unmatched", 404)
    for line in request_lines.raw:
        assert "panic" not in line and "?" not in line and "987654" not in line


def test_a_signed_in_person_is_a_keyed_hash_never_their_id_name_or_email(
    app, client, request_lines
):
    user = UserFactory(email="robin.logs@example.org", display_name="Robin Logsworth")
    sign_in(client, user)
    request_lines.clear()

    client.get("/account")

    [line] = request_lines.raw
    fields = json.loads(line)
    assert fields["route"] == "/account" and fields["status"] == 200
    assert fields["user"] == user_hash(user.id, app.config["SECRET_KEY"])
    assert re.fullmatch(r"[0-9a-f]{16}", fields["user"])
    assert fields["user"] != str(user.id)
    assert "robin" not in line.lower() and "logsworth" not in line.lower()
    assert f":{user.id}," not in line and f'"{user.id}"' not in line


def test_the_user_hash_depends_on_the_secret_key():
    assert user_hash(42, "one key") == user_hash("42", "one key")
    assert user_hash(42, "one key") != user_hash(42, "another key")
    assert user_hash(42, "one key") != user_hash(43, "one key")


def test_a_well_formed_incoming_request_id_is_kept_and_echoed(client, request_lines):
    response = client.get("/healthz", headers={REQUEST_ID_HEADER: "lb-7f3a.2026:abc_DEF-9"})

    assert response.headers[REQUEST_ID_HEADER] == "lb-7f3a.2026:abc_DEF-9"
    assert request_lines.last()["request_id"] == "lb-7f3a.2026:abc_DEF-9"


def test_a_malformed_incoming_request_id_is_replaced():
    for bad in ["", "has space", 'quote"d', "x" * 129, "semi;colon", "é"]:
        assert HEX32.fullmatch(request_id_from(bad)), bad
    assert request_id_from(None) != request_id_from(None)
    assert request_id_from("x" * 128) == "x" * 128


def test_a_request_refused_before_the_view_is_still_logged_with_its_id(client, request_lines):
    # No CSRF token: refused by a before_request hook that runs after ours.
    response = client.post("/sign-in", data={"email": "a@example.org", "password": "x"})

    assert response.status_code == 400
    fields = request_lines.last()
    assert (fields["method"], fields["route"], fields["status"]) == ("POST", "/sign-in", 400)
    assert response.headers[REQUEST_ID_HEADER] == fields["request_id"]


def test_other_log_lines_written_during_a_request_carry_its_id(app):
    record = logging.LogRecord(
        "marketplace.something", logging.WARNING, __file__, 1, "hi", (), None
    )
    with app.test_request_context("/", headers={REQUEST_ID_HEADER: "req-from-proxy"}):
        app.preprocess_request()
        assert request_log.current_request_id() == "req-from-proxy"
        inside = json.loads(JsonFormatter().format(record))
    outside = json.loads(JsonFormatter().format(record))

    assert inside["request_id"] == "req-from-proxy"
    assert (inside["level"], inside["logger"], inside["message"]) == (
        "warning",
        "marketplace.something",
        "hi",
    )
    assert "request_id" not in outside


def test_nothing_is_logged_when_the_request_log_is_off(app, client, request_lines, monkeypatch):
    monkeypatch.setitem(app.config, "JSON_REQUEST_LOGS", False)

    response = client.get("/healthz")

    assert request_lines.raw == []
    assert HEX32.fullmatch(response.headers[REQUEST_ID_HEADER])  # ids are given all the same
