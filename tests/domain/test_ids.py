"""Verification ids: UUIDv7 (RFC 9562), time-ordered, 74 random bits."""

from __future__ import annotations

import os
import uuid

import pytest

from quickotp.domain.ids import RANDOM_BYTES, uuid7_hex


def test_a_uuid7_holds_its_time_version_variant_and_random_bits() -> None:
    ms = 1_795_000_000_123  # 2026-11-18 11:06:40.123 UTC
    text = uuid7_hex(ms, bytes(range(1, 11)))

    assert len(text) == 32
    assert text == text.lower()
    parsed = uuid.UUID(hex=text)
    assert parsed.version == 7
    assert parsed.variant == uuid.RFC_4122
    assert parsed.int >> 80 == ms
    bits = int.from_bytes(bytes(range(1, 11)), "big")
    assert (parsed.int >> 64) & 0xFFF == bits >> 68  # rand_a: the first 12 random bits
    assert parsed.int & ((1 << 62) - 1) == bits & ((1 << 62) - 1)  # rand_b: the last 62


def test_ids_sort_by_time_and_differ_within_one_millisecond() -> None:
    earlier = [uuid7_hex(1_000, os.urandom(RANDOM_BYTES)) for _ in range(50)]
    later = [uuid7_hex(1_001, os.urandom(RANDOM_BYTES)) for _ in range(50)]

    assert max(earlier) < min(later)
    assert len(set(earlier)) == 50


def test_every_random_bit_used_shows_in_the_id() -> None:
    zero = uuid.UUID(hex=uuid7_hex(5, bytes(RANDOM_BYTES))).int
    flipped = set()
    for bit in range(RANDOM_BYTES * 8):
        random = (1 << bit).to_bytes(RANDOM_BYTES, "big")
        flipped.add(uuid.UUID(hex=uuid7_hex(5, random)).int ^ zero)
    used = {f for f in flipped if f}
    assert len(used) == 74  # rand_a 12 + rand_b 62; the six bits between them go unused


def test_too_few_random_bytes_are_refused() -> None:
    with pytest.raises(ValueError, match="10 random bytes"):
        uuid7_hex(0, b"short")
