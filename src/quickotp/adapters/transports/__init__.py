"""Transports: the ways a message leaves the gateway (log sink, SMPP, HTTP upstreams)."""
