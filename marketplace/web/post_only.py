"""A GET on an address that only takes a POST goes to the page its form lives on.

A browser is left at a form's POST address after a refused form (the page shown is the
answer to the POST), and a bookmark, a reload after a while or the history can open it again
with a GET. Answering that with 405 strands the person; instead they are sent (303) to the
form's page: the address with its last parts taken off, up to the first one a GET can open
(`/buddies/requests/7/withdraw` -> `/buddies/requests/7`, `/account/two-factor/off` ->
`/account/two-factor`), or the home page. That page checks who may see it, as ever: the
redirect itself says nothing about whether the object exists.
"""

from __future__ import annotations

from flask import current_app, redirect, request
from werkzeug.exceptions import HTTPException
from werkzeug.routing import MapAdapter, RequestRedirect
from werkzeug.wrappers import Response

READ_METHODS = ("GET", "HEAD")


def _opens_with_get(adapter: MapAdapter, path: str) -> bool:
    try:
        adapter.match(path, method="GET")
    except RequestRedirect:
        return True  # a slash added or taken away: it still opens
    except HTTPException:
        return False
    return True


def form_page(path: str) -> str:
    """The nearest address above `path` that a GET can open ("/" at the very least)."""
    adapter = current_app.url_map.bind_to_environ(request.environ)
    parts = [part for part in path.split("/") if part]
    while parts:
        parts.pop()
        candidate = "/" + "/".join(parts)
        if _opens_with_get(adapter, candidate):
            return request.script_root + candidate
    return request.script_root + "/"


def redirect_for(error: HTTPException) -> Response | None:
    """The 303 for a GET (or HEAD) on a POST-only address; None for anything else."""
    if error.code != 405 or request.method not in READ_METHODS:
        return None
    return redirect(form_page(request.path), code=303)
