"""The use cases: what the gateway does, on ports it is given."""
