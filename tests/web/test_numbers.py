"""Oversized or malformed numbers in a URL or a query string answer 404 or a form error."""

from __future__ import annotations

import re

import pyotp
import pytest

from marketplace.db import utcnow
from tests.factories import UserFactory
from tests.helpers import sign_in

HUGE = (2**63, 2**31)
_ARGUMENT = re.compile(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>")


def _paths_with_int_ids(app, number: int) -> list[tuple[str, str]]:
    """(method, path) for every route with an <int:> part, that part set to `number`."""
    found = []
    for rule in app.url_map.iter_rules():
        if not any(m.group(1) == "int" for m in _ARGUMENT.finditer(rule.rule)):
            continue

        def fill(match: re.Match[str]) -> str:
            return str(number) if match.group(1) == "int" else "x"

        method = sorted(rule.methods - {"HEAD", "OPTIONS"})[0]
        found.append((method, _ARGUMENT.sub(fill, rule.rule)))
    return found


def _admin():
    return UserFactory(roles=["admin"], totp_secret=pyotp.random_base32(), totp_enabled_at=utcnow())


@pytest.mark.parametrize("number", HUGE)
def test_every_int_route_answers_404_for_an_id_too_big_for_the_database(app, client, number):
    paths = _paths_with_int_ids(app, number)
    assert len(paths) > 50  # the walk found the site's routes
    answers = {(m, p): client.open(p, method=m).status_code for m, p in paths}
    assert {k: v for k, v in answers.items() if v != 404} == {}


@pytest.mark.parametrize("number", HUGE)
def test_every_int_route_answers_404_to_a_signed_in_admin_too(app, client, number):
    admin = UserFactory(
        roles=["admin"], totp_secret=pyotp.random_base32(), totp_enabled_at=utcnow()
    )
    sign_in(client, admin)
    answers = {
        (m, p): client.open(p, method=m).status_code for m, p in _paths_with_int_ids(app, number)
    }
    assert {k: v for k, v in answers.items() if v != 404} == {}


def test_the_largest_id_the_database_holds_still_reaches_the_view(client):
    assert client.get(f"/pools/{2**31 - 1}").status_code == 404  # the view's own "no such pool"


def test_a_price_of_only_spaces_is_no_price(client):
    response = client.get("/services?max_price=%20")
    assert response.status_code == 200


def test_a_price_that_is_not_money_is_a_form_error(client):
    response = client.get("/services?max_price=lots")
    assert response.status_code == 200
    assert "Enter a price in pounds" in response.get_data(as_text=True)


@pytest.mark.parametrize("value", [str(2**63), str(2**31), "-1", "x", "9" * 40])
def test_pools_search_with_a_council_or_kind_that_is_not_a_choice(client, value):
    for name in ("council", "kind", "page"):
        assert client.get(f"/pools?{name}={value}").status_code == 200


@pytest.mark.parametrize("value", [str(2**63), str(2**31), "9" * 40])
def test_audit_log_filter_by_a_person_number_too_big(client, value):
    admin = UserFactory(
        roles=["admin"], totp_secret=pyotp.random_base32(), totp_enabled_at=utcnow()
    )
    sign_in(client, admin)
    response = client.get(f"/admin/audit?actor={value}")
    assert response.status_code == 200
    assert "Enter a person&#39;s number, or system" in response.get_data(as_text=True)
