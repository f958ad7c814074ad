"""
Amoot's samples against a real `quickotp serve` on 127.0.0.1: php-cli runs the PHP ones,
Mono the C# ones (compiled once a session into one program). Each test module has its own
server, set up as catalog.py describes, behind a Relay that keeps what it answered.

Without php or mono the tests are skipped; with QUICKOTP_REQUIRE_SERVICES=1 (CI, which
installs them with .ci/install-samples) they fail instead.
"""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from quickotp.adapters.store.migrate import upgrade
from quickotp.bootstrap import build_runtime
from tests.conftest import OTP_PATTERN, REQUIRE_SERVICES, make_settings
from tests.e2e.server import Gateway, free_port
from tests.samples.catalog import SAMPLES, Sample, sample_text
from tests.samples.relay import Answer, Relay

HERE = Path(__file__).parent
# Amoot's published samples, as published: third-party text, never edited to suit us.
PUBLISHED = HERE / "vendor"
AMOOT = "https://portal.amootsms.com"
THEIR_SITE = "http://Mysite.com"  # the relay URL the samples register
TOKEN = "MyToken"
# An Iranian client's clock: the samples' DateTime.Now and PHP's default time zone.
CLIENT_ZONE = "Asia/Tehran"
RUN_SECONDS = 60


def tool_missing(name: str) -> None:
    """Skip for want of a sample runner; in CI (QUICKOTP_REQUIRE_SERVICES=1) fail instead."""
    message = f"{name} is not installed (.ci/install-samples installs it)"
    if REQUIRE_SERVICES:
        pytest.fail(message)
    pytest.skip(message)


@dataclass
class SampleServer:
    """A gateway set up for the samples, the relay in front of it and the samples' token."""

    gateway: Gateway
    relay: Relay
    token: str
    receiver: str  # where the samples' relay URL points: 127.0.0.1, nothing listening

    def answer(self) -> Answer:
        """The one answer the last sample got (waits for its connection to be closed)."""
        deadline = time.monotonic() + 5
        while not (found := self.relay.answers()) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert len(found) == 1, f"{len(found)} answers relayed:\n{self.gateway.logs()[-2000:]}"
        self.relay.clear()
        return found[0]


@pytest.fixture(scope="module")
def sample_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SampleServer]:
    gateway = Gateway(
        tmp_path_factory.mktemp("samples"),
        extra_env={
            "QUICKOTP_WEBHOOK_PRIVATE_URLS": "1",  # the samples' relay URL is on 127.0.0.1
            "QUICKOTP_GUARD_IDEMPOTENCY_SECONDS": "0",
            "QUICKOTP_GUARD_COOLDOWN_SECONDS": "0",
            "QUICKOTP_GUARD_PER_NUMBER_HOUR": "0",
            "QUICKOTP_GUARD_PER_NUMBER_DAY": "0",
        },
    )
    token = _set_up(gateway)
    relay = Relay(gateway.port)
    relay.start()
    try:
        _arrange_message_ids(gateway, token)
        yield SampleServer(gateway, relay, token, f"http://127.0.0.1:{free_port()}")
    finally:
        relay.stop()
        gateway.stop()


def _set_up(gateway: Gateway) -> str:
    """
    Migrate; the samples' account with patterns 1 (two variables) and 2 (OTP) and the
    free-text permission, a filler account; the samples' token. In this process: a CLI call
    a step took a minute on a busy machine.
    """

    async def seed() -> str:
        runtime = build_runtime(make_settings(gateway.env["QUICKOTP_DATABASE_URL"]), dispatch=False)
        await upgrade(runtime.engines)
        try:
            admin = runtime.admin
            account = await admin.create_account(name="shop", credit=10**8, sender="10004321")
            await admin.set_free_text(account.id, True)
            await admin.create_account(name="filler")
            for text, otp in (("پیام %p1% و %p2%", False), (OTP_PATTERN, True)):
                pattern = await runtime.gateway.create_account_pattern(
                    account.id, text=text, is_otp=otp, capped=False
                )
                await admin.approve_pattern(pattern.id)
            return (await admin.issue_token(account_id=account.id)).secret
        finally:
            await runtime.aclose()

    token = asyncio.run(seed())
    gateway.start()
    return token


def _arrange_message_ids(gateway: Gateway, token: str) -> None:
    """Messages 1000, 10001 and 10002 of the samples' account: a delivered message of the
    filler account takes the id before each, then the samples' account sends."""
    for filler_id, sends in ((999, 1), (10000, 2)):
        _filler_message(gateway.root / "quickotp.db", filler_id)
        for _ in range(sends):
            answer = httpx.post(
                f"{gateway.url}/rest/SendQuickOTP",
                headers={"Authorization": token},
                data={"Mobile": "09121112233", "CodeLength": "5"},
                timeout=10,
            ).json()
            assert answer["Data"]["MessageID"] in (1000, 10001, 10002), answer


