"""domain/sealing's code seal: the code XORed with its verification's keystream, and back."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from quickotp.domain import keys, sealing

KEY = b"k" * 32


@given(code=st.text(alphabet="0123456789", max_size=8), verification_id=st.text(max_size=40))
def test_a_sealed_code_is_the_code_xor_its_keystream_and_unseals(
    code: str, verification_id: str
) -> None:
    """Leading zeros and the empty code included: the sealed bytes are as long as the code."""
    sealed = sealing.seal(KEY, verification_id, code)
    pad = keys.hmac_sha256(KEY, verification_id.encode())
    assert sealed == bytes(a ^ b for a, b in zip(code.encode(), pad, strict=False))
    assert sealing.unseal(KEY, verification_id, sealed) == code
