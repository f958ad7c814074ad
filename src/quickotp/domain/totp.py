"""
Two-step sign-in codes: RFC 6238 time-based one-time passwords (6 digits, 30 seconds,
HMAC-SHA1, as every authenticator app reads them) through pyotp, and one-time recovery
codes. Pure: the time and the random bytes come in as arguments.
"""

from __future__ import annotations

import base64
import hmac
from datetime import datetime

import pyotp

from quickotp.domain.digits import ascii_digits

DIGITS = 6
DRIFT = 1  # time steps either side of now a code is taken from (a clock 30 s off still works)
SECRET_BYTES = 20  # 160 bits, as RFC 4226 recommends
RECOVERY_CODES = 10  # made at once, each works once
RECOVERY_BYTES = 10  # 80 bits: 16 base32 characters
_BASE32 = frozenset("abcdefghijklmnopqrstuvwxyz234567")


def new_secret(random: bytes) -> str:
    """A TOTP key from `random` bytes, in base32 without padding (how apps take it typed)."""
    return base64.b32encode(random).decode().rstrip("=")


def provisioning_uri(secret: str, email: str, issuer: str) -> str:
    """The otpauth:// URI an authenticator app reads from a QR code."""
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=issuer)


def looks_like_code(raw: str) -> bool:
    """Whether `raw` is written as a TOTP code (6 digits, any script, spaces allowed)."""
    code = "".join(ascii_digits(raw).split())
    return len(code) == DIGITS and code.isascii() and code.isdigit()


def matching_step(secret: str, raw: str, now: datetime, after: int | None) -> int | None:
    """
    The time step whose code `raw` is, within DRIFT steps of `now` and later than `after`
    (the newest step used before: a code works once); None if there is none. Every
    candidate is compared, in constant time.
    """
    if not looks_like_code(raw):
        return None
    code = "".join(ascii_digits(raw).split())
    totp = pyotp.TOTP(secret, digits=DIGITS)
    current = totp.timecode(now)
    found = None
    for step in range(current - DRIFT, current + DRIFT + 1):
        same = hmac.compare_digest(totp.generate_otp(step), code)
        if same and (after is None or step > after):
            found = step
    return found


def new_recovery_code(random: bytes) -> str:
    """A recovery code from `random` bytes: xxxx-xxxx-xxxx-xxxx in lowercase base32."""
    letters = base64.b32encode(random).decode().rstrip("=").lower()
    return "-".join(letters[i : i + 4] for i in range(0, len(letters), 4))


def recovery_key(raw: str) -> str | None:
    """A recovery code as typed (any case, dashes or spaces), made canonical; None if not one."""
    letters = "".join(ch for ch in raw.lower() if ch not in "- ")
    if len(letters) != RECOVERY_BYTES * 8 // 5 or not set(letters) <= _BASE32:
        return None
    return letters
