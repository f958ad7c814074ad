"""SendQuickOTP on the Amoot-compatible edge, as Amoot's published samples and others call it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from quickotp.bootstrap import Runtime
from quickotp.domain import keys
from quickotp.domain.errors import ExpiryInPast
from quickotp.web.app import create_app
from tests.conftest import Seeded, seed

pytestmark = pytest.mark.anyio

URL = "/rest/SendQuickOTP"


async def test_php_style_get_with_token_in_query(client: httpx.AsyncClient, seeded: Seeded) -> None:
    """Amoot's PHP sample: a GET with Token, Mobile, CodeLength and an empty OptionalCode."""
    response = await client.get(
        URL,
        params={
            "Token": seeded.token,
            "Mobile": "9120000000",
            "CodeLength": "4",
            "OptionalCode": "",
        },
    )

    body = response.json()
    assert response.status_code == 200
    assert body["Status"] == "Success"
    assert list(body["Data"]) == ["Mobile", "MessageID", "Code", "Status"]
    assert body["Data"]["Mobile"] == 9120000000
    assert body["Data"]["Status"] == "Success"
    assert isinstance(body["Data"]["MessageID"], int)
    assert isinstance(body["Data"]["Code"], str)
    assert len(body["Data"]["Code"]) == 4


async def test_csharp_style_form_post_with_raw_authorization(
    client: httpx.AsyncClient, seeded: Seeded
) -> None:
    """Amoot's C# sample: a form POST, the token as the raw Authorization header."""
    response = await client.post(
        URL,
        headers={"Authorization": seeded.token},
        data={"Mobile": "09120000000", "CodeLength": "6", "OptionalCode": ""},
    )

    body = response.json()
    assert (response.status_code, body["Status"]) == (200, "Success")
    assert len(body["Data"]["Code"]) == 6
    assert body["Data"]["Code"].isdigit()


async def test_json_body_with_lower_case_names_and_bearer(
    client: httpx.AsyncClient, seeded: Seeded
) -> None:
    """Some clients post JSON, write names in lower case and add `Bearer `."""
    response = await client.post(
        URL,
        headers={"Authorization": f"Bearer {seeded.token}"},
        json={"mobile": "+989120000000", "codelength": 5, "optionalcode": ""},
    )

    assert response.json()["Status"] == "Success"
    assert response.json()["Data"]["Mobile"] == 9120000000


async def test_token_in_the_body(client: httpx.AsyncClient, seeded: Seeded) -> None:
    """The token may come as a form field too."""
    response = await client.post(
        URL, data={"Token": seeded.token, "Mobile": "00989120000000", "CodeLength": "4"}
    )

    assert response.json()["Status"] == "Success"


async def test_optional_code_is_sent_as_given(client: httpx.AsyncClient, seeded: Seeded) -> None:
    """A caller's own code wins, even when CodeLength says another length; digits normalised."""
    response = await client.post(
        URL,
        headers={"Authorization": seeded.token},
        data={"Mobile": "۰۹۱۲۰۰۰۰۰۰۰", "CodeLength": "4", "OptionalCode": "۰۱۲۳۴۵"},
    )

    assert response.json()["Data"]["Code"] == "012345"


async def test_message_ids_are_distinct_and_increasing(
    client: httpx.AsyncClient, seeded: Seeded
) -> None:
    """Each accepted OTP gets its own MessageID, a JSON number."""
    ids = []
    for _ in range(3):
        response = await client.post(
            URL,
            headers={"Authorization": seeded.token},
            data={"Mobile": "9121234567", "CodeLength": "4"},
        )
        ids.append(response.json()["Data"]["MessageID"])

    assert ids == sorted(set(ids))


async def test_data_can_be_a_one_element_array(runtime: Runtime, seeded: Seeded) -> None:
    """QUICKOTP_OTP_DATA_FORM=array answers Data as the prose docs describe it."""
    app = create_app(runtime.gateway, data_as_array=True)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://gateway.test"
    ) as http:
        response = await http.post(
            URL,
            headers={"Authorization": seeded.token},
            data={"Mobile": "9120000000", "CodeLength": "4"},
        )

    data = response.json()["Data"]
    assert isinstance(data, list)
    assert len(data) == 1
    assert data[0]["Mobile"] == 9120000000


