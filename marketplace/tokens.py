"""Random single-use tokens for emailed links: the raw token goes out, only its hash is kept."""

from __future__ import annotations

import hashlib
import secrets


def new_token() -> tuple[str, str]:
    """Return (token to send, hash to store)."""
    raw = secrets.token_urlsafe(32)
    return raw, hash_token(raw)


def hash_token(raw: str) -> str:
    """SHA-256 of a token; the tokens are long and random, so no salt or stretching is needed."""
    return hashlib.sha256(raw.encode()).hexdigest()
