"""Persistence: one SQL schema served by SQLite (embedded default) and PostgreSQL (at scale)."""
