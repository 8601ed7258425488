"""Payments: the only package that talks to Stripe."""
