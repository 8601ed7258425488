"""Engagement with the directory: shortlists, enquiries to providers, and reviews."""
