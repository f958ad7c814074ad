"""An account user's pages: patterns and their preview, tokens, the message log, credit."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest

from quickotp.bootstrap import Runtime, utc_now
from quickotp.domain import sms
from quickotp.domain.delivery import DeliveryReport, DeliveryState, SendReceipt
from quickotp.domain.models import Submitted
from quickotp.services.workspace import SAMPLE_CODE
from tests.panel.conftest import (
    Browser,
    approved_account,
    make_token,
    open_browser,
    send_otp,
    sign_up,
)

pytestmark = pytest.mark.anyio


# patterns -------------------------------------------------------------------------------


async def test_a_new_pattern_waits_for_the_operator(browser: Browser, runtime: Runtime) -> None:
    """A pattern with %code% and OTP on is stored pending, and listed so."""
    await sign_up(browser, "owner@shop.test", "Shop")

    created = await browser.post(
        "/panel/patterns", {"text": "کد ورود شما: %code%", "is_otp": "1", "description": "login"}
    )
    page = await browser.get("/panel/patterns")

    patterns = await runtime.store.list_patterns()
    assert created.status_code == 303
    assert [(p.text, p.is_otp, p.state, p.description) for p in patterns] == [
        ("کد ورود شما: %code%", True, "pending", "login")
    ]
    assert "Pending approval" in page.text
    assert "Pattern submitted." in page.text


async def test_an_otp_pattern_without_code_is_refused_with_the_text_kept(browser: Browser) -> None:
    """The form comes back with the reason and with what was typed."""
    await sign_up(browser, "owner@shop.test", "Shop")

    response = await browser.post("/panel/patterns", {"text": "Welcome %name%", "is_otp": "1"})

    assert response.status_code == 422
    assert "An OTP pattern must contain %code%." in response.text
    assert "Welcome %name%</textarea>" in response.text


async def test_a_rejected_pattern_shows_its_reason(
    browser: Browser, operator: Browser, runtime: Runtime
) -> None:
    """The operator's reason for a rejection reaches the account's patterns page."""
    await sign_up(browser, "owner@shop.test", "Shop")
    await browser.post("/panel/patterns", {"text": "Buy now %code%", "is_otp": "1"})
    pattern = (await runtime.store.list_patterns())[0]

    await operator.post(
        f"/panel/operator/patterns/{pattern.id}/reject", {"reason": "advertising in an OTP"}
    )
    page = await browser.get("/panel/patterns")

    assert "Rejected" in page.text
    assert "Reason: <bdi>advertising in an OTP</bdi>" in page.text


@pytest.mark.parametrize(
    "text",
    [
        "Your code: %code%",
        "کد ورود شما: %code%",
        "Code %code% " + "x" * 150,
        "€ and [brackets] cost two septets: %code%",
        "کد %code% " + "ی" * 70,
    ],
)
async def test_the_live_preview_counts_parts_as_the_gateway_does(
    browser: Browser, text: str
) -> None:
    """The preview endpoint's alphabet, length, part count and price are the domain's own."""
    await sign_up(browser, "owner@shop.test", "Shop")

    fragment = (
        await browser.get(
            "/panel/patterns/preview", params={"text": text, "is_otp": "1", "code_length": "6"}
        )
    ).text

    expected = sms.segment(sms.render(text, {"code": SAMPLE_CODE[:6]}))
    encoding = "GSM-7" if expected.encoding is sms.Encoding.GSM7 else "UCS-2"
    parts = "1 part" if expected.parts == 1 else f"{expected.parts} parts"
    assert f">{encoding}<" in fragment
    assert f">{expected.units} characters<" in fragment
    assert f">{parts}<" in fragment
    assert f">{expected.parts * 1000:,} rial per message<" in fragment


async def test_the_preview_also_works_without_javascript(browser: Browser) -> None:
    """The form's Preview button renders the same preview into the page, storing nothing."""
    await sign_up(browser, "owner@shop.test", "Shop")

    page = await browser.post(
        "/panel/patterns", {"text": "Your code: %code%", "is_otp": "1", "preview_only": "1"}
    )

    assert page.status_code == 200
    assert "Your code: 482137" in page.text
    assert "No patterns yet." in page.text


# tokens ---------------------------------------------------------------------------------


async def test_a_new_token_is_shown_once_and_works(
    browser: Browser, operator: Browser, runtime: Runtime
) -> None:
    """The secret is on the page that made it, never again; SendQuickOTP takes it."""
    token = await approved_account(browser, operator, "owner@shop.test", "Shop")

    sent = await send_otp(browser, token)
    later = await browser.get("/panel/tokens")

    assert token not in later.text
    assert sent["Status"] == "Success"
    assert "Never" not in later.text  # its last use is shown once it was used


