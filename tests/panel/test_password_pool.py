"""Password hashing off the event loop, in a worker that refuses at once when its queue is full."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Literal

import pytest
from argon2 import PasswordHasher

from quickotp.bootstrap import Runtime
from quickotp.domain.errors import PasswordHashingBusy
from quickotp.support.password_pool import PasswordPool
from tests.panel.conftest import OPERATOR_EMAIL, PASSWORD, open_browser, sign_in, sign_up

pytestmark = pytest.mark.anyio


class WhereHasher(PasswordHasher):
    """A cheap argon2id hasher that notes the process each hash and check ran in."""

    def __init__(self, notes: Path) -> None:
        super().__init__(time_cost=1, memory_cost=1024, parallelism=1)
        self.notes = notes

    def _note(self) -> None:
        with self.notes.open("a") as notes:
            notes.write(f"{os.getpid()}\n")

    def hash(self, password: str | bytes, *, salt: bytes | None = None) -> str:
        self._note()
        return super().hash(password, salt=salt)

    def verify(self, hash: str | bytes, password: str | bytes) -> Literal[True]:
        self._note()
        return super().verify(hash, password)


async def test_every_hash_and_check_runs_outside_the_serving_process(
    runtime: Runtime, tmp_path: Path
) -> None:
    """Sign-up, sign-in (right and wrong) and a password change hash in the worker, never here."""
    notes = tmp_path / "pids"
    runtime.users.hasher = WhereHasher(notes)
    browser = await open_browser(runtime)
    await sign_up(browser, "owner@shop.test", "Shop")
    await browser.post(
        "/panel/settings",
        {
            "password": PASSWORD,
            "new_password": "a new password, long",
            "repeat_password": "a new password, long",
        },
    )
    stranger = await open_browser(runtime, ip="198.51.100.44")
    await sign_in(stranger, "owner@shop.test", "wrong password")
    await sign_in(stranger, "nobody@shop.test", "wrong password")

    pids = notes.read_text().split()
    assert len(pids) >= 5
    assert str(os.getpid()) not in pids


async def test_a_full_pool_refuses_at_once() -> None:
    """With its capacity taken (one running, one waiting), the next call is refused at once."""
    pool = PasswordPool(capacity=2)
    assert await pool.run(sum, [0]) == 0  # the worker is up
    held = [asyncio.ensure_future(pool.run(time.sleep, 1)) for _ in range(2)]
    await asyncio.sleep(0.05)

    started = time.perf_counter()
    with pytest.raises(PasswordHashingBusy) as refused:
        await pool.run(time.sleep, 0)
    refused_in = time.perf_counter() - started
    await asyncio.gather(*held)
    after = await pool.run(sum, [1, 2])

    assert refused_in < 0.05
    assert refused.value.retry_after >= 1
    assert after == 3


async def test_a_full_pool_answers_the_panel_429_with_retry_after(runtime: Runtime) -> None:
    """A sign-in that finds the password worker's queue full gets 429, Retry-After, a sentence."""
    await runtime.users.create_operator(email=OPERATOR_EMAIL, password=PASSWORD)
    runtime.users.pool = PasswordPool(capacity=1)
    held = asyncio.ensure_future(runtime.users.pool.run(time.sleep, 2))
    await asyncio.sleep(0.05)
    english = await open_browser(runtime, language="en")
    persian = await open_browser(runtime, ip="198.51.100.21", language="fa")

    busy = await sign_in(english, OPERATOR_EMAIL)
    busy_fa = await sign_in(persian, OPERATOR_EMAIL)
    await held
    later = await sign_in(english, OPERATOR_EMAIL)

    assert busy.status_code == busy_fa.status_code == 429
    assert busy.headers["retry-after"] == "1"
    assert "The panel is busy right now" in busy.text
    assert "پنل اکنون سرش شلوغ است" in busy_fa.text
    assert later.status_code == 303  # the refusal counted against no limit


SERVER_STAND_IN = """
import asyncio, os, sys, time
from quickotp.support.password_pool import PasswordPool
worker = asyncio.run(PasswordPool().run(os.getpid))
print(worker, flush=True)
time.sleep(60)
"""


def test_the_worker_ends_when_its_server_process_is_killed() -> None:
    """A server killed with SIGKILL (no exit path runs) leaves no password worker behind."""
    server = subprocess.Popen(
        [sys.executable, "-c", SERVER_STAND_IN], stdout=subprocess.PIPE, text=True
    )
    try:
        assert server.stdout is not None
        worker = int(server.stdout.readline())
        assert worker != server.pid
        os.kill(worker, 0)  # the worker runs
    finally:
        server.send_signal(signal.SIGKILL)
        server.wait(10)
        if server.stdout is not None:
            server.stdout.close()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(worker, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    os.kill(worker, signal.SIGKILL)  # do not leave it behind for the next test either
    pytest.fail(f"the password worker {worker} outlived its killed server")
