"""
Shared fixtures: databases (SQLite always; PostgreSQL when QUICKOTP_TEST_POSTGRES_URL is set),
a migrated runtime, a seeded account with an approved OTP pattern and a token, and the
real ASGI app behind an in-process httpx client.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import uuid
from collections.abc import AsyncIterator, Generator, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

import asyncpg
import httpx
import pytest
from sqlalchemy.engine import make_url

from quickotp.adapters.store.migrate import upgrade
from quickotp.bootstrap import Runtime, build_runtime
from quickotp.settings import Settings
from quickotp.web.app import create_app

POSTGRES_URL = os.environ.get("QUICKOTP_TEST_POSTGRES_URL", "")
REDIS_URL = os.environ.get("QUICKOTP_TEST_REDIS_URL", "")
REQUIRE_SERVICES = os.environ.get("QUICKOTP_REQUIRE_SERVICES", "") == "1"
TEST_SECRET = "test-secret-key-0123456789-abcdefghijklmnop"
OTP_PATTERN = "کد ورود شما: %code%"
# A public address the test names resolve to. Nothing ever connects to it: the runtimes
# here run no webhook worker, and tests that post use receivers on 127.0.0.1.
PUBLIC_ADDRESS = "93.184.215.14"


class NamesResolver:
    """
    A resolver for tests that asks no DNS: each name answers its list of answers in turn
    (the last one again and again); any other name does not resolve. `asked` keeps the
    names in the order they were looked up.
    """

    def __init__(self, names: Mapping[str, Sequence[Sequence[str]]]) -> None:
        self.names = {name: list(answers) for name, answers in names.items()}
        self.asked: list[str] = []

    async def resolve(self, host: str, port: int) -> list[str]:
        self.asked.append(host)
        answers = self.names.get(host.lower().rstrip("."))
        if not answers:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return list(answers.pop(0) if len(answers) > 1 else answers[0])


def known_names() -> NamesResolver:
    """The names the tests' relay and webhook URLs use, each resolving to PUBLIC_ADDRESS."""
    names = ("shop.example", "o.example", "a.example", "b.example", "shop.test")
    return NamesResolver({name: [[PUBLIC_ADDRESS]] for name in names})


@pytest.hookimpl(wrapper=True)
def pytest_timeout_set_timer(
    item: pytest.Item, settings: object
) -> Generator[None, object, object]:
    """
    pytest-timeout's SIGALRM shows the threads' stacks, which for a hung async test is the
    event loop idle in select; first print where every asyncio task of the loop waits.
    """
    result = yield
    timeout_handler = signal.getsignal(signal.SIGALRM)
    if callable(timeout_handler):

        def tasks_then_timeout(signum: int, frame: FrameType | None) -> None:
            loop = asyncio.events._get_running_loop()
            tasks = asyncio.all_tasks(loop) if loop is not None else set()
            writer = item.config.get_terminal_writer()
            writer.sep("+", f"{len(tasks)} asyncio task(s) at the timeout")
            for task in tasks:
                writer.line(f"{task!r}, awaiting:")
                for line in _await_chain(task.get_coro()):
                    writer.line(f"    {line}")
            timeout_handler(signum, frame)

        signal.signal(signal.SIGALRM, tasks_then_timeout)
    return result


def _await_chain(awaitable: object) -> Iterator[str]:
    """Where a coroutine waits: each frame of its chain of awaits, outermost first."""
    while awaitable is not None:
        frame = getattr(awaitable, "cr_frame", None) or getattr(awaitable, "gi_frame", None)
        if frame is None:
            yield repr(awaitable)
            return
        yield f"{frame.f_code.co_filename}:{frame.f_lineno} in {frame.f_code.co_name}"
        awaitable = getattr(awaitable, "cr_await", None) or getattr(awaitable, "gi_yieldfrom", None)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def service_missing(name: str) -> None:
    """Skip for want of a service; in CI (QUICKOTP_REQUIRE_SERVICES=1) fail instead."""
    message = f"{name} not configured (set QUICKOTP_TEST_{name.upper()}_URL)"
    if REQUIRE_SERVICES:
        pytest.fail(message)
    pytest.skip(message)


async def _fresh_postgres_database(url: str) -> str:
    """A new, empty database on the test server; its URL. Dropped at session end by name."""
    parsed = make_url(url)
    name = f"quickotp_test_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(
        host=parsed.host, port=parsed.port or 5432, user=parsed.username, database=parsed.database
    )
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    _created_databases.append(name)
    return parsed.set(database=name).render_as_string(hide_password=False)


