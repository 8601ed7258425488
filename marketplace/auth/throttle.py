"""Sign-in limits by account, beside the per-address limit on the sign-in routes.

The per-address limit (SIGN_IN_RATE_LIMIT, on the routes) stops one client trying many
passwords; behind a proxy it needs TRUSTED_PROXIES (web/proxies.py) to see real addresses. It
cannot stop one account being attacked from many addresses: this limit counts wrong passwords
for one email address, from anywhere (ACCOUNT_SIGN_IN_RATE_LIMIT, e.g. "10 per 15 minutes").

Whoever trips an address's limit must not be able to lock the real person out, so while it
holds only a password on its own is refused: the password and a code from the authenticator
app still sign in, and anyone may ask for a one-time sign-in link by email
(services.start_sign_in_link).
An address with no account is counted the same, so the limit tells nobody which addresses
have accounts. The counts live in the rate limiter's storage (Redis when REDIS_URL is set, so
every worker shares them), keyed by a hash of the address, never the address itself.
"""

from __future__ import annotations

import hashlib

from flask import current_app
from limits import RateLimitItem, parse

from marketplace.extensions import limiter

_NAMESPACE = "account-sign-in"


def _limit() -> RateLimitItem:
    return parse(current_app.config["ACCOUNT_SIGN_IN_RATE_LIMIT"])


def _key(email: str) -> str:
    digest = hashlib.sha256(email.strip().lower().encode()).hexdigest()
    return f"{current_app.config.get('RATELIMIT_KEY_PREFIX', '')}{_NAMESPACE}/{digest}"


def is_throttled(email: str) -> bool:
    """True while too many wrong passwords for this address are counted in the window."""
    return not limiter.limiter.test(_limit(), _key(email))


def count_failure(email: str) -> None:
    """Count one wrong password (or unknown address) for this address."""
    limiter.limiter.hit(_limit(), _key(email))


def window_minutes() -> int:
    """How long the limit's window is, in minutes, for what the sign-in page says."""
    return max(1, _limit().get_expiry() // 60)
