"""SQLite's WAL checkpoints happen beside the writer, never inside a commit."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from quickotp.adapters.store.checkpoint import RESTART_FRAMES, WalCheckpointer
from quickotp.adapters.store.engine import BUSY_TIMEOUT_MS, Engines, create_engines

pytestmark = pytest.mark.anyio

ROW = "x" * 3000  # about one 4 KiB page per row


async def _log_frames(engines: Engines) -> int:
    """Frames in the write-ahead log now (a checkpoint in PASSIVE mode reports them)."""
    return (await WalCheckpointer(engines).checkpoint())[0]


async def _write(engines: Engines, rows: int) -> None:
    async with engines.write.begin() as conn:
        for _ in range(rows):
            await conn.execute(text("INSERT INTO filler (body) VALUES (:body)"), {"body": ROW})


@pytest.fixture
async def engines(tmp_path: Path) -> Engines:
    built = create_engines(f"sqlite:///{tmp_path / 'wal.db'}", sqlite_checkpoints=False)
    async with built.write.begin() as conn:
        await conn.execute(text("CREATE TABLE filler (id INTEGER PRIMARY KEY, body TEXT)"))
    return built


async def test_the_writer_makes_no_checkpoint_past_a_thousand_pages(engines: Engines) -> None:
    for _ in range(30):  # 30 commits of 50 pages: past SQLite's automatic 1,000
        await _write(engines, 50)
    checkpointer = WalCheckpointer(engines)
    log, copied = await checkpointer.checkpoint()
    assert log > 1500  # every commit's pages still in the log: none was checkpointed
    assert copied == log  # the checkpointer copied them all back, beside the writer
    await _write(engines, 1)
    assert await _log_frames(engines) < 10  # and the next commit starts the log over
    await engines.dispose()


async def test_the_checkpointer_runs_while_started_and_once_more_at_close(
    engines: Engines,
) -> None:
    checkpointer = WalCheckpointer(engines, interval=0.01)
    checkpointer.start()
    await _write(engines, 20)
    await checkpointer.aclose()
    await _write(engines, 1)
    assert await _log_frames(engines) < 10
    await engines.dispose()


async def test_under_a_steady_load_the_log_starts_over(engines: Engines, tmp_path: Path) -> None:
    """
    Commits back to back leave no moment at which SQLite starts the log over by itself: the
    checkpointer's RESTART makes one, so the log file stays far smaller than what went through.
    """
    wal = tmp_path / "wal.db-wal"
    commits = 6 * RESTART_FRAMES // 5  # five pages a commit: six times the threshold in all
    largest = 0

    async def watch() -> None:
        nonlocal largest
        while True:
            largest = max(largest, wal.stat().st_size if wal.exists() else 0)
            await asyncio.sleep(0.02)

    watcher = asyncio.create_task(watch())
    checkpointer = WalCheckpointer(engines, interval=0.05)
    checkpointer.start()
    async with asyncio.timeout(60):  # bounded by work, not by the machine's speed
        for _ in range(commits):
            await _write(engines, 5)
    watcher.cancel()
    await asyncio.gather(watcher, return_exceptions=True)
    largest = max(largest, wal.stat().st_size)
    await checkpointer.aclose()
    await engines.dispose()

    written = commits * 5 * 4096  # at least a page a row
    assert written > 4 * RESTART_FRAMES * 4096  # the load went past the threshold 4 times over
    assert largest < written / 2


async def test_a_reader_in_the_log_holds_a_restart_back_only_briefly(engines: Engines) -> None:
    """A reader that stays in the log: RESTART gives up within its wait, writers go on."""
    await _write(engines, RESTART_FRAMES + 10)
    async with engines.read.connect() as reader:
        await reader.execute(text("SELECT count(*) FROM filler"))  # a snapshot in the log
        await _write(engines, 1)
        started = time.monotonic()
        log, copied = await WalCheckpointer(engines).checkpoint()
        waited = time.monotonic() - started
        await _write(engines, 1)  # a writer is not held back after it gave up
        await reader.commit()

    # Its 20 ms wait, not the connections' 10 s busy timeout: half of that is a bound no
    # loaded machine reaches with the short wait, and the long one always does.
    assert waited < BUSY_TIMEOUT_MS / 1000 / 2
    assert log > RESTART_FRAMES
    assert copied < log  # the reader's snapshot keeps the last frames in the log
    await engines.dispose()
