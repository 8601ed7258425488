"""Moderation: the audit log now; the queue arrives with the directory."""
