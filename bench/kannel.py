"""
QuickOTP beside Kannel, end to end over SMPP: the same HTTP load, the same SMSC simulator,
the same window, and what each passes on to the SMSC a second.

    .venv/bin/python bench/kannel.py [--seconds 20] [--connections 64] [--window 50]

Kannel (Debian's `kannel` package: bearerbox + smsbox) and `quickotp serve` (SQLite, one smpp
route, one transceiver bind) run in turn on CPU 0, each against a fresh smpp34 simulator
(tests/adapters/transports/smpp/smsc_sim.py, receipts on) with at most `--window` submit_sm
outstanding, loaded by wrk on CPU 1 at `--connections` connections: Kannel's
`/cgi-bin/sendsms` (bench/kannel_send.lua) and QuickOTP's `/rest/SendQuickOTP`
(bench/send_form.lua), each a new number a request with a Persian OTP text (UCS-2) and
receipts asked for. The figure that compares them is what reached
the SMSC during the load: submit_sm answered a second, counted by the simulator. Besides it,
each row shows the HTTP answers a second, and how many answered requests had not reached the
SMSC when the load stopped (Kannel queues in memory without bound; QuickOTP answers only what
its admission control expects to deliver in time and keeps the rest in its table).
Without Kannel's binaries the Kannel row is skipped with a message. Bounded: each load runs
`--seconds`, each drain waits at most 30 s, every process started here is stopped by its id.
Needs `wrk` (Debian: apt-get install wrk).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from e2e_smpp import serving, smpp_service
from harness import (
    free_port,
    parse_wrk,
    pinned,
    require_wrk,
    run_wrk,
    wrk_command,
)
from smpp_client import SIMULATOR

DRAIN_SECONDS = 30.0


class Simulator:
    """The SMSC simulator as a process, with the count of submit_sm it has answered."""

    def __init__(self) -> None:
        self.port = free_port()
        self.accepted = 0
        self._process = subprocess.Popen(
            [sys.executable, str(SIMULATOR), "--port", str(self.port), "--receipts", "--report"],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self._process.stdout is not None
        if self._process.stdout.readline().strip() != "READY":
            raise SystemExit("the SMSC simulator did not start")
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self._process.stdout is not None
        for line in self._process.stdout:
            name, _, value = line.partition(" ")
            if name == "ACCEPTED":
                self.accepted = int(value)

    def wait_for(self, count: int, limit: float) -> float:
        """Seconds until `count` submit_sm were answered (or `limit`, if never)."""
        start = time.monotonic()
        while self.accepted < count and time.monotonic() - start < limit:
            time.sleep(0.1)
        return time.monotonic() - start

    def wait_settled(self, limit: float) -> None:
        """Until no submit_sm came for a second (or `limit` seconds)."""
        deadline = time.monotonic() + limit
        seen = -1
        while self.accepted != seen and time.monotonic() < deadline:
            seen = self.accepted
            time.sleep(1)

    def stop(self) -> None:
        self._process.kill()
        self._process.wait()


@contextmanager
def simulator() -> Iterator[Simulator]:
    smsc = Simulator()
    try:
        yield smsc
    finally:
        smsc.stop()


@dataclass(frozen=True)
class Row:
    name: str
    answers_per_s: float  # HTTP answers wrk counted, a second
    answered: int
    submits_per_s: float  # submit_sm answered by the SMSC during the load, a second
    backlog: int  # answered but not at the SMSC when the load stopped
    drain_s: float  # seconds after the load until the SMSC had them all (or the bound)
    failures: int
    load: float  # the machine's 1-minute load average when the load stopped


def load(
    url: str,
    script: str,
    connections: int,
    seconds: int,
    smsc: Simulator,
    env: dict[str, str] | None = None,
) -> Row:
    """A warm-up, then one measured wrk run against `url`, counted at the SMSC."""
    base = wrk_command(connections, script)
    environment = {**os.environ, **(env or {})}
    run_wrk(base, 2, url, environment)  # the warm-up
    smsc.wait_settled(DRAIN_SECONDS)  # the warm-up's queue is not counted as the run's
    start_count, start = smsc.accepted, time.monotonic()
    done = run_wrk(base, seconds, url, environment)
    elapsed = time.monotonic() - start
    end_count = smsc.accepted
    busy = os.getloadavg()[0]
    if done.returncode:
        raise SystemExit(f"wrk failed:\n{done.stdout}{done.stderr}")
    measured = parse_wrk(done.stdout)
    answered = round(measured.rps * seconds)
    reached = end_count - start_count
    drain = smsc.wait_for(start_count + answered, DRAIN_SECONDS)
    return Row(
        name="",
        answers_per_s=measured.rps,
        answered=answered,
        submits_per_s=reached / elapsed,
        backlog=max(answered - reached, 0),
        drain_s=drain,
        failures=measured.failures,
        load=busy,
    )


def quickotp_row(connections: int, seconds: int, window: int) -> Row:
    with tempfile.TemporaryDirectory() as tmp, simulator() as smsc:
        env, token = smpp_service(Path(tmp) / "bench.db", smsc.port, window)
        port = free_port()
        argv = [sys.executable, "-m", "quickotp", "serve", "--port", str(port)]
        with serving(argv, env, f"http://127.0.0.1:{port}/healthz", Path(tmp) / "serve.log"):
            row = load(
                f"http://127.0.0.1:{port}/rest/SendQuickOTP",
                "send_form.lua",
                connections,
                seconds,
                smsc,
                {"QUICKOTP_BENCH_TOKEN": token},
            )
    return dataclasses.replace(row, name="QuickOTP, SendQuickOTP (SQLite, 1 process)")


KANNEL_CONF = """\
group = core
admin-port = {admin}
admin-password = bench
smsbox-port = {smsbox}
log-level = 4
log-file = "{dir}/bearerbox.log"
dlr-storage = internal

