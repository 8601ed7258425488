"""The accessibility statement (/accessibility) and docs/accessibility.md say what the tests do:
each claim is checked against the tests that make it true."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BROWSER = ROOT / "tests" / "browser"


def _function(path: Path, name: str) -> ast.FunctionDef:
    tree = ast.parse(path.read_text())
    return next(n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name == name)


def _calls(function: ast.FunctionDef) -> set[str]:
    return {
        node.func.id
        for node in ast.walk(function)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
    }


def test_every_page_a_browser_test_visits_is_checked_by_axe_at_320_px_and_200_percent(client):
    page = client.get("/accessibility").get_data(as_text=True)
    assert "Every page they visit is checked with the axe accessibility checker" in page
    assert "at 320 pixels wide and at 200% zoom" in page
    conftest = BROWSER / "conftest.py"
    assert {"axe_check", "reflow_check"} <= _calls(_function(conftest, "check_current"))
    for helper in ("goto_and_check", "submit_and_check"):
        assert "check_current" in _calls(_function(conftest, helper))
    source = conftest.read_text()
    assert "REFLOW_WIDTH = 320" in source
    assert 'ZOOMED = {"width": 640, "height": 360}' in source  # 200% of 1280 x 720


# Each keyboard journey the statement names, and the test that does it.
KEYBOARD_JOURNEYS = {
    "searching from a postcode": "test_search_from_a_postcode_and_open_a_result",
    "creating an account": "test_register_with_an_error",
    "joining a pool": "test_join_a_pool_to_its_check_page",
    "taking a break": "test_take_a_break",
    "sending a message to a budget buddy": "test_send_a_buddy_message",
    "logging time for a membership": "test_log_time_for_a_membership",
    "reporting a listing": "test_report_something",
}


def test_the_keyboard_journeys_named_are_the_ones_tested_and_each_uses_the_skip_link(client):
    page = client.get("/accessibility").get_data(as_text=True)
    sentence = re.search(r"Some journeys are done with the keyboard alone: ([^.]+)\.", page)
    assert sentence, "the statement no longer names the keyboard journeys"
    named = re.split(r", | and ", sentence.group(1))
    assert sorted(named) == sorted(KEYBOARD_JOURNEYS)
    journeys = BROWSER / "test_keyboard_journeys.py"
    for test in KEYBOARD_JOURNEYS.values():
        calls = _calls(_function(journeys, test))
        assert "skip_to_main" in calls, test
    assert ".click(" not in journeys.read_text()  # keyboard only


def test_the_docs_and_the_statement_name_the_same_gaps(client):
    page = client.get("/accessibility").get_data(as_text=True)
    docs = (ROOT / "docs" / "accessibility.md").read_text()
    assert "We have not yet tested the site with screen readers ourselves." in page
    assert "No screen reader has been tried by hand" in docs
    assert "Our tests use only the Chromium browser." in page
    assert "Only Chromium is driven by the tests" in docs
