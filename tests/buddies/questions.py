"""Going through the ask and offer question pages with the test client."""

from __future__ import annotations

from urllib.parse import urlparse

from tests.helpers import post


def path_of(response) -> str:
    assert response.status_code == 302, response.get_data(as_text=True)[:3000]
    return urlparse(response.headers["Location"]).path


def answer_pages(client, flow: str, pages: dict[str, dict], start: str | None = None) -> str:
    """Start a flow and answer each page it leads to (a page not in `pages` is sent empty),
    up to "Check your answers". Returns the check page's path."""
    path = path_of(client.get(start or f"/buddies/{flow}"))
    seen = []
    while not path.endswith("/check"):
        slug = path.rsplit("/", 1)[1]
        assert slug not in seen, f"{slug} asked twice: {seen}"
        seen.append(slug)
        path = path_of(post(client, path, pages.get(slug, {})))
    return path


ASK_PAGES = {
    "help": {"wants": ["employing_a_pa"]},
    "holding": {"holds": "direct_payment"},
    "languages": {"languages": ["English"]},
    "ways": {"ways": ["phone"]},
    "times": {"times": ["evenings"]},
}


def ask_pages(council, **changes) -> dict[str, dict]:
    return {**ASK_PAGES, "council": {"council_id": council.id}, **changes}


OFFER_PAGES = {
    "months": {"months_holding": "30"},
    "holding": {"holds": "managed_account"},
    "help": {"experience": ["assessment", "ideas"]},
    "languages": {"languages": ["English", "Polish"]},
    "ways": {"ways": ["phone", "messages"]},
    "times": {"times": ["weekends"]},
    "capacity": {"capacity": "2"},
}


def offer_pages(council, **changes) -> dict[str, dict]:
    return {**OFFER_PAGES, "council": {"council_id": council.id}, **changes}