group = smsc
smsc = smpp
smsc-id = sim
host = 127.0.0.1
port = {smsc}
transceiver-mode = true
smsc-username = bench
smsc-password = secret
system-type = ""
max-pending-submits = {window}
msg-id-type = 0x03
enquire-link-interval = 30

group = smsbox
bearerbox-host = 127.0.0.1
bearerbox-port = {smsbox}
sendsms-port = {sendsms}
sendsms-interface = 127.0.0.1
log-level = 4
log-file = "{dir}/smsbox.log"

group = sendsms-user
username = bench
password = bench
max-messages = 1

group = sms-service
keyword = default
text = "ok"
"""


@contextmanager
def kannel(smsc_port: int, window: int, tmp: Path) -> Iterator[int]:
    """bearerbox and smsbox on CPU 0, bound to the simulator; Kannel's sendsms port."""
    ports = {"admin": free_port(), "smsbox": free_port(), "sendsms": free_port()}
    conf = tmp / "kannel.conf"
    conf.write_text(KANNEL_CONF.format(**ports, smsc=smsc_port, window=window, dir=tmp))
    processes: list[subprocess.Popen[bytes]] = []
    try:
        for box in ("bearerbox", "smsbox"):
            binary = shutil.which(box) or f"/usr/sbin/{box}"
            processes.append(
                subprocess.Popen(
                    pinned(0, [binary, str(conf)]),
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
            time.sleep(1)
        deadline = time.monotonic() + 30
        status = f"http://127.0.0.1:{ports['admin']}/status.txt?password=bench"
        while "online" not in _get(status):  # the SMSC bound
            if time.monotonic() > deadline:
                raise SystemExit(
                    f"Kannel did not bind:\n{(tmp / 'bearerbox.log').read_text()[-6000:]}"
                )
            time.sleep(0.2)
        yield ports["sendsms"]
    finally:
        for process in reversed(processes):
            process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)


def _get(url: str) -> str:
    try:
        return httpx.get(url, timeout=1).text
    except httpx.TransportError:
        return ""


def kannel_binaries() -> bool:
    boxes = ("bearerbox", "smsbox")
    return all(shutil.which(box) or Path(f"/usr/sbin/{box}").exists() for box in boxes)


def kannel_row(connections: int, seconds: int, window: int) -> Row:
    with (
        tempfile.TemporaryDirectory() as tmp,
        simulator() as smsc,
        kannel(smsc.port, window, Path(tmp)) as port,
    ):
        row = load(
            f"http://127.0.0.1:{port}/cgi-bin/sendsms",
            "kannel_send.lua",
            connections,
            seconds,
            smsc,
        )
    return dataclasses.replace(row, name="Kannel, sendsms (bearerbox + smsbox)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--window", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=1, help="Kannel, QuickOTP, in turn")
    args = parser.parse_args()
    require_wrk()
    if not kannel_binaries():
        print("Kannel is not installed (Debian: apt-get install kannel): its row is skipped.")
    rows: list[Row] = []
    for _ in range(args.rounds):
        if kannel_binaries():
            rows.append(kannel_row(args.connections, args.seconds, args.window))
        rows.append(quickotp_row(args.connections, args.seconds, args.window))
    print(
        f"\nwrk -c{args.connections} for {args.seconds} s on CPU 1, each gateway on CPU 0,"
        f" smpp34's simulator unpinned, window {args.window}, receipts on; load: the 1-minute"
        " load average when the load stopped\n"
    )
    print(
        f"{'gateway':44} {'answers/s':>9} {'submit_sm/s':>11} {'backlog':>8}"
        f" {'drain s':>7} {'fail':>5} {'load':>5}"
    )
    for row in rows:
        print(
            f"{row.name:44} {row.answers_per_s:9.0f} {row.submits_per_s:11.0f}"
            f" {row.backlog:8d} {row.drain_s:7.1f} {row.failures:5d} {row.load:5.1f}"
        )
    kannels = [row.submits_per_s for row in rows if row.name.startswith("Kannel")]
    ours = [row.submits_per_s for row in rows if row.name.startswith("QuickOTP")]
    if kannels and ours:
        pairs = ", ".join(f"{q / k:.2f}" for q, k in zip(ours, kannels, strict=True))
        print(f"\nQuickOTP's submit_sm/s over Kannel's, round by round: {pairs}")


if __name__ == "__main__":
    main()