def _filler_message(database: Path, message_id: int) -> None:
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    with sqlite3.connect(database, timeout=10) as conn:
        conn.execute(
            "INSERT INTO messages (id, account_id, mobile, sender, text, encoding, parts, cost,"
            " charged, status, attempts, possible_duplicate, next_attempt_at, expires_at,"
            " created_at) VALUES (?, 2, '989120000000', '1', 'filler', 'gsm7', 1, 0, 0,"
            " 'delivered', 1, 0, ?, ?, ?)",
            (message_id, now, now, now),
        )


def prepared(text: str, server: SampleServer) -> str:
    """A sample's text with the host and the token changed, and nothing else."""
    return (
        text.replace(AMOOT, server.relay.url)
        .replace(THEIR_SITE, server.receiver)
        .replace(TOKEN, server.token)
    )


def published(sample: Sample, language: str, extension: str) -> str:
    text = (PUBLISHED / language / f"{sample.method}.{extension}").read_text(encoding="utf-8")
    return sample_text(text, sample, language)


# C#: every sample compiled once, into one program that runs the one named -----------------


@dataclass(frozen=True)
class CSharpBuild:
    program: Path
    mono: str


@pytest.fixture(scope="session")
def csharp_build(tmp_path_factory: pytest.TempPathFactory) -> CSharpBuild:
    mcs, mono = shutil.which("mcs"), shutil.which("mono")
    if mcs is None or mono is None:
        tool_missing("mono (mcs and mono)")
        raise AssertionError("unreachable")
    folder = tmp_path_factory.mktemp("csharp")
    source = folder / "samples.cs"
    source.write_text(csharp_program(SAMPLES), encoding="utf-8")
    program = folder / "samples.exe"
    done = subprocess.run(
        [mcs, "-nologo", "-warn:0", f"-out:{program}", str(source)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return CSharpBuild(program, mono)


def csharp_program(samples: tuple[Sample, ...]) -> str:
    """
    Each sample's statements as the body of a method of its own; the host and the token
    come from the environment, so one build serves every server of the session.
    """
    classes = []
    for sample in samples:
        text = published(sample, "csharp", "cs")
        text = (
            text.replace(f'"{AMOOT}', 'SampleHost.Amoot + "')
            .replace(f'"{THEIR_SITE}', 'SampleHost.TheirSite + "')
            .replace(f'"{TOKEN}"', "SampleHost.Token")
        )
        classes.append(
            f"static class {sample.method}\n{{\npublic static void Run()\n{{\n{text}\n}}\n}}"
        )
    cases = "\n".join(f'case "{s.method}": {s.method}.Run(); return 0;' for s in samples)
    return f"""using System;
using System.Text;
namespace QuickOtpSamples
{{
static class SampleHost
{{
    public static readonly string Amoot = Environment.GetEnvironmentVariable("SAMPLE_AMOOT");
    public static readonly string TheirSite = Environment.GetEnvironmentVariable("SAMPLE_SITE");
    public static readonly string Token = Environment.GetEnvironmentVariable("SAMPLE_TOKEN");
}}
{chr(10).join(classes)}
static class Program
{{
    static int Main(string[] args)
    {{
        switch (args[0])
        {{
{cases}
        }}
        return 2;
    }}
}}
}}
"""


def run_csharp(build: CSharpBuild, server: SampleServer, sample: Sample) -> Answer:
    done = subprocess.run(
        [build.mono, str(build.program), sample.method],
        env={
            "PATH": "/usr/bin:/bin",
            "TZ": CLIENT_ZONE,
            "SAMPLE_AMOOT": server.relay.url,
            "SAMPLE_SITE": server.receiver,
            "SAMPLE_TOKEN": server.token,
        },
        capture_output=True,
        text=True,
        timeout=RUN_SECONDS,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return server.answer()


# PHP ---------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def php() -> str:
    found = shutil.which("php")
    if found is None:
        tool_missing("php-cli")
        raise AssertionError("unreachable")
    return found


def run_php(php: str, folder: Path, server: SampleServer, sample: Sample) -> Answer:
    text = prepared(published(sample, "php", "php"), server)
    script = folder / f"{sample.method}.php"
    script.write_text(text if text.startswith("<?php") else "<?php\n" + text, encoding="utf-8")
    done = subprocess.run(
        [php, "-d", f"date.timezone={CLIENT_ZONE}", "-d", "display_errors=stderr", str(script)],
        capture_output=True,
        text=True,
        timeout=RUN_SECONDS,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert not done.stderr, done.stderr  # not even a warning
    answer = server.answer()
    assert done.stdout == answer.body.decode(), "the sample printed what it was answered"
    return answer
