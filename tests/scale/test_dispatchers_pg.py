"""
Two `quickotp dispatch` processes on one PostgreSQL outbox, one killed with SIGKILL while
messages are in flight: every accepted message reaches the SMSC, and any sent twice is
flagged a possible duplicate, no more of them than the dead dispatcher could hold.

The SMSC is smpp34's simulator answering each submit_sm after 100 ms, so with a window of 5
a dispatcher always has submits out when it dies (the dev log sink "sends" in microseconds:
a kill would almost never land mid-send). The simulator also records what it received,
apart from both dispatchers and the database. Each dispatcher runs its records (outcomes and
receipts) several at once, so the kill lands with some of them uncommitted too: a message
holds its place in the batch until its outcome is committed, so the bound is the batch's
all the same.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from quickotp.adapters.store.bind_leases import SLOT, BindLeases
from quickotp.adapters.store.migrate import upgrade
from quickotp.adapters.transports.routed import check_url
from quickotp.bootstrap import Runtime, build_runtime
from quickotp.domain.models import MessageStatus
from quickotp.domain.routing import checked_route
from tests.adapters.transports.smpp.smsc_sim import Simulator
from tests.conftest import (
    POSTGRES_URL,
    TEST_SECRET,
    _fresh_postgres_database,
    make_settings,
    seed,
    service_missing,
)
from tests.http_peer import free_port

pytestmark = [pytest.mark.anyio, pytest.mark.postgres, pytest.mark.slow]

MESSAGES = 300
WINDOW = 5  # QUICKOTP_DISPATCH_CONCURRENCY: submits out at once, per dispatcher
BATCH = 20  # QUICKOTP_DISPATCH_BATCH: claims held at once, per dispatcher
RECORD_FLIGHTS = 4  # QUICKOTP_DISPATCH_RECORD_FLIGHTS: record transactions at once
UNLIMITED = {
    "QUICKOTP_GUARD_ACCOUNT_RATE": "0",
    "QUICKOTP_GUARD_TOKEN_RATE": "0",
    "QUICKOTP_GUARD_IP_RATE": "0",
    "QUICKOTP_GUARD_PUMPING": "off",
}


@pytest.fixture
async def runtime() -> AsyncIterator[Runtime]:
    """A migrated PostgreSQL database, and an accepting gateway with no dispatcher."""
    if not POSTGRES_URL:
        service_missing("postgres")
    url = await _fresh_postgres_database(POSTGRES_URL)
    built = build_runtime(make_settings(url, **UNLIMITED), dispatch=False, admit=False)
    await upgrade(built.engines)
    await built.start()
    yield built
    await built.aclose()


@pytest.fixture
async def smsc() -> AsyncIterator[Simulator]:
    simulator = Simulator(free_port(), hold=0.1)
    await simulator.start()
    yield simulator
    await simulator.stop()


def start_dispatcher(database_url: str, log: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "QUICKOTP_SECRET_KEY": TEST_SECRET,
        "QUICKOTP_DATABASE_URL": database_url,
        "QUICKOTP_DISPATCH_CONCURRENCY": str(WINDOW),
        "QUICKOTP_DISPATCH_BATCH": str(BATCH),
        "QUICKOTP_DISPATCH_RECORD_FLIGHTS": str(RECORD_FLIGHTS),
        "QUICKOTP_DISPATCH_LEASE_SECONDS": "2",
    }
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "quickotp", "dispatch"], env=env, stdout=out, stderr=out
        )


async def until(predicate: object, what: str, timeout: float = 60) -> None:
    assert callable(predicate)
    try:
        async with asyncio.timeout(timeout):
            while not await predicate():
                await asyncio.sleep(0.05)
    except TimeoutError:
        raise AssertionError(f"timed out waiting for {what}") from None


async def test_a_dispatcher_killed_mid_load_loses_nothing_and_flags_its_duplicates(
    runtime: Runtime, smsc: Simulator, tmp_path: Path
) -> None:
    """SIGKILL one of two dispatchers mid-load: all accepted arrive; duplicates flagged, few."""
    url = f"smpp://quickotp:secret@127.0.0.1:{smsc.port}?binds=2&window={WINDOW}&timeout=5"
    kind, shown = check_url(url)
    route = checked_route(name="smsc", kind=kind, url=url, shown=shown)
    await runtime.route_book.add(route, runtime.admin.clock())
    seeded = await seed(runtime, credit=10**9)
    caller = await runtime.gateway.authenticate(seeded.token, method="SendQuickOTP", ip=None)
    database = runtime.settings.database_url
    doomed = start_dispatcher(database, tmp_path / "doomed.log")
    survivor = start_dispatcher(database, tmp_path / "survivor.log")
    accepted: dict[int, str] = {}  # message id -> number

    async def accept() -> None:
        for start in range(0, MESSAGES, 20):  # 20 at a time, about 300 a second
            sent = await asyncio.gather(
                *(
                    runtime.gateway.send_quick_otp(
                        caller, mobile=f"0912{i:07d}", code_length=6, optional_code=None
                    )
                    for i in range(start, start + 20)
                )
            )
            accepted.update((s.message_id, s.mobile.e164) for s in sent)
            await asyncio.sleep(0.05)

    async def sending() -> bool:
        return len(smsc.received) >= MESSAGES // 3

    observer = BindLeases(database)

    async def each_holds_a_bind() -> bool:
        holders = await observer.fetchval(
            "SELECT count(DISTINCT pid) FROM pg_locks WHERE locktype = 'advisory' AND granted"
            " AND classid >= $1::int8::oid AND classid < $2::int8::oid"
            " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
            SLOT,
            SLOT + 64,
        )
        return bool(holders == 2)

    try:
        await until(each_holds_a_bind, "both dispatchers to hold a bind slot", timeout=30)
        loading = asyncio.create_task(accept())
        await until(sending, "a third of the messages at the SMSC")
        doomed.send_signal(signal.SIGKILL)
        doomed.wait(10)
        await loading

        async def all_sent() -> bool:
            found = await runtime.store.get_messages(seeded.account_id, list(accepted))
            done = (MessageStatus.SENT, MessageStatus.DELIVERED)
            return sum(m.status in done for m in found.values()) == len(accepted)

        await until(all_sent, "every message sent")
    finally:
        await observer.aclose()
        for process in (doomed, survivor):
            if process.poll() is None:
                process.terminate()
                process.wait(15)

    found = await runtime.store.get_messages(seeded.account_id, list(accepted))
    received = Counter(r.destination_addr for r in smsc.received if r.message_id)
    flagged = {m.mobile for m in found.values() if m.possible_duplicate}
    twice = {number for number, n in received.items() if n > 1}
    print(f"\n{len(accepted)} accepted, {len(twice)} sent twice, {len(flagged)} flagged")  # noqa: T201
    assert len(accepted) == MESSAGES
    assert set(received) == set(accepted.values())  # every accepted message reached the SMSC
    assert twice <= flagged  # every duplicate is counted
    assert 0 < len(flagged) <= BATCH + WINDOW  # the kill landed mid-flight; bounded by it
    assert smsc.max_outstanding <= 2 * WINDOW
