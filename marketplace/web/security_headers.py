"""Security headers on every response; the CSP allows no inline script at all."""

from __future__ import annotations

from flask import Flask, Response, request
from flask_login import current_user

CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


def init_app(app: Flask) -> None:
    """Add the headers after every request."""

    @app.after_request
    def _headers(response: Response) -> Response:
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault(
            "Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()"
        )
        response.headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        if app.config.get("SESSION_COOKIE_SECURE"):
            response.headers.setdefault(
                "Strict-Transport-Security", "max-age=31536000; includeSubDomains"
            )
        if carries_personal_data(response):
            # Not in a shared cache, nor on the disk of a shared computer: the Back button
            # after signing out must not bring a page or a download back.
            response.headers["Cache-Control"] = "no-store"
        return response


def carries_personal_data(response: Response) -> bool:
    """Every response to a signed-in person, every download and every page may carry personal
    data; only the site's own static files are known not to."""
    if request.endpoint == "static":
        return False
    if response.mimetype == "text/html":
        return True
    if "attachment" in response.headers.get("Content-Disposition", ""):
        return True
    return bool(current_user and current_user.is_authenticated)
