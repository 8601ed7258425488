"""Client addresses behind a reverse proxy: ProxyFix, trusting exactly TRUSTED_PROXIES hops.

Without it every request behind the proxy comes from the proxy's address, so the per-address
sign-in limit would be one limit for everyone. Trusting more hops than there are proxies would
let a client choose its own address with X-Forwarded-For; so the number is set, not guessed.
The host is never taken from X-Forwarded-Host: links use PUBLIC_BASE_URL.
"""

from __future__ import annotations

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix


def init_app(app: Flask) -> None:
    """Wrap the WSGI app when TRUSTED_PROXIES is more than 0."""
    hops = int(app.config.get("TRUSTED_PROXIES") or 0)
    if hops > 0:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]
