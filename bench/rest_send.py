"""
SendQuickOTP answers/s against the bare ASGI hello-world, in one run, with the same tool.

    .venv/bin/python bench/rest_send.py [--connections 64] [--seconds 10]

Each server is one process (uvicorn with uvloop and httptools) on CPU 0; wrk runs on CPU 1
with the same Lua script and concurrency against both. QuickOTP runs on a temporary SQLite
file (WAL, synchronous=FULL, group commit) with its dispatcher delivering to a sink file, so
the figure includes delivering what was accepted. Between the two runs the floor
(bench/floor_asgi.py: the least any durable SendQuickOTP with in-process delivery must do,
on the same server and load) shows how much of the yardstick is reachable at all. The fraud
guard's request rates and its pumping rule are switched off (one client at 64 connections is
the whole load); its per-number cooldown and caps stay on. Besides answers/s, the server's
CPU time per answer is measured (from /proc), which holds steadier than answers/s when the
machine is busy with other work.
Needs `wrk` (Debian: apt-get install wrk).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

from harness import (
    HERE,
    SECRET,
    UNTHROTTLED,
    UVICORN,
    count_lines,
    free_port,
    quickotp_env,
    require_wrk,
    server,
    setup_account,
    table,
    wrk,
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--seconds", type=int, default=10)
    args = parser.parse_args()
    require_wrk()
    load = {"connections": args.connections, "seconds": args.seconds}

    port = free_port()
    hello_argv = [*UVICORN, "--app-dir", str(HERE), "--port", str(port), "hello_asgi:app"]
    with server(hello_argv, {}, f"http://127.0.0.1:{port}/") as process:
        hello = wrk(f"http://127.0.0.1:{port}/rest/SendQuickOTP", **load, server_pid=process.pid)

    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        env = {
            **os.environ,
            "FLOOR_DATABASE": f"{tmp}/floor.db",
            "FLOOR_SINK": f"{tmp}/floor.jsonl",
            "FLOOR_TOKEN": SECRET,
        }
        floor_argv = [*UVICORN, "--app-dir", str(HERE), "--port", str(port), "floor_asgi:app"]
        with server(floor_argv, env, f"http://127.0.0.1:{port}/") as process:
            floor = wrk(
                f"http://127.0.0.1:{port}/rest/SendQuickOTP",
                **load,
                env={"QUICKOTP_BENCH_TOKEN": SECRET},
                server_pid=process.pid,
            )
        floor_delivered = count_lines(Path(tmp) / "floor.jsonl")

    with tempfile.TemporaryDirectory() as tmp:
        sink = Path(tmp) / "sms.jsonl"
        env = quickotp_env(f"sqlite:///{tmp}/bench.db", sink, **UNTHROTTLED)
        token = setup_account(env)
        port = free_port()
        argv = [sys.executable, "-m", "quickotp", "serve", "--port", str(port)]
        with server(argv, env, f"http://127.0.0.1:{port}/healthz") as process:
            otp = wrk(
                f"http://127.0.0.1:{port}/rest/SendQuickOTP",
                **load,
                env={"QUICKOTP_BENCH_TOKEN": token},
                server_pid=process.pid,
            )
        delivered = count_lines(sink)

    print(
        f"\nc={args.connections}, {args.seconds} s a run after 3 s warm-up; wrk -t1 on CPU 1, "
        "each server one process on CPU 0\n"
    )
    rows = [
        ("hello-world, raw ASGI on uvicorn", hello),
        ("floor: durable accept + delivery only", floor),
        ("SendQuickOTP, SQLite, 1 process", otp),
    ]
    print(table(rows, hello))
    print(
        f"\nSMS delivered to the sinks by the end of the runs: floor {floor_delivered},"
        f" SendQuickOTP {delivered}"
    )


if __name__ == "__main__":
    main()
