"""
Shared pieces of the benchmarks: starting servers as separate processes (pinned to CPU 0
when `taskset` exists), loading them with wrk (pinned to CPU 1), and reading wrk's figures.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Any

import httpx

HERE = Path(__file__).resolve().parent
SECRET = "bench-secret-key-not-for-production-0123456789"
# One load generator is all the traffic: the guard's request rates and pumping rule off.
UNTHROTTLED = {
    "QUICKOTP_GUARD_ACCOUNT_RATE": "0",
    "QUICKOTP_GUARD_TOKEN_RATE": "0",
    "QUICKOTP_GUARD_IP_RATE": "0",
    "QUICKOTP_GUARD_PUMPING": "off",
}
UVICORN = [
    sys.executable,
    "-m",
    "uvicorn",
    "--loop",
    "uvloop",
    "--http",  # the HTTP protocol `quickotp serve` runs, so the baselines share its server
    "quickotp.web.protocol:ProblemHttpToolsProtocol",
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
    cpu_us: float = 0.0  # server CPU time (all its processes) per answer, when measured

    def with_cpu(self, seconds: float, duration: float) -> Load:
        answers = self.rps * duration
        return dataclasses.replace(self, cpu_us=seconds / answers * 1e6 if answers else 0.0)


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
        terminate(process)


def terminate(process: subprocess.Popen[Any], seconds: float = 20) -> None:
    """End `process`: SIGTERM, and SIGKILL when it has not ended `seconds` later."""
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(seconds)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)


def _stat(path: Path) -> tuple[int, float]:
    """(parent pid, CPU seconds: user + system) from a /proc `stat` file."""
    text = path.read_text()
    fields = text[text.rindex(")") + 2 :].split()  # after the command, which may hold spaces
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) of a process and all its descendants, from /proc."""
    parents: dict[int, int] = {}
    times: dict[int, float] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parent, seconds = _stat(stat)
        except OSError:
            continue
        child = int(stat.parent.name)
        parents[child] = parent
        times[child] = seconds
    total, family = 0.0, {pid}
    for child in sorted(times):
        if child in family or parents.get(child) in family:
            family.add(child)
            total += times[child]
    return total


@dataclass(frozen=True)
class ThreadCpu:
    """CPU time (user + system, seconds) of a process: its main thread, and all of it."""

    main: float  # the first thread: a server's event loop
    total: float  # every thread, including those that have ended

    @property
    def others(self) -> float:
        return self.total - self.main

    def __sub__(self, before: ThreadCpu) -> ThreadCpu:
        return ThreadCpu(self.main - before.main, self.total - before.total)


def thread_cpu(pid: int) -> ThreadCpu:
    """ThreadCpu of one process (not its children), from /proc."""
    _, main = _stat(Path(f"/proc/{pid}/task/{pid}/stat"))
    _, total = _stat(Path(f"/proc/{pid}/stat"))
    return ThreadCpu(main=main, total=total)


def wrk_command(connections: int, script: str) -> list[str]:
    """wrk on one thread, `connections` connections running bench/`script`; -d and URL to add."""
    return ["wrk", "-t1", f"-c{connections}", "--latency", "-s", str(HERE / script)]


def run_wrk(
    command: Sequence[str], seconds: int, url: str, env: Mapping[str, str], *, check: bool = False
) -> subprocess.CompletedProcess[str]:
    """One run of wrk's `command` against `url` for `seconds`, pinned to CPU 1."""
    return subprocess.run(
        pinned(1, [*command, f"-d{seconds}s", url]),
        env=env,
        capture_output=True,
        text=True,
        check=check,
    )


def send_form_load(connections: int, rate: float, token: str) -> tuple[list[str], dict[str, str]]:
    """
    wrk's command and environment for SendQuickOTP with `token`: as fast as it answers
    (send_form.lua), or (`rate` above 0) about `rate` requests a second in all
    (send_form_paced.lua, each connection waiting its share between requests).
    """
    script = "send_form_paced.lua" if rate else "send_form.lua"
    env = {
        **os.environ,
        "QUICKOTP_BENCH_TOKEN": token,
        "QUICKOTP_BENCH_DELAY_MS": str(round(connections * 1000 / rate)) if rate else "0",
    }
    return wrk_command(connections, script), env


def wrk(
    url: str,
    *,
    connections: int,
    seconds: int,
    script: str = "send_form.lua",
    env: Mapping[str, str] | None = None,
    warmup: int = 3,
    server_pid: int | None = None,
) -> Load:
    """
    One wrk run (after a warm-up run) of `script` against `url`; with `server_pid`, also
    the server's CPU time per answer (steadier than answers/s on a shared machine).
    """
    base = wrk_command(connections, script)
    environment = {**os.environ, **(env or {})}

    def run(duration: int) -> str:
        return run_wrk(base, duration, url, environment, check=True).stdout

    if warmup:
        run(warmup)
    before = cpu_seconds(server_pid) if server_pid else 0.0
    load = parse_wrk(run(seconds))
    if server_pid:
        load = load.with_cpu(cpu_seconds(server_pid) - before, seconds)
    return load


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


# The benchmarks read /metrics on the API's port, which serves it to this bearer token only.
METRICS_TOKEN = "bench-metrics-token-0123456789"
METRICS_HEADERS = {"Authorization": f"Bearer {METRICS_TOKEN}"}


def quickotp_env(database_url: str, sink: Path, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "QUICKOTP_SECRET_KEY": SECRET,
        "QUICKOTP_DATABASE_URL": database_url,
        "QUICKOTP_SINK_FILE": str(sink),
        "QUICKOTP_METRICS_ADDRESS": "",  # several servers at once: none on the shared address
        "QUICKOTP_METRICS_TOKEN": METRICS_TOKEN,
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


def longest_pause(moments: Iterable[float]) -> tuple[float, float]:
    """
    The longest time between two consecutive `moments` (seconds, any order), and when it
    began: (0.0, 0.0) for fewer than two. A stall that a p99 hides shows here.
    """
    ordered = sorted(moments)
    gaps = ((later - earlier, earlier) for earlier, later in pairwise(ordered))
    return max(gaps, default=(0.0, 0.0))


def count_lines(path: Path) -> int:
    if not path.exists():
        return 0
    with path.open("rb") as lines:
        return sum(1 for _ in lines)


def table(rows: Sequence[tuple[str, Load]], yardstick: Load) -> str:
    """
    The runs side by side: answers/s and its ratio to the yardstick's, and the server's CPU
    per answer and the yardstick's CPU per answer divided by it (1.0 = as cheap as hello).
    """
    lines = [
        f"{'server':40} {'answers/s':>9} {'p50 ms':>7} {'p99 ms':>7} {'ratio':>6}"
        f" {'CPU us':>7} {'CPU ratio':>9} {'fail':>5}"
    ]
    for name, load in rows:
        cpu_ratio = yardstick.cpu_us / load.cpu_us if load.cpu_us else 0.0
        lines.append(
            f"{name:40} {load.rps:9.0f} {load.p50_ms:7.2f} {load.p99_ms:7.2f} "
            f"{load.rps / yardstick.rps:6.2f} {load.cpu_us:7.0f} {cpu_ratio:9.2f}"
            f" {load.failures:5d}"
        )
    return "\n".join(lines)
