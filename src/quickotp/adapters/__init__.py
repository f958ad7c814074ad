"""The outside world behind the ports: databases, counters, SMS upstreams."""
