"""Backing up and restoring the database (`flask backup`, `flask restore`)."""
