"""Buddy tests use the shared `council` and `moderator` fixtures in tests/conftest.py."""
