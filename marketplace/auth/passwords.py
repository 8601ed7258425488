"""Password hashing with argon2id at the OWASP Password Storage Cheat Sheet's settings."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

# 19 MiB, 2 passes, 1 lane: OWASP's recommended minimum for argon2id. argon2-cffi's own default
# (64 MiB, 3 passes, 4 lanes) took about 180 ms of CPU per check on a 2-core server, so a dozen
# sign-ins a second (a Monday morning, or someone trying passwords) would use the whole machine;
# these settings take about 25 ms. Older hashes are upgraded at the next sign-in.
_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)

# Verifying against this when no account matches keeps sign-in timing the same either way.
_DUMMY_HASH = _hasher.hash("not-a-real-password")

MIN_LENGTH = 10


def hash_password(password: str) -> str:
    """Hash a password for storage."""
    return _hasher.hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    """True if the password matches; spends the same effort when there is no stored hash."""
    try:
        return _hasher.verify(stored_hash or _DUMMY_HASH, password) and stored_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    """True if this hash was made with other settings than today's (rehash it at sign-in)."""
    try:
        return _hasher.check_needs_rehash(stored_hash)
    except InvalidHashError:
        return False


def password_problem(password: str) -> str | None:
    """A plain-English reason the password is unacceptable, or None."""
    if len(password) < MIN_LENGTH:
        return f"Your password must be at least {MIN_LENGTH} characters long"
    if len(password) > 200:
        return "Your password must be 200 characters or fewer"
    if password.strip() == "" or len(set(password)) < 4:
        return "Choose a password that is harder to guess"
    return None
