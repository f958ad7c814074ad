"""
The database URLs `quickotp` accepts, the clear refusals of those it cannot use, and the
modes of the files it makes (the SQLite database, dev mode's key).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from sqlalchemy import text

from quickotp.adapters.store.engine import async_url, create_engines
from quickotp.domain.errors import ConfigurationError
from quickotp.settings import Settings


@pytest.mark.parametrize(
    ("given", "driver", "database"),
    [
        ("sqlite:///quickotp.db", "sqlite+aiosqlite", "quickotp.db"),
        ("sqlite:////var/lib/quickotp/q.db", "sqlite+aiosqlite", "/var/lib/quickotp/q.db"),
        ("postgresql://quickotp@127.0.0.1:5432/test", "postgresql+asyncpg", "test"),
    ],
)
def test_a_usable_url_gets_its_async_driver(given: str, driver: str, database: str) -> None:
    url = async_url(given)

    assert url.drivername == driver
    assert url.database == database


@pytest.mark.parametrize(
    "given",
    ["sqlite://", "sqlite:///:memory:", "sqlite:///file:q?mode=memory&uri=true"],
)
def test_an_in_memory_sqlite_database_is_refused(given: str) -> None:
    with pytest.raises(ConfigurationError, match="in-memory SQLite database"):
        async_url(given)


@pytest.mark.parametrize(
    ("given", "says"),
    [
        ("mysql://root@127.0.0.1/test", "unsupported database 'mysql'"),
        ("not a url", "is not a database URL"),
    ],
)
def test_other_urls_are_refused_with_what_is_wrong(given: str, says: str) -> None:
    with pytest.raises(ConfigurationError, match=says):
        async_url(given)


@pytest.mark.anyio
async def test_a_new_sqlite_database_is_readable_by_its_owner_only(tmp_path: Path) -> None:
    """The database file and its -wal and -shm files are 0600 under the usual umask (022)."""
    old = os.umask(0o022)
    try:
        engines = create_engines(f"sqlite:///{tmp_path / 'q.db'}")
        async with engines.write.begin() as conn:
            await conn.execute(text("CREATE TABLE t (x INTEGER)"))
            await conn.execute(text("INSERT INTO t VALUES (1)"))
        async with engines.read.connect() as conn:
            assert await conn.scalar(text("SELECT x FROM t")) == 1
            modes = _modes(tmp_path)
        await engines.dispose()
    finally:
        os.umask(old)

    assert modes == {"q.db": 0o600, "q.db-wal": 0o600, "q.db-shm": 0o600}


def _modes(folder: Path) -> dict[str, int]:
    return {p.name: stat.S_IMODE(p.stat().st_mode) for p in folder.iterdir()}


def test_an_existing_sqlite_file_keeps_its_mode(tmp_path: Path) -> None:
    """An operator's own mode on an existing database file is left as it is."""
    path = tmp_path / "q.db"
    path.touch(mode=0o640)
    path.chmod(0o640)

    create_engines(f"sqlite:///{path}")

    assert stat.S_IMODE(path.stat().st_mode) == 0o640


def test_the_dev_key_file_is_readable_by_its_owner_only(tmp_path: Path) -> None:
    """Dev mode's key file is made 0600 with the key in it."""
    old = os.umask(0o022)
    try:
        settings = Settings.from_env({"QUICKOTP_DEV_KEY_FILE": str(tmp_path / "k")}, dev=True)
    finally:
        os.umask(old)

    assert stat.S_IMODE((tmp_path / "k").stat().st_mode) == 0o600
    assert (tmp_path / "k").read_text().strip() == settings.secret_key.reveal()
