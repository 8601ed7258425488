"""Every public page, checked by axe in Chromium."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

from marketplace.pages.routes import GUIDES
from tests.browser.conftest import goto_and_check

pytestmark = pytest.mark.browser

PAGES = [
    "/",
    "/guides",
    *(f"/guides/{slug}" for slug in GUIDES),
    "/organisations",
    "/sign-in",
    "/forgotten-password",
    "/sign-in/link",
    "/accessibility",
    "/privacy",
    "/complaints",
]


def test_public_pages_have_no_axe_violations(page: Page) -> None:
    assert len(GUIDES) == 3
    failures = []
    for path in PAGES:
        try:
            goto_and_check(page, path)
        except (AssertionError, pytest.fail.Exception) as error:
            failures.append(str(error))
    assert not failures, "\n\n".join(failures)


def test_not_found_page_has_no_axe_violations(page: Page) -> None:
    goto_and_check(page, "/no-such-page", status=404)