async def test_a_disabled_token_is_refused_and_can_come_back(
    browser: Browser, operator: Browser
) -> None:
    """Disable refuses the token at once (Token_Disabled); enable lets it send again."""
    token = await approved_account(browser, operator, "owner@shop.test", "Shop")
    token_id = re.findall(r'id="token-(\d+)"', (await browser.get("/panel/tokens")).text)[0]

    await browser.post(f"/panel/tokens/{token_id}/state", {"active": ""})
    refused = await send_otp(browser, token)
    await browser.post(f"/panel/tokens/{token_id}/state", {"active": "1"})
    accepted = await send_otp(browser, token)

    assert refused["Status"] == "Token_Disabled"
    assert accepted["Status"] == "Success"


async def test_a_deleted_token_is_gone_for_good(browser: Browser, operator: Browser) -> None:
    """A deleted token is unknown to the API and gone from the list."""
    token = await approved_account(browser, operator, "owner@shop.test", "Shop")
    token_id = re.findall(r'id="token-(\d+)"', (await browser.get("/panel/tokens")).text)[0]

    deleted = await browser.post(f"/panel/tokens/{token_id}/delete")
    after = await send_otp(browser, token)

    assert deleted.status_code == 303
    assert after["Status"] == "Token_NotExists"
    assert f'id="token-{token_id}"' not in (await browser.get("/panel/tokens")).text


async def test_a_tokens_networks_and_methods_are_enforced(
    browser: Browser, operator: Browser
) -> None:
    """A token limited to another network, or to other methods, is refused with their Status."""
    token = await approved_account(browser, operator, "owner@shop.test", "Shop")
    token_id = re.findall(r'id="token-(\d+)"', (await browser.get("/panel/tokens")).text)[0]

    await browser.post(f"/panel/tokens/{token_id}", {"label": "app", "allowed_ips": "10.0.0.0/8"})
    by_network = await send_otp(browser, token)
    await browser.post(
        f"/panel/tokens/{token_id}",
        {"label": "app", "allowed_ips": "198.51.100.0/24", "allowed_methods": ["AccountStatus"]},
    )
    by_method = await send_otp(browser, token)
    edit_page = await browser.get(f"/panel/tokens/{token_id}")

    assert by_network["Status"] == "Token_NotAllowIP"
    assert by_method["Status"] == "Token_NotAllowMethod"
    assert "198.51.100.0/24</textarea>" in edit_page.text


async def test_a_bad_network_is_refused_with_the_reason(browser: Browser) -> None:
    """Something that is no CIDR network comes back as a form error, not a 500."""
    await sign_up(browser, "owner@shop.test", "Shop")

    response = await browser.post("/panel/tokens", {"label": "x", "allowed_ips": "not-a-net"})

    assert response.status_code == 422
    assert "An allowed network is an IP address, or a network as in 10.0.0.0/8." in response.text
    assert "not-a-net" not in response.text.split("<textarea")[0]


async def test_a_token_expiring_on_a_day_lasts_to_its_end_in_iran(
    browser: Browser, runtime: Runtime
) -> None:
    """An expiry date from the form means the end of that day, Tehran time."""
    await sign_up(browser, "owner@shop.test", "Shop")

    await make_token(browser, expires_on="2030-01-15")

    user = await runtime.users.store.user_by_email("owner@shop.test")
    assert user is not None
    token = (await runtime.workspace.tokens(user[0]))[0]
    assert token.expires_at is not None
    assert token.expires_at.isoformat() == "2030-01-15T20:30:00+00:00"


# messages -------------------------------------------------------------------------------


async def test_the_log_finds_a_number_however_it_is_typed(
    browser: Browser, operator: Browser
) -> None:
    """0912…, +98912…, Persian digits and the message id all find the message."""
    token = await approved_account(browser, operator, "owner@shop.test", "Shop")
    await send_otp(browser, token, "09120000001")
    other = await send_otp(browser, token, "09350000002")
    other_id = f"#{other['Data']['MessageID']}"  # type: ignore[index]

    found = {
        q: (await browser.get("/panel/messages", params={"q": q})).text
        for q in ("09350000002", "+989350000002", "۰۹۳۵۰۰۰۰۰۰۲", other_id)
    }

    for q, page in found.items():
        assert "+989350000002" in page, q
        assert "+989120000001" not in page, q


async def test_the_log_pages_back_fifty_at_a_time(
    browser: Browser, operator: Browser, runtime: Runtime
) -> None:
    """Sixty messages: the newest fifty, then an Older link to the other ten."""
    token = await approved_account(browser, operator, "owner@shop.test", "Shop")
    for n in range(60):  # over thirty number ranges, so the fraud guard sees no pumping
        assert (await send_otp(browser, token, f"09{10 + n % 30}{n:07d}"))["Status"] == "Success"

    first = await browser.get("/panel/messages")
    older = re.search(r'href="(/panel/messages\?[^"]*before=\d+[^"]*)"', first.text)
    assert older is not None
    second = await browser.get(older.group(1).replace("&amp;", "&"))

    assert len(re.findall(r'href="/panel/messages/\d+"', first.text)) == 50
    assert len(re.findall(r'href="/panel/messages/\d+"', second.text)) == 10
    assert "+989390000059" in first.text
    assert "+989100000000" in second.text


