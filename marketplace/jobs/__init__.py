"""Background jobs: one table, `flask worker` processes, retries and a dead letter.

Work that should not happen inside a web request (charging pools, membership jobs, emails,
search index updates) is a row in `jobs`, written in the same transaction as the change that
asked for it (the outbox pattern), and run by `flask worker`. See services.py for the guarantees.
"""
