"""
Fixtures for the panel: the whole app in process over httpx (https, so Secure cookies
flow), a gateway with open sign-up, and helpers that sign people up and in like a browser.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import httpx
import pytest
from argon2 import PasswordHasher

from quickotp.adapters.store.credentials import CredentialSqlStore
from quickotp.adapters.store.identity import IdentitySqlStore
from quickotp.adapters.store.migrate import upgrade
from quickotp.bootstrap import Runtime, build_app, build_runtime
from quickotp.services.users import Users, UsersConfig
from quickotp.support.password_pool import PasswordPool
from tests.conftest import known_names, make_settings

PASSWORD = "correct horse battery"
OPERATOR_EMAIL = "ops@gateway.test"
_CSRF = re.compile(r'name="csrf" value="([0-9a-f]{64})"')


# argon2id still, but cheap: the real parameters cost ~50 ms a hash (tested apart).
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


def panel_runtime(database_url: str, *, dispatch: bool = False, **env: str) -> Runtime:
    """
    A gateway as the panel's tests have it: open sign-up and `env`, the known names, a
    fast password hasher; not migrated or started yet (`running` does both).
    """
    built = build_runtime(
        make_settings(database_url, QUICKOTP_OPEN_SIGNUP="1", **env),
        dispatch=dispatch,
        resolver=known_names(),
    )
    built.users.hasher = FAST_HASHER
    return built


def dispatching_panel_runtime(database_url: str, sink_dir: Path, **env: str) -> Runtime:
    """
    `panel_runtime` with its dispatcher on, sending to the log sink in `sink_dir`, and no
    route watch (tests/panel/test_route_alarms.py looks at routes itself).
    """
    sink = str(sink_dir / "sink.jsonl")
    built = panel_runtime(database_url, dispatch=True, QUICKOTP_SINK_FILE=sink, **env)
    built.route_watch = None
    return built


@asynccontextmanager
async def running(built: Runtime) -> AsyncIterator[Runtime]:
    """`built` migrated and started, and closed after."""
    await upgrade(built.engines)
    await built.start()
    try:
        yield built
    finally:
        await built.aclose()


@pytest.fixture
async def runtime(database_url: str) -> AsyncIterator[Runtime]:
    """A migrated gateway with open sign-up and no dispatcher."""
    async with running(panel_runtime(database_url)) as built:
        yield built


@dataclass
class Browser:
    """An httpx client that keeps cookies and reads CSRF tokens off pages, as a browser would."""

    http: httpx.AsyncClient

    async def get(self, path: str, **kwargs: object) -> httpx.Response:
        return await self.http.get(path, **kwargs)  # type: ignore[arg-type]

    async def csrf(self, path: str = "/panel/sign-in") -> str:
        """The CSRF token of the forms on `path`."""
        page = await self.http.get(path)
        found = _CSRF.search(page.text)
        assert found is not None, page.text[:500]
        return found.group(1)

    async def post(
        self, path: str, data: dict[str, str | list[str]] | None = None, *, form: str | None = None
    ) -> httpx.Response:
        """Post a form the way its page would: with the page's CSRF token."""
        token = await self.csrf(form or _page_of(path))
        return await self.http.post(path, data={"csrf": token, **(data or {})})


def _page_of(path: str) -> str:
    """A page whose forms carry the CSRF token for posting to `path` (any signed-in page will)."""
    return path if path in {"/panel/sign-in", "/panel/sign-up"} else "/panel/settings"


async def open_browser(
    runtime: Runtime, ip: str = "198.51.100.20", language: str = "en"
) -> Browser:
    """A browser from `ip` whose user prefers `language` (pages come in it until signed in)."""
    transport = httpx.ASGITransport(app=build_app(runtime), client=(ip, 50000))
    return Browser(
        httpx.AsyncClient(
            transport=transport,
            base_url="https://panel.test",
            headers={"accept-language": f"{language};q=0.9"},
        )
    )


@pytest.fixture
async def browser(runtime: Runtime) -> AsyncIterator[Browser]:
    opened = await open_browser(runtime)
    yield opened
    await opened.http.aclose()


async def sign_up(browser: Browser, email: str, account: str) -> httpx.Response:
    response = await browser.post(
        "/panel/sign-up", {"email": email, "password": PASSWORD, "account_name": account}
    )
    assert response.status_code == 303, response.text
    return response


async def sign_in(browser: Browser, email: str, password: str = PASSWORD) -> httpx.Response:
    return await browser.post("/panel/sign-in", {"email": email, "password": password})


async def make_token(browser: Browser, **fields: str | list[str]) -> str:
    """
    A new token made on the tokens page; its secret, read off the page that shows it once
    (after the form's redirect).
    """
    page = await browser.post("/panel/tokens", {"label": "app", **fields})
    if page.status_code == 303:
        page = await browser.get(page.headers["location"])
    found = re.search(r'<code id="new-token">([^<]+)</code>', page.text)
    assert found is not None, page.text[:1000]
    return found.group(1)


async def send_otp(browser: Browser, token: str, mobile: str = "09120000001") -> dict[str, object]:
    """SendQuickOTP through the same app, as Amoot's C# sample calls it."""
    response = await browser.http.post(
        "/rest/SendQuickOTP",
        headers={"Authorization": token},
        data={"Mobile": mobile, "CodeLength": "5", "OptionalCode": ""},
    )
    body: dict[str, object] = response.json()
    return body


async def approved_account(
    user: Browser, operator: Browser, email: str, account: str, credit: int = 1_000_000
) -> str:
    """Sign `user` up, write an OTP pattern, have `operator` approve it and add credit; a token."""
    await sign_up(user, email, account)
    await user.post("/panel/patterns", {"text": "Your code: %code%", "is_otp": "1"})
    queue = await operator.get("/panel/operator")
    pattern_id = re.findall(r'id="pattern-(\d+)"', queue.text)[-1]
    assert (
        await operator.post(f"/panel/operator/patterns/{pattern_id}/approve")
    ).status_code == 303
    account_id = re.findall(r'/panel/operator/accounts/(\d+)"', queue.text)[-1]
    if credit:
        credit_response = await operator.post(
            f"/panel/operator/accounts/{account_id}/credit",
            {"amount": str(credit), "reason": "test"},
        )
        assert credit_response.status_code == 303
    return await make_token(user)


@pytest.fixture
async def operator(runtime: Runtime) -> AsyncIterator[Browser]:
    """A browser signed in as an operator made the way the CLI makes the first one."""
    made = await runtime.users.create_operator(email=OPERATOR_EMAIL, password=PASSWORD)
    await runtime.users.set_locale(made, "en")
    opened = await open_browser(runtime, ip="198.51.100.99")
    assert (await sign_in(opened, OPERATOR_EMAIL)).status_code == 303
    yield opened
    await opened.http.aclose()


def users_on(
    runtime: Runtime,
    now: list[datetime],
    config: UsersConfig | None = None,
    *,
    hasher: PasswordHasher = FAST_HASHER,
    token_urlsafe: Callable[[int], str] | None = None,
    pool: PasswordPool | None = None,
) -> Users:
    """The runtime's people on a clock the test moves (`now[0]`), under `config`."""
    return Users(
        store=IdentitySqlStore(runtime.engines),
        credentials=CredentialSqlStore(runtime.engines),
        hasher=hasher,
        key=b"k" * 32,
        clock=lambda: now[0],
        token_urlsafe=token_urlsafe or runtime.users.token_urlsafe,
        config=config or UsersConfig(),
        pool=pool if pool is not None else PasswordPool(),
    )
