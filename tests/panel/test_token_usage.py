"""
Tokens tell themselves apart and show their use: a `qotp_` mark with its first characters
kept in the clear beside the hash, sends today, the last use and the address it came from
(written in the batched accept, never a write of its own); older tokens without the mark
keep working.
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from quickotp.adapters.store.schema import tokens
from quickotp.bootstrap import Runtime
from quickotp.domain import keys
from tests.panel.conftest import Browser, approved_account, make_token, send_otp

pytestmark = pytest.mark.anyio


def test_a_new_token_carries_the_mark_and_never_starts_with_a_dash() -> None:
    """A draw starting with '-' is drawn again; the prefix is the mark and four characters."""
    draws = iter(["-abcdefgh", "-zzzz", "Xy_9-rest"])

    token = keys.new_token(lambda n: next(draws))

    assert token == "qotp_Xy_9-rest"
    assert keys.token_prefix(token) == "qotp_Xy_9"
    assert keys.token_prefix("an-older-token-without-the-mark") == ""


def test_real_tokens_are_url_safe_and_long() -> None:
    import secrets

    made = [keys.new_token(secrets.token_urlsafe) for _ in range(300)]

    assert all(re.fullmatch(r"qotp_[A-Za-z0-9_][A-Za-z0-9_-]{39}", token) for token in made)
    assert len(set(made)) == 300


async def test_the_prefix_is_kept_beside_the_hash_and_shown(
    runtime: Runtime, browser: Browser, operator: Browser
) -> None:
    token = await approved_account(browser, operator, "owner@shop.test", "Shop")
    async with runtime.engines.read.connect() as conn:
        row = (await conn.execute(select(tokens.c.prefix, tokens.c.digest))).one()

    page = await browser.get("/panel/tokens")

    assert token.startswith("qotp_")
    assert row.prefix == token[:9]
    assert row.digest == keys.token_digest(keys.derive(_secret(runtime), "token"), token)
    assert f"{token[:9]}…" in page.text
    assert token not in page.text


async def test_an_older_token_without_the_mark_still_works(
    runtime: Runtime, browser: Browser, operator: Browser
) -> None:
    """A token issued before tokens had a prefix: its hash still finds it, no prefix shown."""
    await approved_account(browser, operator, "owner@shop.test", "Shop")
    older = "Zm9yIHRoZSBvbGQgdGltZXMgc2FrZSBvbmx5IHRoaXM"  # 43 URL-safe characters
    account_id = (await runtime.admin.list_accounts())[0].id
    made = await runtime.store.create_token(
        account_id=account_id,
        digest=keys.token_digest(keys.derive(_secret(runtime), "token"), older),
        label="older",
        expires_at=None,
        allowed_ips=(),
        allowed_methods=(),
        now=runtime.gateway.clock(),
    )

    sent = await send_otp(browser, older, "09120000005")
    page = await browser.get("/panel/tokens")

    assert made.prefix == ""
    assert sent["Status"] == "Success"
    row = re.search(rf'<tr id="token-{made.id}".*?</tr>', page.text, re.S)
    assert row is not None
    assert "token-prefix" not in row.group(0)


async def test_each_token_shows_its_sends_today_last_use_and_address(
    runtime: Runtime, browser: Browser, operator: Browser
) -> None:
    first = await approved_account(browser, operator, "owner@shop.test", "Shop")
    second = await make_token(browser, label="second")
    for number in ("09120000001", "09120000002"):
        assert (await send_otp(browser, first, number))["Status"] == "Success"
    assert (await send_otp(browser, second, "09120000003"))["Status"] == "Success"
    async with runtime.engines.read.connect() as conn:
        rows = (
            await conn.execute(
                select(tokens.c.id, tokens.c.last_address, tokens.c.last_used_at).order_by(
                    tokens.c.id
                )
            )
        ).all()

    page = (await browser.get("/panel/tokens")).text

    assert [row.last_address for row in rows] == ["198.51.100.20", "198.51.100.20"]
    assert all(row.last_used_at is not None for row in rows)
    first_row = re.search(rf'<tr id="token-{rows[0].id}".*?</tr>', page, re.S)
    second_row = re.search(rf'<tr id="token-{rows[1].id}".*?</tr>', page, re.S)
    assert first_row is not None
    assert second_row is not None
    assert "Sends today: 2" in first_row.group(0)
    assert "Sends today: 1" in second_row.group(0)
    assert "198.51.100.20" in first_row.group(0)


async def test_a_failed_call_writes_nothing_to_its_token(
    runtime: Runtime, browser: Browser, operator: Browser
) -> None:
    """Use is recorded by the accept that stores a message; a refused call stores none."""
    token = await approved_account(browser, operator, "owner@shop.test", "Shop")

    refused = await send_otp(browser, token, "not a number")
    async with runtime.engines.read.connect() as conn:
        used = await conn.scalar(select(tokens.c.last_used_at))

    assert refused["Status"] == "Mobile_Invalid"
    assert used is None


def _secret(runtime: Runtime) -> bytes:
    return runtime.settings.secret_key.reveal().encode()
