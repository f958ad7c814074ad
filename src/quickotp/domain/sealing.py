"""
Sealing a verification's code so that a re-send within its validity can send the same code;
and sealing a secret kept for good (a user's TOTP key) with AES-256-GCM.

Pure. The code (at most 8 ASCII digits) is XORed with the first bytes of
HMAC-SHA256(key, verification id): a keystream unique to each verification, i.e. a one-time
pad drawn from a PRF. Whoever holds the key could as well recover a 4-8 digit code from its
keyed hash by trying all 10^8 candidates, so the sealed copy adds no exposure beyond the
hash; and it is wiped once the verification is over.
"""

from __future__ import annotations

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from quickotp.domain.errors import ConfigurationError
from quickotp.domain.keys import hmac_sha256


def _pad(key: bytes, verification_id: str, length: int) -> bytes:
    return hmac_sha256(key, verification_id.encode())[:length]


def seal(key: bytes, verification_id: str, code: str) -> bytes:
    """`code` sealed for `verification_id` (as many bytes as the code has digits)."""
    raw = code.encode("ascii")
    return _xor(raw, _pad(key, verification_id, len(raw)))


def unseal(key: bytes, verification_id: str, sealed: bytes) -> str:
    """The code `seal` sealed; check it against the keyed hash before trusting it."""
    return _xor(sealed, _pad(key, verification_id, len(sealed))).decode("ascii", "replace")


def _xor(data: bytes, pad: bytes) -> bytes:
    """`data` XOR `pad` (as long), as whole numbers: a quarter of a byte-by-byte loop's cost."""
    value = int.from_bytes(data, "big") ^ int.from_bytes(pad, "big")
    return value.to_bytes(len(data), "big")


# Secrets kept to be used again (a user's TOTP key): AES-256-GCM, bound to what they belong to.

_SECRET_VERSION = b"\x01"
_NONCE = 12


def _cipher(key: bytes) -> AESGCM:
    return AESGCM(hmac_sha256(key, b"quickotp/sealed-secret/aes-256-gcm"))


def seal_secret(key: bytes, context: str, secret: bytes, nonce: bytes) -> bytes:
    """
    `secret` encrypted and authenticated under `key`, bound to `context` (e.g. "totp:12", so
    a sealed secret copied to another row does not open there). `nonce`: 12 fresh random
    bytes, never used twice with one key.
    """
    if len(nonce) != _NONCE:
        raise ValueError(f"a nonce is {_NONCE} bytes")
    return _SECRET_VERSION + nonce + _cipher(key).encrypt(nonce, secret, context.encode())


def unseal_secret(key: bytes, context: str, sealed: bytes) -> bytes:
    """What `seal_secret` sealed; ConfigurationError if the key or context differ, or it changed."""
    if len(sealed) < 1 + _NONCE + 16 or sealed[:1] != _SECRET_VERSION:
        raise ConfigurationError(f"{context}: the stored secret is not readable")
    try:
        return _cipher(key).decrypt(sealed[1 : 1 + _NONCE], sealed[1 + _NONCE :], context.encode())
    except InvalidTag:
        raise ConfigurationError(
            f"{context}: the stored secret does not open with this QUICKOTP_SECRET_KEY"
        ) from None
