"""domain/keys.hmac_sha256 is HMAC-SHA256 as the standard library computes it, for any key."""

from __future__ import annotations

import hashlib
import hmac

from hypothesis import given
from hypothesis import strategies as st

from quickotp.domain import keys


@given(key=st.binary(max_size=200), message=st.binary(max_size=300))
def test_equals_the_standard_librarys_hmac(key: bytes, message: bytes) -> None:
    """Short, block-sized and longer-than-a-block keys (hashed first), any message."""
    assert keys.hmac_sha256(key, message) == hmac.digest(key, message, hashlib.sha256)


def test_rfc_4231_case_2() -> None:
    """RFC 4231's test case 2: key "Jefe"."""
    expected = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    assert keys.hmac_sha256(b"Jefe", b"what do ya want for nothing?").hex() == expected


def test_a_keys_state_is_reused_not_changed() -> None:
    """The kept padded states are copied per call: the same input, the same answer."""
    first = keys.hmac_sha256(b"k" * 32, b"one")
    keys.hmac_sha256(b"k" * 32, b"two")
    assert keys.hmac_sha256(b"k" * 32, b"one") == first