BAD_REQUESTS: list[tuple[dict[str, str], str]] = [
    ({"CodeLength": "4"}, "Mobile_Empty"),
    ({"Mobile": "", "CodeLength": "4"}, "Mobile_Empty"),
    ({"Mobile": "   ", "CodeLength": "4"}, "Mobile_Empty"),
    ({"Mobile": "12", "CodeLength": "4"}, "Mobile_Invalid"),
    ({"Mobile": "02188888888", "CodeLength": "4"}, "Mobile_Invalid"),
    ({"Mobile": "+447900123456", "CodeLength": "4"}, "Mobile_Invalid"),
    ({"Mobile": "<script>", "CodeLength": "4"}, "Mobile_Invalid"),
    ({"Mobile": "09120000000"}, "Length_Invalid"),
    ({"Mobile": "09120000000", "CodeLength": ""}, "Length_Invalid"),
    ({"Mobile": "09120000000", "CodeLength": "six"}, "Length_Invalid"),
    ({"Mobile": "09120000000", "CodeLength": "3"}, "Length_Invalid"),
    ({"Mobile": "09120000000", "CodeLength": "9"}, "Length_Invalid"),
    ({"Mobile": "09120000000", "CodeLength": "4", "OptionalCode": "123"}, "Length_Invalid"),
    ({"Mobile": "09120000000", "CodeLength": "4", "OptionalCode": "123456789"}, "Length_Invalid"),
    ({"Mobile": "09120000000", "CodeLength": "4", "OptionalCode": "12ab"}, "Length_Invalid"),
]


@pytest.mark.parametrize(("form", "status"), BAD_REQUESTS)
async def test_bad_input_answers_with_its_status(
    client: httpx.AsyncClient, seeded: Seeded, form: dict[str, str], status: str
) -> None:
    """Every input rule has its Status, with HTTP 200 and Data null."""
    response = await client.post(URL, headers={"Authorization": seeded.token}, data=form)

    assert (response.status_code, response.json()) == (200, {"Status": status, "Data": None})


async def _refused(client: httpx.AsyncClient, **kwargs: Any) -> tuple[int, dict[str, Any]]:
    response = await client.post(URL, data={"Mobile": "09120000000", "CodeLength": "4"}, **kwargs)
    return response.status_code, response.json()


async def test_missing_token_is_token_invalid(client: httpx.AsyncClient, seeded: Seeded) -> None:
    """No token at all answers Token_Invalid."""
    assert await _refused(client) == (200, {"Status": "Token_Invalid", "Data": None})


async def test_unknown_token_is_token_not_exists(client: httpx.AsyncClient, seeded: Seeded) -> None:
    """A token we never issued answers Token_NotExists."""
    result = await _refused(client, headers={"Authorization": seeded.token + "x"})

    assert result == (200, {"Status": "Token_NotExists", "Data": None})


async def test_disabled_token(client: httpx.AsyncClient, runtime: Runtime, seeded: Seeded) -> None:
    """A switched-off token answers Token_Disabled."""
    found = await runtime.store.find_token(
        keys.token_digest(runtime.gateway.keys.token, seeded.token)
    )
    assert found is not None
    await runtime.store.set_token_active(found[0].id, False)

    result = await _refused(client, headers={"Authorization": seeded.token})

    assert result == (200, {"Status": "Token_Disabled", "Data": None})


async def test_expired_token(client: httpx.AsyncClient, runtime: Runtime, seeded: Seeded) -> None:
    """
    A token past its expiry answers Token_Expired. (One cannot be made expired: its expiry
    is moved into the past in the database.)
    """
    with pytest.raises(ExpiryInPast):
        await runtime.admin.issue_token(
            account_id=seeded.account_id, expires_at=datetime.now(UTC) - timedelta(seconds=1)
        )
    issued = await runtime.admin.issue_token(
        account_id=seeded.account_id, expires_at=datetime.now(UTC) + timedelta(hours=1)
    )
    await runtime.workspace.panel.update_token(
        seeded.account_id,
        issued.token.id,
        label="",
        expires_at=datetime.now(UTC) - timedelta(seconds=1),
        allowed_ips=[],
        allowed_methods=[],
    )

    result = await _refused(client, headers={"Authorization": issued.secret})

    assert result == (200, {"Status": "Token_Expired", "Data": None})


async def test_token_from_a_disallowed_address(
    client: httpx.AsyncClient, runtime: Runtime, seeded: Seeded
) -> None:
    """A token limited to other networks answers Token_NotAllowIP (the client is 203.0.113.7)."""
    issued = await runtime.admin.issue_token(
        account_id=seeded.account_id, allowed_ips=["10.0.0.0/8", "2001:db8::/32"]
    )
    allowed = await runtime.admin.issue_token(
        account_id=seeded.account_id, allowed_ips=["203.0.113.0/24"]
    )

    refused = await _refused(client, headers={"Authorization": issued.secret})
    accepted = await _refused(client, headers={"Authorization": allowed.secret})

    assert refused == (200, {"Status": "Token_NotAllowIP", "Data": None})
    assert accepted[1]["Status"] == "Success"


