"""
SQLite's trigram index of the numbers is written in batches behind the accepts
(adapters/store/number_index.py): what it holds stays sound through every write of a
message, and the message log finds a part of a number in messages it does not hold yet.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from quickotp.adapters.store.engine import Engines, create_engines
from quickotp.adapters.store.message_log import read_count, read_page
from quickotp.adapters.store.migrate import upgrade
from quickotp.adapters.store.number_index import NumberIndexer
from quickotp.domain.models import MessageQuery

pytestmark = pytest.mark.anyio


@contextmanager
def _database(path: Path) -> Iterator[sqlite3.Connection]:
    db = sqlite3.connect(path, isolation_level=None)
    try:
        yield db
    finally:
        db.close()


def _add(db: sqlite3.Connection, message_id: int, mobile: str) -> None:
    db.execute(
        "INSERT INTO messages (id, account_id, mobile, sender, text, encoding, parts,"
        " cost, charged, status, attempts, possible_duplicate, next_attempt_at,"
        " expires_at, created_at) VALUES (?, 1, ?, '1', 'x', 'gsm7', 1, 0, 0,"
        " 'delivered', 1, 0, '2026-01-01', '2026-01-01', '2026-01-01')",
        (message_id, mobile),
    )


def _indexed(db: sqlite3.Connection, part: str) -> list[int]:
    """The ids the trigram index itself gives for `part`."""
    rows = db.execute(
        "SELECT rowid FROM messages_mobile WHERE messages_mobile MATCH ?", (f'"{part}"',)
    )
    return sorted(row[0] for row in rows)


@pytest.fixture
async def engines(tmp_path: Path) -> AsyncIterator[Engines]:
    engines = create_engines(f"sqlite:///{tmp_path / 'search.db'}")
    await upgrade(engines)
    with _database(tmp_path / "search.db") as db:
        db.execute(
            "INSERT INTO accounts (id, name, credit, unlimited, sender, active, created_at)"
            " VALUES (1, 'a', 0, 1, '1', 1, '2026-01-01')"
        )
    try:
        yield engines
    finally:
        await engines.dispose()


async def test_new_messages_are_indexed_in_batches_up_to_the_last(
    engines: Engines, tmp_path: Path
) -> None:
    with _database(tmp_path / "search.db") as db:
        for n in range(1, 6):
            _add(db, n, f"98912000000{n}")
        indexer = NumberIndexer(engines, batch=2)

        assert _indexed(db, "912") == []
        assert await indexer.catch_up() == 5
        assert _indexed(db, "912") == [1, 2, 3, 4, 5]
        assert db.execute("SELECT indexed_to FROM messages_mobile_progress").fetchall() == [(5,)]
        assert await indexer.catch_up() == 0


async def test_the_index_stays_sound_through_every_write_of_a_number(
    engines: Engines, tmp_path: Path
) -> None:
    """
    A number changed or a message deleted leaves the index as FTS5 expects, whether the
    message was indexed or not yet (an FTS5 'delete' of a row it never held corrupts it).
    """
    with _database(tmp_path / "search.db") as db:
        for n, mobile in enumerate(["989121234567", "989350000000", "989357777777"], start=1):
            _add(db, n, mobile)
        await NumberIndexer(engines).catch_up()
        _add(db, 4, "989128880000")  # not indexed yet
        _add(db, 5, "989129990000")  # not indexed yet

        db.execute("UPDATE messages SET mobile = '989124440000' WHERE id = 2")
        db.execute("DELETE FROM messages WHERE id IN (3, 4)")
        db.execute("INSERT INTO messages_mobile (messages_mobile) VALUES ('integrity-check')")
        await NumberIndexer(engines).catch_up()

        assert _indexed(db, "912") == [1, 2, 5]
        assert _indexed(db, "4440") == [2]
        assert _indexed(db, "935") == []
        assert _indexed(db, "7777") == []
        assert _indexed(db, "888") == []
        db.execute("INSERT INTO messages_mobile (messages_mobile) VALUES ('integrity-check')")


@pytest.mark.parametrize("account_id", [1, None])
async def test_a_search_finds_a_message_the_index_does_not_hold_yet(
    engines: Engines, tmp_path: Path, account_id: int | None
) -> None:
    with _database(tmp_path / "search.db") as db:
        _add(db, 1, "989121234567")
        await NumberIndexer(engines).catch_up()
        _add(db, 2, "989351234500")  # past the index's end
        _add(db, 3, "989350000000")
    query = MessageQuery(mobile_digits="12345")

    async with engines.read.connect() as conn:
        page = await read_page(conn, account_id, query)
        count = await read_count(conn, account_id, query, cap=100)

    assert [message.id for message in page.items] == [2, 1]
    assert count == 2
