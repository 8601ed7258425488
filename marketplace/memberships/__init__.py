"""ULO memberships: a monthly fee (a Stripe subscription) or reciprocity (time given back, kept in
a double-entry time ledger), help requests that reciprocity members can take, and the ULO's view."""
