"""The panel's defences: CSRF on every form, cookies, headers, passwords at rest."""

from __future__ import annotations

import re

import pytest

from quickotp.adapters.store.migrate import upgrade
from quickotp.bootstrap import Runtime, build_runtime
from tests.conftest import make_settings
from tests.panel.conftest import Browser, make_token, open_browser, send_otp, sign_up

pytestmark = pytest.mark.anyio


async def test_a_form_posted_without_its_csrf_token_is_refused(browser: Browser) -> None:
    """A delete without the CSRF token changes nothing and answers 403."""
    await sign_up(browser, "owner@shop.test", "Shop")
    token = await make_token(browser)
    tokens = await browser.get("/panel/tokens")
    token_id = re.search(r'id="token-(\d+)"', tokens.text)
    assert token_id is not None

    refused = await browser.http.post(f"/panel/tokens/{token_id.group(1)}/delete")

    assert refused.status_code == 403
    assert "This form has expired" in refused.text
    assert (await send_otp(browser, token))["Status"] != "Token_NotExists"


async def test_a_csrf_token_of_another_visitor_is_refused(
    browser: Browser, runtime: Runtime
) -> None:
    """A token lifted from someone else's page does not work in this session."""
    await sign_up(browser, "owner@shop.test", "Shop")
    stranger = await open_browser(runtime, ip="203.0.113.50")
    theirs = await stranger.csrf()

    refused = await browser.http.post("/panel/tokens", data={"csrf": theirs, "label": "planted"})

    assert refused.status_code == 403
    assert "planted" not in (await browser.get("/panel/tokens")).text


async def test_a_cross_site_post_is_refused_even_with_a_token(browser: Browser) -> None:
    """A post the browser marks as cross-site is refused before anything else."""
    await sign_up(browser, "owner@shop.test", "Shop")
    token = await browser.csrf("/panel/tokens")

    refused = await browser.http.post(
        "/panel/tokens",
        data={"csrf": token, "label": "x"},
        headers={"sec-fetch-site": "cross-site"},
    )

    assert refused.status_code == 403


async def test_the_sign_in_form_needs_its_csrf_token_too(
    browser: Browser, runtime: Runtime
) -> None:
    """Anonymous forms are protected as well (login CSRF)."""
    await runtime.users.create_operator(
        email="ops@gateway.test", password="a long operator password"
    )

    refused = await browser.http.post(
        "/panel/sign-in", data={"email": "ops@gateway.test", "password": "a long operator password"}
    )

    assert refused.status_code == 403
    assert "qotp_session" not in refused.cookies


async def test_session_cookie_is_httponly_samesite_and_secure(browser: Browser) -> None:
    """Outside dev mode the session cookie is HttpOnly, SameSite=Lax, Secure, for /panel only."""
    response = await sign_up(browser, "owner@shop.test", "Shop")

    cookie = next(
        v for k, v in response.headers.multi_items() if k == "set-cookie" and "qotp_session" in v
    )
    flags = {part.strip().lower() for part in cookie.split(";")[1:]}
    assert {"httponly", "secure", "samesite=lax", "path=/panel"} <= flags


async def test_dev_mode_drops_only_the_secure_flag(database_url: str) -> None:
    """Dev mode serves plain http, so its cookies are not Secure; the rest stays."""
    runtime = build_runtime(
        make_settings(database_url, QUICKOTP_DEV="1", QUICKOTP_OPEN_SIGNUP="1"), dispatch=False
    )
    await upgrade(runtime.engines)
    await runtime.start()
    try:
        response = await sign_up(await open_browser(runtime), "dev@shop.test", "Dev")
    finally:
        await runtime.aclose()

    cookie = next(
        v for k, v in response.headers.multi_items() if k == "set-cookie" and "qotp_session" in v
    )
    flags = {part.strip().lower() for part in cookie.split(";")[1:]}
    assert "secure" not in flags
    assert {"httponly", "samesite=lax"} <= flags