async def test_token_for_other_methods(
    client: httpx.AsyncClient, runtime: Runtime, seeded: Seeded
) -> None:
    """A token limited to other methods answers Token_NotAllowMethod."""
    issued = await runtime.admin.issue_token(
        account_id=seeded.account_id, allowed_methods=["AccountStatus"]
    )

    result = await _refused(client, headers={"Authorization": issued.secret})

    assert result == (200, {"Status": "Token_NotAllowMethod", "Data": None})


async def test_disabled_account(
    client: httpx.AsyncClient, runtime: Runtime, seeded: Seeded
) -> None:
    """A token of a switched-off account answers User_Disabled."""
    await runtime.admin.set_account_active(seeded.account_id, False)

    result = await _refused(client, headers={"Authorization": seeded.token})

    assert result == (200, {"Status": "User_Disabled", "Data": None})


async def test_no_approved_otp_pattern_is_failed(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    """Without an approved OTP pattern nothing is sent: Failed."""
    account = await runtime.admin.create_account(name="new", credit=10_000)
    pattern = await runtime.gateway.create_account_pattern(
        account.id, text="c %code%", is_otp=True, capped=False
    )
    issued = await runtime.admin.issue_token(account_id=account.id)

    pending = await _refused(client, headers={"Authorization": issued.secret})
    await runtime.admin.reject_pattern(pattern.id, "sender name missing")
    rejected = await _refused(client, headers={"Authorization": issued.secret})

    assert pending == rejected == (200, {"Status": "Failed", "Data": None})


async def test_credit_not_enough(client: httpx.AsyncClient, runtime: Runtime) -> None:
    """An account that cannot pay for the parts answers CreditNotEnough and is not charged."""
    poor = await seed(runtime, credit=1500, name="poor")  # one part costs 1000 rial

    first = await _refused(client, headers={"Authorization": poor.token})
    second = await _refused(client, headers={"Authorization": poor.token})
    account = await runtime.store.get_account(poor.account_id)

    assert first[1]["Status"] == "Success"
    assert second == (200, {"Status": "CreditNotEnough", "Data": None})
    assert account.credit == 500


async def test_unlimited_account_is_never_short(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    """An unlimited account sends with zero credit and its balance does not move."""
    account = await runtime.admin.create_account(name="vip", unlimited=True)
    pattern = await runtime.gateway.create_account_pattern(
        account.id, text="%code%", is_otp=True, capped=False
    )
    await runtime.admin.approve_pattern(pattern.id)
    issued = await runtime.admin.issue_token(account_id=account.id)

    result = await _refused(client, headers={"Authorization": issued.secret})

    assert result[1]["Status"] == "Success"
    assert (await runtime.store.get_account(account.id)).credit == 0


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("application/json", b"{not json"),
        ("application/json", b"[1, 2]"),
        ("application/x-www-form-urlencoded", b"Mobile=\xff\xfe"),
        # nested past what orjson writes back (a non-text value is read as its JSON)
        ("application/json", b'{"Mobile": ' + b"[" * 300 + b"]" * 300 + b"}"),
        # a part's charset that decodes to a lone surrogate (utf-7 "+2AA-" is U+D800)
        (
            "multipart/form-data; boundary=XyZ; charset=utf-7",
            b'--XyZ\r\nContent-Disposition: form-data; name="Mobile"\r\n\r\n+2AA-\r\n'
            b'--XyZ\r\nContent-Disposition: form-data; name="CodeLength"\r\n\r\n4\r\n'
            b"--XyZ--\r\n",
        ),
    ],
)
async def test_unreadable_bodies_are_failed_not_500(
    client: httpx.AsyncClient, seeded: Seeded, content_type: str, body: bytes
) -> None:
    """A body that cannot be read answers Failed with HTTP 200."""
    response = await client.post(
        URL, headers={"Authorization": seeded.token, "Content-Type": content_type}, content=body
    )

    assert (response.status_code, response.json()) == (200, {"Status": "Failed", "Data": None})


async def test_oversized_body_is_refused(client: httpx.AsyncClient, seeded: Seeded) -> None:
    """A body far larger than any Amoot request is refused without being read whole."""
    response = await client.post(
        URL, headers={"Authorization": seeded.token}, data={"Mobile": "9" * 100_000}
    )

    assert response.json() == {"Status": "Failed", "Data": None}


async def test_unknown_method_is_404(client: httpx.AsyncClient) -> None:
    """A method the gateway does not have is a 404, still in the envelope."""
    response = await client.post("/rest/SendEverything")

    assert (response.status_code, response.json()["Status"]) == (404, "Failed")
