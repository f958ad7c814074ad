"""
`quickotp backup`: a consistent copy of a SQLite database while the gateway writes to it,
through SQLite's online backup API (`sqlite3.Connection.backup`).

The copy is taken in steps inside one read transaction on the source. In WAL mode a reader
never holds the writer, so the gateway's writes go on while the copy runs; and holding the
read transaction keeps the copy on one snapshot: without it, the backup API starts over at
every write another connection makes, and under a steady load it never finishes. The copy
is written to a hidden file beside the target (created 0600: it holds phone numbers),
checked with `PRAGMA quick_check`, synced, and only then linked in under its name.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from quickotp.adapters.store.engine import BUSY_TIMEOUT_MS, async_url
from quickotp.domain.errors import Conflict, InvalidInput, Subject

PAGES_PER_STEP = 1024  # 4 MiB of the default 4 KiB pages a step


@dataclass(frozen=True)
class Backup:
    path: Path
    pages: int
    bytes: int


def sqlite_path(database_url: str) -> Path | None:
    """The file of a SQLite database URL; None for any other database."""
    url = async_url(database_url)
    if url.get_backend_name() != "sqlite" or url.database is None:
        return None
    return Path(url.database)


def backup_sqlite(
    source: Path,
    target: Path,
    *,
    pages_per_step: int = PAGES_PER_STEP,
    progress: Callable[[int, int], None] | None = None,
) -> Backup:
    """
    Copy the database at `source` to `target`, a new file. Conflict when `target` exists;
    InvalidInput when `source` is not there. `progress(remaining, total)` after each step.
    """
    if target.exists():
        raise Conflict(
            f"{target} exists already: give a new file for the backup", subject=Subject.FILE_EXISTS
        )
    if not source.is_file():
        raise InvalidInput(f"no database at {source}", subject=Subject.FILE_MISSING)
    if not target.parent.is_dir():
        raise InvalidInput(
            f"no directory {target.parent} for the backup", subject=Subject.FILE_MISSING
        )
    partial = target.with_name(f".{target.name}.{os.getpid()}.partial")
    os.close(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    try:
        pages = _copy(source, partial, pages_per_step, progress)
        _sync(partial)
        os.link(partial, target)  # fails, rather than replaces, if `target` appeared meanwhile
    except FileExistsError:
        raise Conflict(
            f"{target} exists already: give a new file for the backup", subject=Subject.FILE_EXISTS
        ) from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            partial.unlink()
    _sync(target.parent)
    return Backup(target, pages, target.stat().st_size)


def _copy(
    source: Path,
    partial: Path,
    pages_per_step: int,
    progress: Callable[[int, int], None] | None,
) -> int:
    # mode=rw: a missing file is an error, never a new empty database.
    reader = sqlite3.connect(f"file:{source}?mode=rw", uri=True, isolation_level=None)
    copy = sqlite3.connect(partial, isolation_level=None)
    total = 0

    def step(status: int, remaining: int, count: int) -> None:
        nonlocal total
        total = count
        if progress is not None:
            progress(remaining, count)

    try:
        reader.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        reader.execute("BEGIN")
        reader.execute("SELECT count(*) FROM sqlite_master").fetchall()  # the snapshot, held
        reader.backup(copy, pages=pages_per_step, progress=step)
        reader.execute("COMMIT")
        # One self-contained file: the gateway turns WAL on again when it opens a restore.
        copy.execute("PRAGMA journal_mode=DELETE")
        [(verdict,)] = copy.execute("PRAGMA quick_check").fetchall()
        if verdict != "ok":
            raise RuntimeError(f"the copy does not check out: {verdict}")
    finally:
        copy.close()
        reader.close()
    return total


def _sync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