async def test_the_log_filters_by_status(browser: Browser, operator: Browser) -> None:
    """Only messages in the chosen status are listed."""
    token = await approved_account(browser, operator, "owner@shop.test", "Shop")
    await send_otp(browser, token)

    queued = await browser.get("/panel/messages", params={"status": "queued"})
    delivered = await browser.get("/panel/messages", params={"status": "delivered"})

    assert "+989120000001" in queued.text
    assert "No messages match." in delivered.text


async def test_a_message_page_never_shows_the_code(browser: Browser, operator: Browser) -> None:
    """Even while the message is queued (its stored text still holds the code) it is masked."""
    token = await approved_account(browser, operator, "owner@shop.test", "Shop")
    sent = await send_otp(browser, token)
    data = sent["Data"]
    assert isinstance(data, dict)

    page = await browser.get(f"/panel/messages/{data['MessageID']}")
    log = await browser.get("/panel/messages")

    assert page.status_code == 200
    assert data["Code"] not in page.text
    assert data["Code"] not in log.text
    assert "Your code: *****" in page.text


async def test_a_message_page_tells_its_whole_history(
    browser: Browser, operator: Browser, runtime: Runtime
) -> None:
    """Accepted, handed to the operator, the delivery report, and its post to the webhook."""
    token = await approved_account(browser, operator, "owner@shop.test", "Shop")
    await browser.post("/panel/credit/webhook", {"url": "https://shop.test/reports"})
    sent = await send_otp(browser, token)
    now = utc_now()
    claimed = await runtime.store.claim(now, timedelta(seconds=30), 10)
    await runtime.store.record(
        [Submitted(claimed[0].message.id, SendReceipt("log", "log-1"), "Your code: *****", now)],
        now=now,
    )
    await runtime.store.record(
        reports=[DeliveryReport("log", "log-1", DeliveryState.DELIVERED, now)], now=now
    )

    page = await browser.get(f"/panel/messages/{sent['Data']['MessageID']}")  # type: ignore[index]

    history = page.text[page.text.index("timeline") :]
    assert history.index("Accepted") < history.index("Handed to the operator")
    assert history.index("Handed to the operator") < history.index("Delivery report: Delivered")
    assert "log · log-1" in history
    assert "Delivery report posted to the webhook: waiting to be posted" in history
    assert "https://shop.test/reports" in history


# the dashboard, credit and the webhook -----------------------------------------------------


async def test_the_dashboard_counts_what_was_sent(browser: Browser, operator: Browser) -> None:
    """The stat cards and the chart's data block carry the period's sends."""
    token = await approved_account(browser, operator, "owner@shop.test", "Shop")
    for n in range(3):
        await send_otp(browser, token, f"0912000000{n}")

    page = await browser.get("/panel/dashboard")
    data = re.search(r'<script type="application/json" id="chart-data">(.*?)</script>', page.text)

    assert data is not None
    chart = json.loads(data.group(1))
    series = {s["key"]: s for s in chart["sends"]["series"]}
    assert series["in_flight"]["label"] == "On its way"
    assert sum(series["in_flight"]["data"]) == 3
    assert chart["delivery"]["data"] == [0, 3, 0]
    assert '<div class="value">3</div>' in page.text


async def test_the_credit_page_shows_balance_price_and_usage(
    browser: Browser, operator: Browser
) -> None:
    """Balance after a send, the price per part, and the top-up in the history."""
    token = await approved_account(browser, operator, "owner@shop.test", "Shop", credit=50_000)
    await send_otp(browser, token)

    page = await browser.get("/panel/credit")

    assert '<div class="value">49,000</div>' in page.text  # one part at 1,000 rial
    assert '<div class="value">1,000</div>' in page.text
    assert "+50,000" in page.text


async def test_a_webhook_gets_a_secret_that_can_be_replaced(
    browser: Browser, runtime: Runtime
) -> None:
    """Saving a URL makes a signing secret; a new secret replaces it; the URL stays."""
    await sign_up(browser, "owner@shop.test", "Shop")

    await browser.post("/panel/credit/webhook", {"url": "https://shop.test/reports"})
    first = re.search(
        r'id="webhook-secret">(whsec_[^<]+)<', (await browser.get("/panel/credit")).text
    )
    await browser.post("/panel/credit/webhook-secret")
    page = (await browser.get("/panel/credit")).text
    second = re.search(r'id="webhook-secret">(whsec_[^<]+)<', page)

    assert first is not None
    assert second is not None
    assert first.group(1) != second.group(1)
    assert 'value="https://shop.test/reports"' in page


