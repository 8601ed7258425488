"""Fixtures for statement tests: the pools' provider and the real SDK against localstripe."""

from __future__ import annotations

from tests.pools.conftest import gateway, provider

__all__ = ["gateway", "provider"]
