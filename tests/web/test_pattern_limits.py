"""
PatternCodeCreate is bounded: pending patterns per account are capped, creation is rate
limited per account, and the operator's approval queue comes a page at a time.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from quickotp.bootstrap import Runtime, build_app
from tests.conftest import seed
from tests.panel.conftest import (
    FAST_HASHER,
    OPERATOR_EMAIL,
    PASSWORD,
    open_browser,
    panel_runtime,
    running,
    sign_in,
)

pytestmark = pytest.mark.anyio


def pattern_limits(database_url: str, *, pending: str, per_hour: str) -> Runtime:
    """The panel's runtime with these caps on pending patterns and on submissions an hour."""
    return panel_runtime(
        database_url, QUICKOTP_MAX_PENDING_PATTERNS=pending, QUICKOTP_PATTERNS_PER_HOUR=per_hour
    )


@pytest.fixture
async def capped(database_url: str) -> AsyncIterator[Runtime]:
    """At most three pending patterns an account, and room in the hourly rate."""
    async with running(pattern_limits(database_url, pending="3", per_hour="100")) as built:
        yield built


@pytest.fixture
async def rated(database_url: str) -> AsyncIterator[Runtime]:
    """Three pattern submissions an hour, and room in the pending cap."""
    async with running(pattern_limits(database_url, pending="100", per_hour="3")) as built:
        yield built


async def create(runtime: Runtime, token: str, text: str) -> dict[str, Any]:
    transport = httpx.ASGITransport(app=build_app(runtime), client=("203.0.113.7", 4000))
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as http:
        response = await http.post(
            "/rest/PatternCodeCreate",
            headers={"Authorization": token},
            data={"MessageText": text, "IsOTP": "True"},
        )
    body: dict[str, Any] = response.json()
    return body


async def test_pending_patterns_are_capped_per_account(capped: Runtime) -> None:
    """Three pending: a fourth is Pattern_LimitReached; a decision makes room again."""
    token = (await seed(capped)).token
    made = [await create(capped, token, f"code {n}: %code%") for n in range(3)]

    refused = await create(capped, token, "code 4: %code%")
    await capped.admin.approve_pattern(made[0]["Data"]["ID"])
    again = await create(capped, token, "code 5: %code%")

    assert [m["Status"] for m in made] == ["Success"] * 3
    assert refused["Status"] == "Pattern_LimitReached"
    assert refused["Data"]["ID"] == 0  # Amoot's failure shape: a pattern of zeros
    assert again["Status"] == "Success"


async def test_the_cap_holds_for_submissions_sent_at_once(capped: Runtime) -> None:
    """Ten submissions at once with room for three: three are made, seven refused."""
    token = (await seed(capped)).token

    answers = await asyncio.gather(*(create(capped, token, f"x{n} %code%") for n in range(10)))

    statuses = sorted(a["Status"] for a in answers)
    assert statuses == ["Pattern_LimitReached"] * 7 + ["Success"] * 3


async def test_pattern_creation_is_rate_limited_per_account(rated: Runtime) -> None:
    """Three submissions an hour: the fourth is Account_RateLimited; another account is not."""
    token = (await seed(rated)).token
    other = (await seed(rated, name="other")).token
    made = [await create(rated, token, f"code {n}: %code%") for n in range(3)]

    refused = await create(rated, token, "code 4: %code%")
    elsewhere = await create(rated, other, "code 4: %code%")

    assert [m["Status"] for m in made] == ["Success"] * 3
    assert refused["Status"] == "Account_RateLimited"
    assert elsewhere["Status"] == "Success"


async def test_the_panel_says_why_a_pattern_is_refused_at_the_cap(capped: Runtime) -> None:
    """The pattern form at the cap shows the reason, in the user's language."""
    user = await open_browser(capped)
    await user.post(
        "/panel/sign-up",
        {"email": "owner@shop.test", "password": PASSWORD, "account_name": "Shop"},
        form="/panel/sign-up",
    )
    for n in range(3):
        await user.post("/panel/patterns", {"text": f"Code {n}: %code%", "is_otp": "1"})

    refused = await user.post("/panel/patterns", {"text": "Code 4: %code%", "is_otp": "1"})

    assert refused.status_code == 422
    assert "many patterns waiting for approval" in refused.text


async def test_the_approval_queue_comes_a_page_at_a_time(runtime: Runtime) -> None:
    """120 pending patterns: pages of 50, 50 and 20, each linking to the next, oldest first."""
    runtime.users.hasher = FAST_HASHER
    accounts = [await runtime.admin.create_account(name=f"a{n}", credit=0) for n in range(4)]
    for n in range(120):
        await runtime.gateway.create_account_pattern(
            accounts[n % 4].id, text=f"{n} %code%", is_otp=True, capped=False
        )
    made = await runtime.users.create_operator(email=OPERATOR_EMAIL, password=PASSWORD)
    await runtime.users.set_locale(made, "en")
    operator = await open_browser(runtime, ip="198.51.100.99")
    await sign_in(operator, OPERATOR_EMAIL)

    pages: list[list[str]] = []
    path = "/panel/operator"
    while path and len(pages) < 5:
        page = await operator.get(path)
        pages.append(re.findall(r'id="pattern-(\d+)"', page.text))
        later = re.search(r'href="(/panel/operator\?after=\d+)"', page.text)
        path = later.group(1) if later else ""
        assert "120 waiting" in page.text

    assert [len(p) for p in pages] == [50, 50, 20]
    ids = [int(i) for p in pages for i in p]
    assert ids == sorted(ids)
    assert len(set(ids)) == 120
