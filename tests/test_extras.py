"""The PostgreSQL and Redis drivers are extras: without them the embedded gateway runs, and a
configuration that needs one says which extra to install."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

# A fresh interpreter in which importing asyncpg or redis fails, as where they are not installed.
PROBE = """
import sys
sys.modules["asyncpg"] = None
sys.modules["redis"] = None
from quickotp.bootstrap import build_runtime
from quickotp.domain.errors import ConfigurationError
from quickotp.settings import Settings

def runtime(**env):
    base = {"QUICKOTP_SECRET_KEY": "k" * 43, "QUICKOTP_DATABASE_URL": "sqlite:///{db}"}
    return build_runtime(Settings.from_env(base | env), dispatch=False)

runtime()
print("sqlite: ok")
for env in ({"QUICKOTP_DATABASE_URL": "postgresql://127.0.0.1/x"},
            {"QUICKOTP_REDIS_URL": "redis://127.0.0.1:6379/0"}):
    try:
        runtime(**env)
    except ConfigurationError as exc:
        print(exc)
"""


@pytest.mark.slow
def test_the_embedded_gateway_needs_no_extra_and_others_name_theirs(tmp_path: Path) -> None:
    """SQLite and the in-process guard need neither driver; PostgreSQL and Redis name theirs."""
    probe = PROBE.replace("{db}", str(tmp_path / "q.db"))
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )

    assert done.stdout.splitlines() == [
        "sqlite: ok",
        "this configuration needs asyncpg: pip install 'quickotp[postgres]'",
        "this configuration needs redis: pip install 'quickotp[redis]'",
    ]
