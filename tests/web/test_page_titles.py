"""Every kind of page has a title of its own, and says "Error: " first when it shows a problem.

The walk is the access matrix's: a representative address for each route, as each kind of
person, and its forms posted empty (which is how most error summaries show).
"""

from __future__ import annotations

import html
import re
from collections import defaultdict
from urllib.parse import urlsplit

from tests.helpers import csrf_token
from tests.web.test_access_matrix import (  # noqa: F401 - `world` is a fixture
    GET_ROUTES,
    POST_ROUTES,
    ROLES,
    client_for,
    world,
)

# Emailed links that no longer work: each kind says which link it was (410, as a test reads).
GONE_LINKS = [
    "/reset-password/no-such-token",
    "/account/email/confirm/no-such-token",
    "/account/email/not-me/no-such-token",
]
TITLE = re.compile(r"<title>(.*?)</title>", re.S)
SUMMARY = 'data-module="govuk-error-summary"'


def _title(page: str) -> str:
    match = TITLE.search(page)
    assert match, page[:500]
    return html.unescape(" ".join(match.group(1).split()))


def _endpoint(app, path: str) -> str:
    adapter = app.url_map.bind("localhost")
    return adapter.match(urlsplit(path).path, method="GET")[0]


def _pages(app, world) -> list[tuple[str, str, str, str]]:  # noqa: F811 - the fixture
    """(role, endpoint, path, page) for every page of the walk that is the route's own: its
    200s, and its 410s (a link that no longer works). 403s and 404s are the shared error pages."""
    seen = []
    for role in ROLES:
        client = client_for(app, world, role)
        paths = [template.format(**vars(world)) for template, _expected in GET_ROUTES]
        for path in [*paths, *GONE_LINKS]:
            response = client.get(path)
            if response.status_code in (200, 410) and response.mimetype == "text/html":
                seen.append((role, _endpoint(app, path), path, response.get_data(as_text=True)))
    return seen


def test_no_two_kinds_of_page_share_a_title(app, world):  # noqa: F811 - the fixture
    endpoints_of: dict[str, set[str]] = defaultdict(set)
    where: dict[str, list[str]] = defaultdict(list)
    for role, endpoint, path, page in _pages(app, world):
        title = _title(page)
        endpoints_of[title].add(endpoint)
        where[title].append(f"{role} {path}")
    shared = {
        title: sorted(endpoints) for title, endpoints in endpoints_of.items() if len(endpoints) > 1
    }
    assert shared == {}, {title: where[title] for title in shared}
    assert len(endpoints_of) > 60


def test_every_page_showing_a_problem_says_error_first_and_only_then(app, world):  # noqa: F811
    wrong = []
    for role, _endpoint_name, path, page in _pages(app, world):
        if (SUMMARY in page) != _title(page).startswith("Error: "):
            wrong.append(f"GET {path} as {role}: {_title(page)}")
    for role in ROLES:
        for template, _expected in POST_ROUTES:
            client = client_for(app, world, role)
            token = csrf_token(client, "/sign-in" if role == "visitor" else "/account")
            path = template.format(**vars(world))
            response = client.post(path, data={"csrf_token": token})
            if response.status_code != 200 or response.mimetype != "text/html":
                continue
            page = response.get_data(as_text=True)
            if (SUMMARY in page) != _title(page).startswith("Error: "):
                wrong.append(f"POST {path} as {role}: {_title(page)}")
            if _title(page).startswith("Error: Error: "):
                wrong.append(f"POST {path} as {role}: {_title(page)}")
    assert wrong == []
