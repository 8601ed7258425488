"""Pools: holders jointly commissioning a service, all or nothing."""
