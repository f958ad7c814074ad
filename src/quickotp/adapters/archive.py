"""
A prune's archive: JSON lines, gzip, in a new file readable by its owner only (it holds
phone numbers).

Each batch is appended as a gzip member of its own and synced to disk before the call
returns, so the file holds whole batches only, up to the last one a crash may cut short
(whose rows were not deleted: the prune deletes a batch after its write returns).
`gzip -dc FILE` and Python's gzip module read the members as one stream of lines.
"""

from __future__ import annotations

import asyncio
import gzip
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson

from quickotp.domain.errors import Conflict, Subject


class JsonLinesArchive:
    """Appends records as JSON lines to a gzip file it created (never one that existed)."""

    def __init__(self, fd: int, path: Path) -> None:
        self._fd = fd
        self.path = path

    @classmethod
    def create(cls, path: Path) -> JsonLinesArchive:
        """A new archive at `path`, mode 0600; Conflict when the file exists already."""
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o600)
        except FileExistsError:
            raise Conflict(
                f"{path} exists already: give a new file for the archive",
                subject=Subject.FILE_EXISTS,
            ) from None
        return cls(fd, path)

    async def write(self, records: Sequence[dict[str, Any]]) -> None:
        if records:
            lines = b"".join(orjson.dumps(record) + b"\n" for record in records)
            await asyncio.to_thread(self._append, lines)

    def _append(self, lines: bytes) -> None:
        view = memoryview(gzip.compress(lines, mtime=0))
        while view:
            view = view[os.write(self._fd, view) :]
        os.fsync(self._fd)

    def close(self) -> None:
        os.close(self._fd)
