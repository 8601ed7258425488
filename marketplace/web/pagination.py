"""Links between the pages of a list, keeping the rest of the query string."""

from __future__ import annotations

from urllib.parse import urlencode

from flask import request
from werkzeug.datastructures import MultiDict


def page_url(page: int) -> str:
    """This page's URL with `page` set, every other filter kept."""
    args = MultiDict(request.args)
    args.setlist("page", [str(page)])
    return f"{request.path}?{urlencode(list(args.items(multi=True)))}"
