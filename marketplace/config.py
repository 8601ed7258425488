"""Configuration read from the environment, with embedded defaults for a fresh machine."""

from __future__ import annotations

import ipaddress
import os
import secrets
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

PROJECT_ROOT = Path(__file__).resolve().parent.parent
INSTANCE_DIR = Path(os.environ.get("INSTANCE_DIR", PROJECT_ROOT / "instance"))


def _bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _secret_key() -> str:
    """Use SECRET_KEY if set; otherwise keep a random key in the instance folder.

    A key kept on disk survives restarts (people stay signed in) without anyone
    having to invent one on a fresh machine.
    """
    if key := os.environ.get("SECRET_KEY"):
        return key
    INSTANCE_DIR.mkdir(parents=True, exist_ok=True)
    path = INSTANCE_DIR / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


def _list(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


class ConfigurationError(RuntimeError):
    """The app cannot start safely with this configuration."""


def apply_public_base_url(config: dict[str, Any], *, debug: bool, testing: bool) -> None:
    """Point every external link at PUBLIC_BASE_URL and accept requests for its host only.

    Flask builds external links from SERVER_NAME and PREFERRED_URL_SCHEME, and refuses (400)
    a request whose Host is not in TRUSTED_HOSTS. Without a public base URL a link in an
    email would follow whatever Host a request claimed, so only debugging and tests may
    start without one.
    """
    url = config.get("PUBLIC_BASE_URL")
    if not url:
        if not (debug or testing):
            raise ConfigurationError(
                "Set PUBLIC_BASE_URL to the address people use to reach the site, like "
                "https://marketplace.example.org: links in emails are built from it"
            )
        return
    parts = urlparse(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname or parts.path not in {"", "/"}:
        raise ConfigurationError(
            f"PUBLIC_BASE_URL must be http(s)://host[:port] with no path, not {url!r}"
        )
    config["SERVER_NAME"] = parts.netloc
    config["PREFERRED_URL_SCHEME"] = parts.scheme
    config["TRUSTED_HOSTS"] = [parts.hostname, *config.get("EXTRA_TRUSTED_HOSTS", [])]


def is_loopback_url(url: str) -> bool:
    """True for http(s)://localhost or a loopback address (localstripe, never real Stripe)."""
    host = urlparse(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def from_environment() -> dict[str, Any]:
    """Build the configuration mapping from environment variables."""
    debug = _bool("FLASK_DEBUG", False)
    stripe_api_base = os.environ.get("STRIPE_API_BASE", "http://127.0.0.1:8420")
    optional: dict[str, Any] = {}
    if reference_seconds := os.environ.get("REFERENCE_CACHE_SECONDS"):
        # Left unset, marketplace.providers.reference picks 60 s (0 under tests).
        optional["REFERENCE_CACHE_SECONDS"] = float(reference_seconds)
    return {
        **optional,
        "SECRET_KEY": _secret_key(),
        "DATABASE_URL": os.environ.get(
            "DATABASE_URL", f"sqlite:///{INSTANCE_DIR / 'marketplace.sqlite3'}"
        ),
        "SEARCH_INDEX_DIR": os.environ.get("SEARCH_INDEX_DIR", str(INSTANCE_DIR / "search-index")),
        # The hashed and compressed copies of static/ (marketplace.web.assets); each machine's own.
        "STATIC_BUILD_DIR": os.environ.get("STATIC_BUILD_DIR", str(INSTANCE_DIR / "static-build")),
        "STRIPE_API_KEY": os.environ.get("STRIPE_API_KEY", "sk_test_localstripe"),
        "STRIPE_API_BASE": stripe_api_base,
        "STRIPE_WEBHOOK_SECRET": os.environ.get("STRIPE_WEBHOOK_SECRET", "whsec_localstripe"),
        # Raw card numbers reach our server only in tests and development against localstripe;
        # production takes cards through Stripe.js Elements (PCI DSS). See payments/gateway.py.
        "STRIPE_ACCEPT_RAW_CARDS": _bool(
            "STRIPE_ACCEPT_RAW_CARDS", is_loopback_url(stripe_api_base)
        ),
        "REDIS_URL": os.environ.get("REDIS_URL"),
        "POSTCODE_DATA": os.environ.get("POSTCODE_DATA"),
        "MAIL_SERVER": os.environ.get("MAIL_SERVER"),
        "MAIL_PORT": int(os.environ.get("MAIL_PORT", "25")),
        "MAIL_FROM": os.environ.get(
            "MAIL_FROM", "Budget Marketplace <no-reply@marketplace.invalid>"
        ),
        # "queue": emails and search index updates become jobs for `flask worker` (jobs/).
        "EMAIL_DELIVERY": os.environ.get("EMAIL_DELIVERY", "direct"),
        "SEARCH_INDEX_DELIVERY": os.environ.get("SEARCH_INDEX_DELIVERY", "direct"),
        # Every link the site sends (reset links above all) is built from this, never from the
        # Host header a request came with: see apply_public_base_url.
        "PUBLIC_BASE_URL": os.environ.get("PUBLIC_BASE_URL"),
        # More host names requests may use (a health check by internal name), comma-separated.
        "EXTRA_TRUSTED_HOSTS": _list(os.environ.get("EXTRA_TRUSTED_HOSTS", "")),
        "SESSION_COOKIE_SECURE": _bool("SESSION_COOKIE_SECURE", not debug),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        # How many reverse proxies stand in front of gunicorn (web/proxies.py); 0: none.
        "TRUSTED_PROXIES": int(os.environ.get("TRUSTED_PROXIES", "0")),
        "SIGN_IN_RATE_LIMIT": os.environ.get("SIGN_IN_RATE_LIMIT", "10 per 15 minutes"),
        # Wrong passwords for one email address, from any client (auth/throttle.py).
        "ACCOUNT_SIGN_IN_RATE_LIMIT": os.environ.get(
            "ACCOUNT_SIGN_IN_RATE_LIMIT", "10 per 15 minutes"
        ),
        "RESET_RATE_LIMIT": os.environ.get("RESET_RATE_LIMIT", "5 per hour"),
        "PASSWORD_RESET_TTL_SECONDS": 3600,
        # A moderator's claim on an item lapses after this long with no decision; an urgent
        # item nobody is dealing with goes to the admins after this long.
        "MODERATION_CLAIM_LAPSE_MINUTES": int(
            os.environ.get("MODERATION_CLAIM_LAPSE_MINUTES", "120")
        ),
        "MODERATION_ESCALATE_MINUTES": int(os.environ.get("MODERATION_ESCALATE_MINUTES", "240")),
        # A session ends after this long without a request (shorter for people who can
        # moderate), and after SESSION_MAX_HOURS whatever happens (auth/sessions.py).
        "SESSION_IDLE_MINUTES": int(os.environ.get("SESSION_IDLE_MINUTES", "120")),
        "STAFF_SESSION_IDLE_MINUTES": int(os.environ.get("STAFF_SESSION_IDLE_MINUTES", "30")),
        "SESSION_MAX_HOURS": int(os.environ.get("SESSION_MAX_HOURS", "12")),
        "CARER_INVITE_TTL_SECONDS": 14 * 24 * 3600,
        # The seller of record on every receipt: the platform, which takes every payment.
        # The defaults say plainly that this is a demonstration with no real business behind it.
        "SELLER_NAME": os.environ.get("SELLER_NAME", "Budget Marketplace (demonstration site)"),
        "SELLER_ADDRESS": os.environ.get(
            "SELLER_ADDRESS", "No postal address: this is a demonstration, not a real business"
        ),
    }
