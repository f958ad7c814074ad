"""SQLite's WAL checkpoints happen beside the writer, never inside a commit."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from quickotp.store.checkpoint import WalCheckpointer
from quickotp.store.engine import Engines, create_engines

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