_created_databases: list[str] = []
_DROPPERS = 4  # connections dropping the test databases at the end


@pytest.fixture(scope="session", autouse=True)
def _drop_test_databases() -> Iterator[None]:
    yield
    if not _created_databases:
        return

    async def drop(names: list[str]) -> None:
        parsed = make_url(POSTGRES_URL)
        conn = await asyncpg.connect(
            host=parsed.host,
            port=parsed.port or 5432,
            user=parsed.username,
            database=parsed.database,
        )
        try:
            for name in names:
                await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()

    async def drop_all() -> None:
        # Side by side: one after another, the ~300 of a full run took 37 s at the end.
        shares = (_created_databases[i::_DROPPERS] for i in range(_DROPPERS))
        await asyncio.gather(*(drop(names) for names in shares if names))

    asyncio.run(drop_all())


_reused_database: list[str] = []  # this test process's own PostgreSQL database, emptied per test


async def _empty_postgres_database(url: str) -> str:
    """
    This process's PostgreSQL test database, emptied: its schema dropped and made anew.

    One database a test process, not one a test: PostgreSQL checkpoints on every DROP
    DATABASE, which on a busy machine made the drops of a run's hundreds of databases
    outlast the session's time limit. Tests in one process run one at a time, so its
    advisory locks and LISTEN channels are theirs alone.
    """
    if not _reused_database:
        _reused_database.append(await _fresh_postgres_database(url))
    parsed = make_url(_reused_database[0])
    conn = await asyncpg.connect(
        host=parsed.host, port=parsed.port or 5432, user=parsed.username, database=parsed.database
    )
    try:  # a server a test left running would hold locks on the tables
        await conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        await conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    finally:
        await conn.close()
    return _reused_database[0]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database of each supported kind."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'quickotp.db'}"
    if not POSTGRES_URL:
        service_missing("postgres")
    return await _empty_postgres_database(POSTGRES_URL)


def make_settings(database_url: str, **extra: str) -> Settings:
    return Settings.from_env(
        {
            "QUICKOTP_SECRET_KEY": TEST_SECRET,
            "QUICKOTP_DATABASE_URL": database_url,
            "QUICKOTP_TOKEN_CACHE_SECONDS": "0",
            # The fraud guard's per-number limits and /rest's repeat window have their own
            # tests (tests/adapters/limits, tests/services/test_guard*,
            # tests/web/test_verify_quick_otp.py);
            # elsewhere they would turn a test's second send to one number into a refusal or
            # a replay of the first answer. Pass them in `extra` to switch them back on.
            "QUICKOTP_GUARD_IDEMPOTENCY_SECONDS": "0",
            "QUICKOTP_GUARD_COOLDOWN_SECONDS": "0",
            "QUICKOTP_GUARD_PER_NUMBER_HOUR": "0",
            "QUICKOTP_GUARD_PER_NUMBER_DAY": "0",
            **extra,
        }
    )


@pytest.fixture
async def runtime(database_url: str) -> AsyncIterator[Runtime]:
    """A migrated gateway with no dispatcher running."""
    built = build_runtime(make_settings(database_url), dispatch=False, resolver=known_names())
    await upgrade(built.engines)
    await built.start()
    yield built
    await built.aclose()


@dataclass(frozen=True)
class Seeded:
    account_id: int
    pattern_id: int
    token: str


async def seed(runtime: Runtime, *, credit: int = 1_000_000, name: str = "shop") -> Seeded:
    """An account with an approved OTP pattern and a token."""
    account = await runtime.admin.create_account(name=name, credit=credit, sender="10004321")
    pattern = await runtime.gateway.create_account_pattern(
        account.id, text=OTP_PATTERN, is_otp=True, capped=False
    )
    await runtime.admin.approve_pattern(pattern.id)
    issued = await runtime.admin.issue_token(account_id=account.id)
    return Seeded(account.id, pattern.id, issued.secret)


@pytest.fixture
async def seeded(runtime: Runtime) -> Seeded:
    return await seed(runtime)


async def approved_order_pattern(runtime: Runtime, seeded: Seeded, text: str) -> int:
    """An approved plain pattern of the seeded account whose %order% takes digits only; its id."""
    pattern = await runtime.gateway.create_account_pattern(
        seeded.account_id, text=text, is_otp=False, number_patterns="order"
    )
    await runtime.admin.approve_pattern(pattern.id)
    return pattern.id


@pytest.fixture
async def client(runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    """The real app, in process, over httpx."""
    app = create_app(runtime.gateway)
    transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as http:
        yield http
