"""
What clients and the log see while a backend fails: /readyz says not ready when Redis (which
the process needs once QUICKOTP_REDIS_URL is set) does not answer; no answer names an
internal address or carries exception text; a full disk costs one log line per failed
request, and a traceback at most once a minute for each kind of error.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import event

from quickotp.adapters.store.migrate import upgrade
from quickotp.bootstrap import Runtime, build_app, build_runtime
from quickotp.support.faults import FaultLog
from tests.conftest import make_settings, seed
from tests.http_peer import free_port

pytestmark = pytest.mark.anyio

LEAKS = ("127.0.0.1", "6379", "Error", "Exception", "Traceback", "refused")


async def _started(url: str, **env: str) -> Runtime:
    built = build_runtime(make_settings(url, **env), dispatch=False)
    await upgrade(built.engines)
    await built.start()
    return built


@pytest.fixture
async def redis_down(tmp_path: Path) -> AsyncIterator[tuple[Runtime, int]]:
    """A runtime whose Redis is a closed port on this machine; that port."""
    port = free_port()
    built = await _started(
        f"sqlite:///{tmp_path / 'q.db'}", QUICKOTP_REDIS_URL=f"redis://127.0.0.1:{port}/0"
    )
    yield built, port
    await built.aclose()


def _client(runtime: Runtime) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=build_app(runtime), client=("203.0.113.7", 40000))
    return httpx.AsyncClient(transport=transport, base_url="https://gateway.test")


async def test_readiness_fails_while_redis_is_down(redis_down: tuple[Runtime, int]) -> None:
    """With QUICKOTP_REDIS_URL set and Redis gone, /readyz answers 503 not ready."""
    runtime, port = redis_down

    async with _client(runtime) as http:
        ready = await http.get("/readyz")

    assert ready.status_code == 503
    assert ready.json() == {"status": "not ready"}
    assert str(port) not in ready.text


async def test_no_answer_names_an_address_or_an_error(redis_down: tuple[Runtime, int]) -> None:
    """/rest, /v1 problems, /readyz and the panel say what happened and nothing of ours."""
    runtime, port = redis_down
    seeded = await seed(runtime)
    auth = {"Authorization": seeded.token}
    bearer = {"Authorization": f"Bearer {seeded.token}"}

    async with _client(runtime) as http:
        answers = {
            "rest": await http.post(
                "/rest/SendQuickOTP", headers=auth, data={"Mobile": "09120000000"}
            ),
            "rest-length": await http.post(
                "/rest/SendQuickOTP",
                headers=auth,
                data={"Mobile": "09120000000", "CodeLength": "5"},
            ),
            "v1": await http.post("/v1/verifications", headers=bearer, json={"to": "09120000000"}),
            "readyz": await http.get("/readyz"),
            "panel": await http.get("/panel/sign-in"),
        }

    assert answers["rest-length"].json() == {"Status": "Guard_Unavailable", "Data": None}
    assert answers["v1"].status_code == 503
    assert answers["v1"].json()["code"] == "Guard_Unavailable"
    for name, answer in answers.items():
        text = answer.text
        for leak in (*LEAKS, str(port)):
            if name == "panel" and leak in {"Error", "refused"}:
                continue  # the panel's own words (its script's error handling, its hints)
            assert leak not in text, f"{name} carries {leak!r}: {text[:300]}"


async def test_a_full_disk_logs_one_line_per_failed_request(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """
    With the database file unable to grow (SQLite's max_page_count: "database or disk is
    full"), each failed send logs one line, and the tracebacks are not one per request.
    """
    runtime = await _started(f"sqlite:///{tmp_path / 'q.db'}")
    seeded = await seed(runtime)

    @event.listens_for(runtime.engines.write.sync_engine, "connect")
    def full_disk(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA page_count")
        [pages] = cursor.fetchone()
        cursor.execute(f"PRAGMA max_page_count = {pages}")
        cursor.close()

    await runtime.engines.write.dispose()  # the writer reconnects: its file cannot grow now
    caplog.set_level(logging.INFO, "quickotp")
    try:
        async with _client(runtime) as http:
            statuses = [
                (
                    await http.post(
                        "/rest/SendQuickOTP",
                        headers={"Authorization": seeded.token},
                        data={"Mobile": f"0912000{n:04d}", "CodeLength": "5"},
                    )
                ).json()["Status"]
                for n in range(60)
            ]
    finally:
        await runtime.aclose()

    failed = statuses.count("ServerError")
    assert failed >= 20, statuses  # the disk fills up after some twenty sends
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    per_request = [r for r in errors if "SendQuickOTP failed" in r.getMessage()]
    assert len(per_request) == failed
    assert len(errors) == failed  # nothing else logs an error of its own for them
    assert all("disk is full" in r.getMessage() for r in per_request)
    assert sum(1 for r in errors if r.exc_info) <= 1


def test_tracebacks_of_one_error_class_come_once_a_minute(caplog: pytest.LogCaptureFixture) -> None:
    """Every failure is a line; each class's traceback comes again only after a minute."""
    now = [0.0]
    faults = FaultLog(every=60.0, clock=lambda: now[0])
    logger = logging.getLogger("quickotp.test")
    caplog.set_level(logging.ERROR, "quickotp.test")

    for second in (0, 1, 30, 59, 60, 61):
        now[0] = float(second)
        faults.failed(logger, "request %d failed", second, exc=OSError("disk full"))
    faults.failed(logger, "other", exc=ValueError("bad"))

    assert [r.getMessage() for r in caplog.records][:2] == [
        "request 0 failed: OSError: disk full",
        "request 1 failed: OSError: disk full",
    ]
    assert [bool(r.exc_info) for r in caplog.records] == [
        True,
        False,
        False,
        False,
        True,
        False,
        True,
    ]
