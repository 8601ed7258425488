"""The home page and the short guides."""

from __future__ import annotations

from flask import Blueprint, abort, render_template

bp = Blueprint("pages", __name__)

GUIDES = {
    "what-is-a-personal-budget": "What is a personal budget?",
    "four-ways-to-hold-it": "The four ways to hold a personal budget",
    "using-your-budget-with-others": "Using your budget with others",
}


@bp.route("/")
def home() -> str:
    return render_template("pages/home.html", guides=GUIDES)


@bp.route("/guides")
def guides() -> str:
    return render_template("pages/guides.html", guides=GUIDES)


@bp.route("/guides/<slug>")
def guide(slug: str) -> str:
    if slug not in GUIDES:
        abort(404)
    return render_template(f"pages/guides/{slug}.html", title=GUIDES[slug], guides=GUIDES)


@bp.route("/accessibility")
def accessibility() -> str:
    return render_template("pages/accessibility.html")


@bp.route("/privacy")
def privacy() -> str:
    return render_template("pages/privacy.html")
