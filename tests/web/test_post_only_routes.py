"""A GET on an address that only takes a POST is sent (303) to the page its form lives on."""

from __future__ import annotations

import pytest
from werkzeug.exceptions import HTTPException, MethodNotAllowed
from werkzeug.routing import AnyConverter, IntegerConverter, Rule

from tests.factories import UserFactory
from tests.helpers import sign_in


def _post_only_rules(app) -> list[Rule]:
    """Rules that take a POST and whose address no GET rule answers (the read-only API's
    catch-all for writes shares its addresses with GET rules, and answers JSON)."""
    adapter = app.url_map.bind("localhost")
    found = []
    for rule in app.url_map.iter_rules():
        if "POST" not in (rule.methods or set()) or "GET" in (rule.methods or set()):
            continue
        try:
            adapter.match(_example_path(rule), method="GET")
        except MethodNotAllowed:
            found.append(rule)
        except HTTPException:
            pass
    return found


def _example(converter) -> object:
    if isinstance(converter, IntegerConverter):
        return 1
    if isinstance(converter, AnyConverter):
        return sorted(converter.items)[0]
    return "x"


def _example_path(rule: Rule) -> str:
    values = {name: _example(converter) for name, converter in rule._converters.items()}
    return rule.build(values, append_unknown=False)[1]


def test_there_are_post_only_rules_to_walk(app):
    assert len(_post_only_rules(app)) > 30


@pytest.mark.parametrize("role", ["visitor", "holder"])
def test_every_post_only_rule_answers_a_get_with_a_303_to_a_page_above_it(app, role):
    client = app.test_client()
    if role != "visitor":
        sign_in(client, UserFactory(roles=["holder"]))
    failures = []
    for rule in _post_only_rules(app):
        path = _example_path(rule)
        for method in ("GET", "HEAD"):
            response = client.open(path, method=method)
            location = response.headers.get("Location", "")
            above = location == "/" or path.startswith(location.rstrip("/") + "/")
            if response.status_code != 303 or not above:
                failures.append(f"{method} {path}: {response.status_code} {location}")
                continue
            if method == "GET" and client.get(location).status_code == 405:
                failures.append(f"GET {path} -> {location}, which is POST-only too")
    assert failures == []


@pytest.mark.parametrize(
    ("path", "form_page"),
    [
        ("/buddies/requests/7/withdraw", "/buddies/requests/7"),
        ("/account/two-factor/off", "/account/two-factor"),
        ("/account/sign-out-everywhere", "/account"),
        ("/sign-out", "/"),
    ],
)
def test_the_form_page_is_the_nearest_page_above(client, path, form_page):
    response = client.get(path)
    assert response.status_code == 303
    assert response.headers["Location"] == form_page


def test_other_methods_still_get_405(client):
    assert client.put("/account/two-factor/off").status_code == 405
