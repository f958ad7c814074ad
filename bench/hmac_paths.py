"""
The cost of one HMAC-SHA256 of a token-sized message, three ways, in one run, interleaved:
the measurement behind `domain/keys.hmac_sha256` (about four HMACs an OTP: its token, code,
seal and guard key).

    .venv/bin/python bench/hmac_paths.py [--calls 100000] [--rounds 7]

- `hmac.digest`: the library's one-shot call, which sets the MAC up anew every time.
- `copy of a set-up hmac`: one `hmac.new(key)` kept per key, copied for each message.
- `hashlib, two kept pads`: RFC 2104 by hand from the key's two padded SHA-256 states (what
  `keys.hmac_sha256` does).
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import statistics
import time
from collections.abc import Callable

KEY = bytes(range(32))
MESSAGE = b"qotp_" + b"x" * 35  # an API token's length

_set_up = hmac.new(KEY, digestmod=hashlib.sha256)
_block = KEY.ljust(64, b"\0")
_inner = hashlib.sha256(bytes(b ^ 0x36 for b in _block))
_outer = hashlib.sha256(bytes(b ^ 0x5C for b in _block))


def one_shot() -> bytes:
    return hmac.digest(KEY, MESSAGE, "sha256")


def copied() -> bytes:
    mac = _set_up.copy()
    mac.update(MESSAGE)
    return mac.digest()


def by_hand() -> bytes:
    inner, outer = _inner.copy(), _outer.copy()
    inner.update(MESSAGE)
    outer.update(inner.digest())
    return outer.digest()


def per_call(work: Callable[[], bytes], calls: int) -> float:
    start = time.perf_counter()
    for _ in range(calls):
        work()
    return (time.perf_counter() - start) / calls * 1e6


def main(calls: int, rounds: int) -> None:
    ways = {
        "hmac.digest": one_shot,
        "copy of a set-up hmac": copied,
        "hashlib, two kept pads": by_hand,
    }
    assert len({work() for work in ways.values()}) == 1, "the three ways disagree"
    figures: dict[str, list[float]] = {name: [] for name in ways}
    for _ in range(rounds):  # interleaved: a noisy spell hits every way alike
        for name, work in ways.items():
            figures[name].append(per_call(work, calls))
    base = statistics.median(figures["hmac.digest"])
    for name, runs in figures.items():
        median = statistics.median(runs)
        print(f"{name:24} median {median:5.2f} us  (min {min(runs):5.2f})  {median / base:4.2f}x")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    main(args.calls, args.rounds)
