"""A real `quickotp` process for end-to-end tests: the CLI to set it up, serve to run it."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import OTP_PATTERN, TEST_SECRET


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Gateway:
    """One gateway installation in a temporary directory, and its server process."""

    root: Path
    extra_env: Mapping[str, str] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    runs: int = 0

    @property
    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "QUICKOTP_SECRET_KEY": TEST_SECRET,
            "QUICKOTP_DATABASE_URL": f"sqlite:///{self.root / 'quickotp.db'}",
            "QUICKOTP_SINK_FILE": str(self.sink),
            **self.extra_env,
        }

    @property
    def sink(self) -> Path:
        return self.root / "sms.jsonl"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def cli(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "quickotp", *args],
            input=stdin,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    def cli_json(self, *args: str) -> Any:
        done = self.cli(*args, "--json")
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    def create_operator(self, email: str, password: str) -> None:
        """An operator made with the CLI, the password typed on stdin."""
        made = self.cli(
            "operators", "create", "--email", email, "--password-stdin", stdin=password + "\n"
        )
        assert made.returncode == 0, made.stderr

    def setup_account(self, credit: int = 10_000_000) -> str:
        """Migrate, then an account with an approved OTP pattern; returns a new token."""
        assert self.cli("migrate").returncode == 0
        account = self.cli_json("accounts", "create", "--name", "shop", "--credit", str(credit))
        pattern = self.cli_json(
            "patterns", "create", "--account", str(account["id"]), "--text", OTP_PATTERN, "--otp"
        )
        self.cli_json("patterns", "approve", str(pattern["id"]))
        token: str = self.cli_json("tokens", "create", "--account", str(account["id"]))["token"]
        return token

    def start(self, **env: str) -> None:
        self.runs += 1
        with (self.root / f"server-{self.runs}.log").open("wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "quickotp", "serve", "--port", str(self.port)],
                env={**self.env, **env},
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 60  # a loaded machine starts a process slowly
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.logs()
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.1)
        raise AssertionError(f"the server did not come up:\n{self.logs()}")

    def kill(self) -> None:
        """SIGKILL: no shutdown hooks, no flushing, as a crash."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)

    def logs(self) -> str:
        return "".join(
            p.read_text(errors="replace") for p in sorted(self.root.glob("server-*.log"))
        )

    def delivered(self) -> list[dict[str, Any]]:
        if not self.sink.exists():
            return []
        return [json.loads(line) for line in self.sink.read_text().splitlines()]

    def wait_delivered(self, count: int, timeout: float = 30) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            lines = self.delivered()
            if len(lines) >= count:
                return lines
            time.sleep(0.1)
        raise AssertionError(
            f"{len(self.delivered())} of {count} delivered:\n{self.logs()[-3000:]}"
        )
