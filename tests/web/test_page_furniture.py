"""What every page shares for keyboard and screen-reader users: forms that post to their own
address, error summaries and success banners that can take focus, and titles that say so."""

from __future__ import annotations

import re
from pathlib import Path

from tests.helpers import post

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
FORM_TAG = re.compile(r"<form\b[^>]*>", re.DOTALL)


def test_every_post_form_names_its_action():
    """A form with no action posts to the address with its fragment (#main-content after the skip
    link), and the page that answers opens at that fragment with focus lost on the body."""
    missing = [
        f"{path.relative_to(TEMPLATES)}: {tag}"
        for path in TEMPLATES.rglob("*.html")
        for tag in FORM_TAG.findall(path.read_text())
        if 'method="post"' in tag and "action=" not in tag
    ]
    assert missing == []


def test_a_form_posts_to_its_own_path_with_its_query_and_no_fragment(client):
    page = client.get("/register?next=/pools").get_data(as_text=True)
    assert 'action="/register?next=/pools"' in page or 'action="/register?next=%2Fpools"' in page
    page = client.get("/sign-in").get_data(as_text=True)
    assert re.search(r'<form method="post" action="/sign-in"', page)


def test_an_error_summary_takes_focus_and_puts_error_first_in_the_title(client):
    page = post(client, "/sign-in", {"email": "", "password": ""}).get_data(as_text=True)
    assert "<title>Error: Sign in – Budget Marketplace</title>" in page
    assert re.search(r'class="govuk-error-summary"[^>]*tabindex="-1"[^>]*data-module', page)
    # The same page without an error says nothing about one.
    assert "<title>Sign in – Budget Marketplace</title>" in client.get("/sign-in").get_data(
        as_text=True
    )


def test_search_results_title_says_the_query_and_the_count(client):
    page = client.get("/services?q=zzzznothing").get_data(as_text=True)
    assert "<title>‘zzzznothing’: 0 services found – Find services – " in page
    page = client.get("/services").get_data(as_text=True)
    assert re.search(
        r"<title>\d+ services? found – Find services – Budget Marketplace</title>", page
    )


def test_every_table_scrolls_in_its_own_labelled_focusable_region():
    """A table wider than a 320 px screen scrolls inside its region, never the page."""
    region = re.compile(
        r'<div class="app-table-scroll" role="region" aria-label="[^"]+" tabindex="0">\s*'
        r'<table class="govuk-table"'
    )
    for path in TEMPLATES.rglob("*.html"):
        source = path.read_text()
        assert source.count('<table class="govuk-table"') == len(region.findall(source)), path
