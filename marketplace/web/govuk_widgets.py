"""Render the GOV.UK form widgets (govuk-frontend-wtf) for less CPU, with the same HTML.

govuk-frontend-wtf draws each field with Flask's ``render_template``, which runs every context
processor (navigation links, labels, the signed-in person) and the template signals again for
every single field: a search page has seven fields, so eight passes instead of one. The widget
templates only read ``params``, so we render them straight from the Jinja environment.

A widget's HTML is a pure function of ``params``, and on a busy page the same params come back
request after request (the council list on /pools, the sort and distance selects and the empty
boxes of every search). So a select, a set of checkboxes or radios, a button (all drawn from a
form's fixed choices) and an *empty* text box are kept in a small per-process cache keyed by their
params. A text box holding what someone typed, or any widget with an error message (which can
quote it), is never cached, so no one's words stay in memory after their request. Choices can
name people (a crisis plan's "whom to tell" lists the person's own carers and buddy); such HTML
is only ever returned for exactly the same params, so the cache shows nobody anything new.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable
from typing import Any

from flask import current_app
from govuk_frontend_wtf.gov_form_base import GovFormBase
from markupsafe import Markup

# Widgets whose params come from a form's fixed choices, never from free text.
CHOICE_TEMPLATES = frozenset(
    {
        "govuk_frontend_wtf/select.html",
        "govuk_frontend_wtf/checkboxes.html",
        "govuk_frontend_wtf/radios.html",
        "govuk_frontend_wtf/button.html",
    }
)
# Widgets that show what someone typed: cached only while empty (a blank search box).
TEXT_TEMPLATES = frozenset(
    {
        "govuk_frontend_wtf/input.html",
        "govuk_frontend_wtf/textarea.html",
        "govuk_frontend_wtf/charactercount.html",
    }
)
CACHE_SIZE = 512

_cache: OrderedDict[Hashable, Markup] = OrderedDict()
_cache_lock = threading.Lock()


class _Unhashable(Exception):
    """Params hold something we do not know how to key on: render without the cache."""


def _frozen(value: Any) -> Hashable:
    """A hashable key that tells apart everything that renders differently (Markup vs str too)."""
    if value is None or isinstance(value, bool | int | float):
        return (type(value).__name__, value)
    if isinstance(value, Markup):
        return ("markup", str(value))
    if isinstance(value, str):
        return ("str", value)
    if isinstance(value, dict):
        return ("dict", tuple((_frozen(k), _frozen(v)) for k, v in value.items()))
    if isinstance(value, list | tuple):
        return ("list", tuple(_frozen(item) for item in value))
    raise _Unhashable(type(value).__name__)


def render_widget(template_name: str, params: dict[str, Any]) -> Markup:
    """The widget's HTML: the template rendered with `params` alone (no context processors)."""
    if not cacheable(template_name, params):
        return _render(template_name, params)
    try:
        key = (id(current_app.jinja_env), template_name, _frozen(params))
    except _Unhashable:
        return _render(template_name, params)
    with _cache_lock:
        html = _cache.get(key)
        if html is not None:
            _cache.move_to_end(key)
            return html
    html = _render(template_name, params)
    with _cache_lock:
        _cache[key] = html
        if len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return html


def cacheable(template_name: str, params: dict[str, Any]) -> bool:
    """True if this widget's HTML may be kept: drawn from fixed choices or an empty text box,
    and without an error message (which can quote what was typed)."""
    if params.get("errorMessage"):
        return False
    if template_name in CHOICE_TEMPLATES:
        return True
    return template_name in TEXT_TEMPLATES and params.get("value") in (None, "")


def _render(template_name: str, params: dict[str, Any]) -> Markup:
    html = current_app.jinja_env.get_template(template_name).render(params=params)
    return Markup(html)  # noqa: S704 - autoescaped template output, as the library returns


def _render_method(self: GovFormBase, params: dict[str, Any]) -> Markup:
    return render_widget(self.template, params)


def install() -> None:
    """Make every govuk-frontend-wtf widget render through render_widget (idempotent)."""
    GovFormBase.render = _render_method  # type: ignore[method-assign]  # the library's hook


def clear_cache() -> None:
    """Forget cached widget HTML (tests; a deploy starts new processes anyway)."""
    with _cache_lock:
        _cache.clear()
