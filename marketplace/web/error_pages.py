"""Plain-English error pages; a failed request's database work is rolled back."""

from __future__ import annotations

from flask import Flask, render_template
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, SecurityError
from werkzeug.wrappers import Response

from marketplace.extensions import db
from marketplace.web import post_only

PLAIN = {"Content-Type": "text/plain; charset=utf-8"}

PAGES = {
    400: "errors/400.html",
    403: "errors/403.html",
    404: "errors/404.html",
    405: "errors/400.html",
    429: "errors/429.html",
}


def init_app(app: Flask) -> None:
    """Register the handlers."""

    @app.errorhandler(CSRFError)
    def _csrf(_error: CSRFError) -> tuple[str, int]:
        db.session.rollback()
        return render_template("errors/csrf.html"), 400

    @app.errorhandler(SecurityError)
    def _untrusted_host(_error: SecurityError) -> tuple[str, int, dict[str, str]]:
        # A Host outside TRUSTED_HOSTS: no links can be built for it, so no page template.
        return "Bad request: this site does not answer for that host name.", 400, PLAIN

    @app.errorhandler(HTTPException)
    def _http(error: HTTPException) -> tuple[str, int] | HTTPException | Response:
        db.session.rollback()
        if (back := post_only.redirect_for(error)) is not None:
            return back  # a GET on a POST-only address: to the form's page
        code = error.code or 500
        template = PAGES.get(code)
        if template is None:
            return error
        return render_template(template, error=error), code

    @app.errorhandler(500)
    def _server_error(_error: Exception) -> tuple[str, int]:
        db.session.rollback()
        return render_template("errors/500.html"), 500