@pytest.mark.parametrize("page", [True, False], ids=["page", "static file"])
async def test_strict_security_headers(browser: Browser, page: bool) -> None:
    """Pages and static files alike: a CSP without inline code, no framing, no sniffing."""
    sign_in_page = await browser.get("/panel/sign-in")
    found = re.search(r'href="(/panel/static/panel\.[0-9a-f]{12}\.css)"', sign_in_page.text)
    assert found is not None
    response = sign_in_page if page else await browser.get(found.group(1))

    csp = response.headers["content-security-policy"]
    assert response.status_code == 200
    assert "unsafe-inline" not in csp
    assert "unsafe-eval" not in csp
    assert "script-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"


async def test_pages_have_no_inline_script_or_style(browser: Browser) -> None:
    """What the CSP forbids is not in the pages (else the browser would block it)."""
    await sign_up(browser, "owner@shop.test", "Shop")

    for path in ("/panel/dashboard", "/panel/patterns", "/panel/tokens", "/panel/credit"):
        page = (await browser.get(path)).text
        scripts = re.findall(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)[^>]*>", page)
        assert scripts == [], path
        assert " style=" not in page, path
        assert "<style" not in page, path


async def test_signed_in_pages_are_not_cached(browser: Browser) -> None:
    """A shared computer's back button or a proxy must not keep an account's pages."""
    await sign_up(browser, "owner@shop.test", "Shop")

    response = await browser.get("/panel/tokens")

    assert response.headers["cache-control"] == "no-store"


async def test_passwords_are_kept_as_argon2id_hashes(runtime: Runtime) -> None:
    """The stored hash is argon2id with the library's recommended cost, never the password."""
    real = build_runtime(runtime.settings, dispatch=False)
    await real.engines.dispose()

    hashed = real.users.hasher.hash("correct horse battery")

    assert hashed.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert "correct horse battery" not in hashed


async def test_head_never_runs_a_form_post(browser: Browser) -> None:
    """HEAD on a form page is a 405: it used to reach the post code without the CSRF check."""
    await sign_up(browser, "owner@shop.test", "Shop")
    await make_token(browser, label="kept")
    page = await browser.get("/panel/tokens")
    token_id = re.findall(r'id="token-(\d+)"', page.text)[0]

    answers = [
        await browser.http.request("HEAD", f"/panel/tokens/{token_id}", data={"label": "x"}),
        await browser.http.request("HEAD", "/panel/tokens"),
    ]

    assert [a.status_code for a in answers] == [405, 405]
    after = await browser.get("/panel/tokens")
    assert "kept" in after.text
    assert re.findall(r'id="token-(\d+)"', after.text) == [token_id]  # no token issued


@pytest.mark.parametrize("row_id", ["9223372036854775808", "9" * 4301])
async def test_ids_past_a_64_bit_column_are_404(browser: Browser, row_id: str) -> None:
    """An id no row can have is 'nothing here' (the database refused it: an HTTP 500)."""
    await sign_up(browser, "owner@shop.test", "Shop")

    answers = [
        await browser.get(f"/panel/tokens/{row_id}"),
        await browser.get(f"/panel/messages/{row_id}"),
    ]

    assert [a.status_code for a in answers] == [404, 404]


async def test_an_unknown_path_is_the_panels_own_404_page(browser: Browser) -> None:
    """Signed out or in, a path the panel has no page for answers its own page, not text."""
    signed_out = await browser.get("/panel/no-such-page", headers={"accept-language": "fa"})
    await sign_up(browser, "owner@shop.test", "Shop")
    signed_in = await browser.get("/panel/no/such/page")

    assert [signed_out.status_code, signed_in.status_code] == [404, 404]
    assert signed_out.headers["content-type"].startswith("text/html")
    assert re.search(r"<main [^>]*id=\"main\"", signed_out.text)
    assert 'lang="fa"' in signed_out.text
    assert "There is nothing here." in signed_in.text
    assert '<meta name="viewport"' in signed_in.text


async def test_a_refused_post_logs_its_path_escaped(
    browser: Browser, caplog: pytest.LogCaptureFixture
) -> None:
    """Control characters in a refused path cannot forge lines in the log."""
    caplog.set_level("WARNING", logger="quickotp")

    refused = await browser.http.post(
        "/panel/invitations/x%0b2026-01-01%2000:00:00%20ERROR%20quickotp:%20FORGED",
        data={"csrf": "0"},
    )

    assert refused.status_code == 403
    [line] = [r.getMessage() for r in caplog.records if "refused" in r.getMessage()]
    assert "\x0b" not in line
    assert "\\x0b2026" in line
