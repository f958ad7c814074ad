"""
Sealing a verification's code so that a re-send within its validity can send the same code.

Pure. The code (at most 8 ASCII digits) is XORed with the first bytes of
HMAC-SHA256(key, verification id): a keystream unique to each verification, i.e. a one-time
pad drawn from a PRF. Whoever holds the key could as well recover a 4-8 digit code from its
keyed hash by trying all 10^8 candidates, so the sealed copy adds no exposure beyond the
hash; and it is wiped once the verification is over.
"""

from __future__ import annotations

from quickotp.domain.keys import hmac_sha256


def _pad(key: bytes, verification_id: str, length: int) -> bytes:
    return hmac_sha256(key, verification_id.encode())[:length]


def seal(key: bytes, verification_id: str, code: str) -> bytes:
    """`code` sealed for `verification_id` (as many bytes as the code has digits)."""
    raw = code.encode("ascii")
    return bytes(a ^ b for a, b in zip(raw, _pad(key, verification_id, len(raw)), strict=True))


def unseal(key: bytes, verification_id: str, sealed: bytes) -> str:
    """The code `seal` sealed; check it against the keyed hash before trusting it."""
    pad = _pad(key, verification_id, len(sealed))
    return bytes(a ^ b for a, b in zip(sealed, pad, strict=True)).decode("ascii", "replace")
