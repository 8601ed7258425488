"""Fixtures for the wellbeing tests: a provider in the shared council (as in the pool tests)."""

from tests.pools.conftest import provider  # noqa: F401 - a fixture, registered by import
