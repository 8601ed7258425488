"""Driving a page with the keyboard alone: Tab, Shift+Tab, arrow keys, Enter and Space, never a
click, and checking after each step where focus is.

Typing into a field is keyboard too (page.keyboard.type). Every page a step lands on is checked
as the mouse journeys check theirs (axe and reflow, check_current).
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.browser.conftest import check_current

# More Tab presses than any page here needs to reach a control; past this, focus is lost.
MOST_PRESSES = 120


def focused(page: Page) -> str:
    """What has focus now, for a failure message."""
    return page.evaluate(
        """() => {
          const e = document.activeElement
          if (!e || e === document.body) return 'the page itself (body)'
          const name = e.getAttribute('aria-label') || e.innerText || e.value || ''
          return `<${e.tagName.toLowerCase()}${e.id ? ' id=' + e.id : ''}> ${name}`.slice(0, 120)
        }"""
    )


def has_focus(target: Locator) -> bool:
    """Whether `target` (or, for a locator matching several, one of them) has focus."""
    return bool(target.evaluate_all("elements => elements.includes(document.activeElement)"))


def move_to(page: Page, target: Locator, key: str = "Tab") -> int:
    """Press `key` (Tab, Shift+Tab, ArrowDown...) until `target` has focus; return the presses
    (0 if it already had focus)."""
    if has_focus(target):
        return 0
    for presses in range(1, MOST_PRESSES + 1):
        page.keyboard.press(key)
        if has_focus(target):
            return presses
    pytest.fail(f"{key} x{MOST_PRESSES} never reached {target}; focus is on {focused(page)}")


def tab_to(page: Page, target: Locator) -> int:
    return move_to(page, target, "Tab")


def shift_tab_to(page: Page, target: Locator) -> int:
    return move_to(page, target, "Shift+Tab")


def type_into(page: Page, field: Locator, text: str) -> None:
    """Tab to a text box and type (whatever it held is replaced)."""
    tab_to(page, field)
    page.keyboard.press("Control+A")
    page.keyboard.type(text)
    expect(field).to_have_value(text)


def choose(page: Page, radio: Locator) -> None:
    """Tab into a group of radios, then the arrow keys to this one (they select as they go), and
    Space."""
    group = radio.locator("xpath=ancestor::fieldset[1]").locator("input[type=radio]")
    tab_to(page, group)
    move_to(page, radio, "ArrowDown")
    page.keyboard.press("Space")
    expect(radio).to_be_checked()


def follow(page: Page, key: str = "Enter") -> None:
    """Press Enter (or Space) on what has focus, wait for the page it leads to, check that page."""
    with page.expect_navigation():
        page.keyboard.press(key)
    check_current(page)


def skip_to_main(page: Page) -> None:
    """From the top of a page: Tab to "Skip to main content", Enter, and the next Tab stays in
    the main content (the header and the menu are skipped)."""
    skip = page.get_by_role("link", name="Skip to main content")
    page.keyboard.press("Tab")
    expect(skip).to_be_focused()
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"#main-content$"))
    page.keyboard.press("Tab")
    in_main = page.evaluate(
        "() => document.getElementById('main-content').contains(document.activeElement)"
    )
    assert in_main, f"after the skip link, Tab went to {focused(page)}"
