"""Low-energy participation: one-click email links, fewer emails, weekly digests, and quiet
while someone is on a break (only emails about money that is due still go out)."""
