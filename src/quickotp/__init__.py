"""QuickOTP: a self-hosted SMS one-time-password gateway, wire-compatible with Amoot SMS."""

__version__ = "0.1.0"
