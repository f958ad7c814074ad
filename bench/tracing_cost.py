"""
What tracing costs SendQuickOTP: this tree with OTEL_EXPORTER_OTLP_ENDPOINT unset against the
tree before (`--base`, a git revision), interleaved, and this tree with tracing on.

    .venv/bin/python bench/tracing_cost.py [--base main] [--rounds 3] [--seconds 10]

Each run is `quickotp serve` of one tree on a fresh SQLite file (CPU 0), its dispatcher
delivering to a sink file, loaded by wrk at 64 connections sending to new numbers (CPU 1),
the guard's request rates off, as bench/rest_send.py runs it. The tree before is
`git archive`d into a temporary directory and put first on PYTHONPATH. With tracing on, spans
go over OTLP/HTTP to a sink in this process on 127.0.0.1 that answers 200 and counts bytes.
The figure to compare is the server's CPU time per answer; answers/s move with the machine.
Needs `wrk` and git.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tarfile
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from harness import (
    HERE,
    UNTHROTTLED,
    Load,
    free_port,
    quickotp_env,
    require_wrk,
    server,
    setup_account,
    wrk,
)

received = [0]  # bytes of spans the sink took


class Sink(BaseHTTPRequestHandler):
    """An OTLP/HTTP collector that keeps nothing: 200 to every POST, its size counted."""

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        received[0] += len(self.rfile.read(length))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


def base_tree(revision: str, into: Path) -> Path:
    """`revision`'s src/ unpacked under `into`; the directory to put on PYTHONPATH."""
    archive = subprocess.run(
        ["git", "-C", str(HERE.parent), "archive", revision, "src"],
        capture_output=True,
        check=True,
    ).stdout
    path = into / "archive.tar"
    path.write_bytes(archive)
    with tarfile.open(path) as tar:
        tar.extractall(into, filter="data")
    return into / "src"


def serve(name: str, extra: dict[str, str], seconds: int, first: int) -> Load:
    with tempfile.TemporaryDirectory() as tmp:
        env = quickotp_env(f"sqlite:///{tmp}/bench.db", Path(tmp) / "sms.jsonl", **UNTHROTTLED)
        env.update(extra)
        token = setup_account(env)
        port = free_port()
        argv = [sys.executable, "-m", "quickotp", "serve", "--port", str(port)]
        with server(argv, env, f"http://127.0.0.1:{port}/healthz") as process:
            load = wrk(
                f"http://127.0.0.1:{port}/rest/SendQuickOTP",
                connections=64,
                seconds=seconds,
                script="send_form_unique.lua",
                env={"QUICKOTP_BENCH_TOKEN": token, "QUICKOTP_BENCH_FIRST": str(first)},
                server_pid=process.pid,
            )
    print(f"{name}: {load.cpu_us:.0f} us/answer", file=sys.stderr)
    return load


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--base", default="main", help="the git revision before")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=10)
    args = parser.parse_args()
    require_wrk()
    sink = ThreadingHTTPServer(("127.0.0.1", 0), Sink)
    threading.Thread(target=sink.serve_forever, daemon=True).start()
    endpoint = f"http://127.0.0.1:{sink.server_address[1]}"
    with tempfile.TemporaryDirectory() as tmp:
        before = base_tree(args.base, Path(tmp))
        trees = {
            f"before ({args.base})": {"PYTHONPATH": str(before)},
            "this tree, tracing off": {},
            "this tree, tracing on": {
                "OTEL_EXPORTER_OTLP_ENDPOINT": endpoint,
                "OTEL_BSP_SCHEDULE_DELAY": "1000",
            },
        }
        results: dict[str, list[Load]] = {name: [] for name in trees}
        for round_ in range(args.rounds):
            for n, (name, extra) in enumerate(trees.items()):
                first = (round_ * len(trees) + n) * 1_000_000
                results[name].append(serve(name, extra, args.seconds, first))
    sink.shutdown()
    print(
        f"\nc=64, {args.seconds} s a run after 3 s warm-up, {args.rounds} rounds interleaved;"
        f" wrk -t1 on CPU 1, the server one process on CPU 0\n"
    )
    print(f"{'server':28} {'answers/s':>17} {'p99 ms':>13} {'CPU us/answer':>15} {'median':>7}")
    for name, loads in results.items():
        rps = "-".join(f"{x:,.0f}" for x in (min(r.rps for r in loads), max(r.rps for r in loads)))
        p99 = "-".join(
            f"{x:.0f}" for x in (min(r.p99_ms for r in loads), max(r.p99_ms for r in loads))
        )
        cpu = ", ".join(f"{r.cpu_us:.0f}" for r in loads)
        median = statistics.median(r.cpu_us for r in loads)
        print(f"{name:28} {rps:>17} {p99:>13} {cpu:>15} {median:7.0f}")
    print(f"\nspans received by the sink: {received[0]:,} bytes")


if __name__ == "__main__":
    main()
