"""Fixtures for the commitments tests: a provider in the shared council (as in the pool tests)
and Stripe and email from the app's config."""

import pytest

from tests.pools.conftest import gateway, provider  # noqa: F401 - fixtures, registered by import


@pytest.fixture(autouse=True)
def _app_context(app):
    """Services that email or call Stripe read the app's config."""
    with app.app_context():
        yield