async def test_a_webhook_url_must_be_http(browser: Browser) -> None:
    """Anything but an http(s) URL is refused."""
    await sign_up(browser, "owner@shop.test", "Shop")

    response = await browser.post("/panel/credit/webhook", {"url": "ftp://shop.test/x"})

    assert response.status_code == 422
    assert "This address cannot take delivery reports" in response.text


async def test_a_form_field_decoding_to_lone_surrogates_is_not_a_500(
    browser: Browser, runtime: Runtime
) -> None:
    """A multipart part whose charset (utf-7) decodes to U+D800 is read as U+FFFD, no 500."""
    await sign_up(browser, "owner@shop.test", "Shop")
    token = await browser.csrf("/panel/credit")
    body = (
        f'--XyZ\r\nContent-Disposition: form-data; name="csrf"\r\n\r\n{token}\r\n'
        '--XyZ\r\nContent-Disposition: form-data; name="url"\r\n\r\n'
        "https://shop.test/+2AA-\r\n--XyZ--\r\n"
    ).encode()

    response = await browser.http.post(
        "/panel/credit/webhook",
        content=body,
        headers={"Content-Type": "multipart/form-data; boundary=XyZ; charset=utf-7"},
    )

    assert response.status_code == 303  # saved, as a URL whose path is the replacement
    account = (await runtime.admin.list_accounts())[0]
    webhook = await runtime.workspace.panel.get_webhook(account.id)
    assert webhook is not None
    assert webhook.url.startswith("https://shop.test/\ufffd")
    assert "\ud800" not in webhook.url


@pytest.mark.parametrize("day", ["9999-12-31", "9999-06-01", "0001-01-01", "3000-01-01"])
async def test_a_token_expiry_past_the_dates_shown_is_refused(browser: Browser, day: str) -> None:
    """An expiry whose end overflows, or whose Persian year cannot be shown, is refused."""
    await sign_up(browser, "owner@shop.test", "Shop")

    refused = await browser.post("/panel/tokens", {"label": "far", "expires_on": day})

    assert refused.status_code == 422
    assert "is too far from today to be used as a date" in refused.text
    page = await browser.get("/panel/tokens")
    assert page.status_code == 200
    assert "far" not in page.text


@pytest.mark.parametrize("query", ["until=9999-12-31", "since=0001-01-01", "since=2999-12-31"])
async def test_message_log_dates_at_the_ends_of_the_calendar(browser: Browser, query: str) -> None:
    """Date filters far off are refused on the page or simply find nothing, never a 500."""
    await sign_up(browser, "owner@shop.test", "Shop")

    page = await browser.get(f"/panel/messages?{query}")

    assert page.status_code == 200


async def test_control_characters_are_dropped_from_form_text(
    browser: Browser, runtime: Runtime
) -> None:
    """NUL, ESC and DEL typed into a form are not stored (PostgreSQL refuses NUL)."""
    await sign_up(browser, "owner@shop.test", "acme\x00\x1b[2J\x7f")

    [account] = await runtime.admin.list_accounts()
    assert account.name == "acme[2J"


async def test_a_disabled_account_is_told_so_on_its_dashboard(
    browser: Browser, operator: Browser, runtime: Runtime
) -> None:
    """The account's users see why their tokens stopped working."""
    await sign_up(browser, "owner@shop.test", "Shop")
    account = (await runtime.admin.list_accounts())[0]

    await operator.post(f"/panel/operator/accounts/{account.id}/state", {"active": ""})
    page = await browser.get("/panel/dashboard")

    assert "This account is disabled by the operator" in page.text


async def test_two_users_of_one_account_share_it(
    browser: Browser, operator: Browser, runtime: Runtime
) -> None:
    """A teammate invited to the account sees its messages."""
    token = await approved_account(browser, operator, "owner@shop.test", "Shop")
    sent = await send_otp(browser, token)
    account = (await runtime.admin.list_accounts())[0]
    invited = await operator.post(
        "/panel/operator/invitations",
        {"email": "mate@shop.test", "role": "user", "account_id": str(account.id)},
        form="/panel/operator/invitations",
    )
    link = re.search(r"(/panel/invitations/[A-Za-z0-9_-]+)<", invited.text)
    assert link is not None
    mate = await open_browser(runtime, ip="198.51.100.70")
    await mate.post(link.group(1), {"password": "a long password"}, form=link.group(1))

    page = await mate.get(f"/panel/messages/{sent['Data']['MessageID']}")  # type: ignore[index]

    assert page.status_code == 200
