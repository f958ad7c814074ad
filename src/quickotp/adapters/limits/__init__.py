"""Counters for the fraud guard and the idempotency window."""
