"""
Shared pieces of the benchmarks: starting servers as separate processes (pinned to CPU 0
when `taskset` exists), loading them with wrk (pinned to CPU 1), and reading wrk's figures.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
SECRET = "bench-secret-key-not-for-production-0123456789"
UVICORN = [
    sys.executable,
    "-m",
    "uvicorn",
    "--loop",
    "uvloop",
    "--http",
    "httptools",
    "--no-access-log",
    "--log-level",
    "warning",
    "--host",
    "127.0.0.1",
]


@dataclass(frozen=True)
class Load:
    """What wrk measured in one run."""

    rps: float
    p50_ms: float
    p99_ms: float
    failures: int  # non-2xx answers and socket errors


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def pinned(cpu: int, argv: Sequence[str]) -> list[str]:
    """`argv` pinned to one CPU, when the machine has two and taskset exists."""
    if shutil.which("taskset") and (os.cpu_count() or 1) > 1:
        return ["taskset", "-c", str(cpu), *argv]
    return list(argv)


def require_wrk() -> None:
    if not shutil.which("wrk"):
        raise SystemExit("wrk is needed: apt-get install wrk")


@contextmanager
def server(
    argv: Sequence[str], env: Mapping[str, str], health_url: str, *, cpu: int | None = 0
) -> Iterator[subprocess.Popen[bytes]]:
    """A server process, up (its health URL answers) for the duration of the block."""
    command = pinned(cpu, argv) if cpu is not None else list(argv)
    process = subprocess.Popen(
        command, env=dict(env), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                raise SystemExit(f"{argv[2:4]} exited early with {process.returncode}")
            try:
                httpx.get(health_url, timeout=1)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise SystemExit(f"{health_url} did not come up") from None
                time.sleep(0.1)
        yield process
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


def wrk(
    url: str,
    *,
    connections: int,
    seconds: int,
    script: str = "send_form.lua",
    env: Mapping[str, str] | None = None,
    warmup: int = 3,
) -> Load:
    """One wrk run (after a warm-up run) of `script` against `url`."""
    base = ["wrk", "-t1", f"-c{connections}", "--latency", "-s", str(HERE / script)]
    environment = {**os.environ, **(env or {})}

    def run(duration: int) -> str:
        done = subprocess.run(
            pinned(1, [*base, f"-d{duration}s", url]),
            env=environment,
            capture_output=True,
            text=True,
            check=True,
        )
        return done.stdout

    if warmup:
        run(warmup)
    return parse_wrk(run(seconds))


def parse_wrk(out: str) -> Load:
    latency = {
        p: float(v) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]
        for p, v, unit in re.findall(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
    }
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if rps is None or set(latency) != {"50", "99"}:
        raise SystemExit(f"could not read wrk's output:\n{out}")
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    failures = (int(non_2xx.group(1)) if non_2xx else 0) + (
        sum(map(int, errors.groups())) if errors else 0
    )
    return Load(float(rps.group(1)), latency["50"], latency["99"], failures)


def quickotp_env(database_url: str, sink: Path, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "QUICKOTP_SECRET_KEY": SECRET,
        "QUICKOTP_DATABASE_URL": database_url,
        "QUICKOTP_SINK_FILE": str(sink),
        **extra,
    }


def quickotp(env: Mapping[str, str], *args: str) -> object:
    """Run the `quickotp` CLI with --json; its parsed output."""
    done = subprocess.run(
        [sys.executable, "-m", "quickotp", *args, "--json"],
        env=dict(env),
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout)


def setup_account(env: Mapping[str, str]) -> str:
    """Migrate, and make an unlimited account with an approved OTP pattern; a new token."""
    quickotp(env, "migrate")
    account = quickotp(env, "accounts", "create", "--name", "bench", "--unlimited")
    assert isinstance(account, dict)
    pattern = quickotp(
        env,
        "patterns",
        "create",
        "--account",
        str(account["id"]),
        "--otp",
        "--text",
        "کد ورود شما: %code%",
    )
    assert isinstance(pattern, dict)
    quickotp(env, "patterns", "approve", str(pattern["id"]))
    issued = quickotp(env, "tokens", "create", "--account", str(account["id"]))
    assert isinstance(issued, dict)
    return str(issued["token"])


def count_lines(path: Path) -> int:
    if not path.exists():
        return 0
    with path.open("rb") as lines:
        return sum(1 for _ in lines)


def table(rows: Sequence[tuple[str, Load]], yardstick: float) -> str:
    lines = [
        f"{'server':44} {'answers/s':>10} {'p50 ms':>8} {'p99 ms':>8} {'ratio':>6} {'fail':>6}"
    ]
    for name, load in rows:
        lines.append(
            f"{name:44} {load.rps:10.0f} {load.p50_ms:8.2f} {load.p99_ms:8.2f} "
            f"{load.rps / yardstick:6.2f} {load.failures:6d}"
        )
    return "\n".join(lines)
