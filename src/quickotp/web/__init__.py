"""The HTTP edge: the Amoot-compatible /rest surface, operations endpoints, the app factory."""
