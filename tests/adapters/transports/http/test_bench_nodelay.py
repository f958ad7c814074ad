"""bench/nodelay.py (the bare smpp34 baseline's TCP_NODELAY) leaves file locks alone (SQLite's)."""

from __future__ import annotations

import fcntl
import subprocess
import sys
from pathlib import Path

from nodelay import tune_sockets

PROBE = """
import fcntl, sys
with open(sys.argv[1], "r+b") as f:
    try:
        fcntl.lockf(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        print("locked")
    else:
        print("free")
"""


def other_process_sees(path: Path) -> str:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(path)], capture_output=True, text=True, timeout=30
    )
    return done.stdout.strip()


def test_tuning_sockets_keeps_posix_locks_on_files(tmp_path: Path) -> None:
    """
    Closing any descriptor of a file drops the process's POSIX locks on it: tune_sockets
    must never duplicate a file's descriptor (it did, and SQLite's locks went, then its -shm).
    """
    path = tmp_path / "db"
    path.write_bytes(b"\0" * 16)
    with path.open("r+b") as held:
        fcntl.lockf(held, fcntl.LOCK_SH)
        assert other_process_sees(path) == "locked"

        tune_sockets({"127.0.0.1"}, 1)

        assert other_process_sees(path) == "locked"
