"""Nothing moves once a page has appeared (issue 23 item 6): Lighthouse measured a cumulative
layout shift of 0.3 on every page, the menu folding behind its button after GOV.UK Frontend's
script ran. The browser's own layout-shift entries are summed as the page loads, on a phone's
width and on a wide screen; the menu still opens and closes."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import check_current, goto_and_check

pytestmark = pytest.mark.browser

# Buffered, so that shifts before this runs (while the page loaded) are counted too.
_SHIFT = """() => new Promise(resolve => {
  let total = 0
  new PerformanceObserver(list => {
    for (const entry of list.getEntries()) if (!entry.hadRecentInput) total += entry.value
  }).observe({type: 'layout-shift', buffered: true})
  setTimeout(() => resolve(total), 500)
})"""


@pytest.mark.parametrize("width", [320, 1280])
@pytest.mark.parametrize("path", ["/", "/services?q=counselling", "/pools"])
def test_the_page_does_not_move_after_it_appears(page: Page, path: str, width: int) -> None:
    page.set_viewport_size({"width": width, "height": 800})
    response = page.goto(path)
    assert response is not None and response.status == 200
    page.wait_for_load_state("load")
    assert page.evaluate(_SHIFT) < 0.01
    check_current(page)  # axe and the reflow check, after measuring: they resize the page


def test_on_a_phone_the_menu_starts_folded_and_still_opens(page: Page) -> None:
    page.set_viewport_size({"width": 320, "height": 800})
    goto_and_check(page, "/")
    toggle = page.get_by_role("button", name="Menu")
    menu_link = page.locator("#navigation").get_by_role("link", name="Find services")
    expect(toggle).to_be_visible()
    expect(menu_link).to_be_hidden()
    toggle.click()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    expect(menu_link).to_be_visible()
    toggle.click()
    expect(menu_link).to_be_hidden()


def test_without_javascript_the_menu_shows_in_full(new_page) -> None:
    page = new_page(java_script_enabled=False, viewport={"width": 320, "height": 800})
    goto_and_check(page, "/")
    expect(page.locator("#navigation").get_by_role("link", name="Find services")).to_be_visible()
    expect(page.get_by_role("button", name="Menu")).to_be_hidden()
