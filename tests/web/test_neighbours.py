"""AccountStatus, GetDelivery(ies), PatternCodeCreate and PatternCodeList on the /rest edge."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from quickotp.bootstrap import Runtime
from tests.conftest import Seeded, seed

pytestmark = pytest.mark.anyio

AMOOT_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}")


async def call(client: httpx.AsyncClient, method: str, token: str, **form: str) -> dict[str, Any]:
    response = await client.post(f"/rest/{method}", headers={"Authorization": token}, data=form)
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


async def send(client: httpx.AsyncClient, token: str) -> int:
    body = await call(client, "SendQuickOTP", token, Mobile="09121112233", CodeLength="5")
    message_id: int = body["Data"]["MessageID"]
    return message_id


async def test_account_status(client: httpx.AsyncClient, seeded: Seeded) -> None:
    """The flat AccountStatus answer: name, remaining credit in rial, prices, sender lines."""
    await send(client, seeded.token)

    body = await call(client, "AccountStatus", seeded.token)

    assert body["Status"] == "Success"
    assert body["AccountName"] == "shop"
    assert body["RemaindCredit"] == 1_000_000 - 1000
    assert body["BaseSMS_PersianPrice"] == 1000
    assert body["ListLineNumbers"] == ["10004321"]


async def test_account_status_failure_keeps_its_shape(client: httpx.AsyncClient) -> None:
    """On failure AccountStatus zeroes its fields, as Amoot does."""
    body = await call(client, "AccountStatus", "nope")

    assert body["Status"] == "Token_NotExists"
    assert (body["AccountName"], body["RemaindCredit"], body["ListLineNumbers"]) == (None, 0, [])


async def test_get_delivery_of_a_queued_message(client: httpx.AsyncClient, seeded: Seeded) -> None:
    """A message not yet dispatched is DeliveryType 900 (SendingQueue), never sent."""
    message_id = await send(client, seeded.token)

    body = await call(client, "GetDelivery", seeded.token, MessageID=str(message_id))

    data = body["Data"]
    assert body["Status"] == "Success"
    assert list(data) == ["MessageID", "DeliveryType", "Cost", "RegDateTime", "SendDateTime"]
    assert (data["MessageID"], data["DeliveryType"], data["Cost"]) == (message_id, 900, 1000)
    assert AMOOT_TIME.fullmatch(data["RegDateTime"])
    assert data["SendDateTime"] == "0001-01-01T00:00:00"


@pytest.mark.parametrize("raw", ["", "abc", "0", "-3", "1,2", "99999999999999999999"])
async def test_get_delivery_of_a_bad_id(
    client: httpx.AsyncClient, seeded: Seeded, raw: str
) -> None:
    """A malformed MessageID answers MessageID_Invalid."""
    body = await call(client, "GetDelivery", seeded.token, MessageID=raw)

    assert body == {"Status": "MessageID_Invalid", "Data": None}


async def test_get_delivery_of_another_accounts_message(
    client: httpx.AsyncClient, runtime: Runtime, seeded: Seeded
) -> None:
    """One account cannot look at another's message: it does not exist for them."""
    other = await seed(runtime, name="other")
    message_id = await send(client, other.token)

    body = await call(client, "GetDelivery", seeded.token, MessageID=str(message_id))

    assert body == {"Status": "MessageID_Invalid", "Data": None}


async def test_get_deliveries_in_the_order_asked(client: httpx.AsyncClient, seeded: Seeded) -> None:
    """GetDeliveries answers each id of ListMessageID, in order, each with its Status."""
    first, second = await send(client, seeded.token), await send(client, seeded.token)

    body = await call(client, "GetDeliveries", seeded.token, ListMessageID=f"{second}, {first}")

    assert body["Status"] == "Success"
    assert [d["MessageID"] for d in body["Data"]] == [second, first]
    assert all(d["Status"] == "Success" and d["DeliveryType"] == 900 for d in body["Data"])


async def test_get_deliveries_refuses_foreign_ids(
    client: httpx.AsyncClient, runtime: Runtime, seeded: Seeded
) -> None:
    """A list holding another account's message id is refused whole."""
    other = await seed(runtime, name="other")
    mine, theirs = await send(client, seeded.token), await send(client, other.token)

    body = await call(client, "GetDeliveries", seeded.token, ListMessageID=f"{mine},{theirs}")

    assert body == {"Status": "MessageID_Invalid", "Data": None}


async def test_pattern_create_then_list(client: httpx.AsyncClient, seeded: Seeded) -> None:
    """A created pattern is pending (Status 0) and listed with its variables."""
    created = await call(
        client,
        "PatternCodeCreate",
        seeded.token,
        MessageText="کد تایید شما %code%",
        NumberPatterns="code",
        IsOTP="True",
        RequestDescription="login",
    )
    listed = await call(client, "PatternCodeList", seeded.token)

    assert created["Status"] == "Success"
    assert created["ValidationResult"] == {"Status": 1, "Message": None}
    assert created["Data"]["Status"] == 0
    assert created["Data"]["Patterns"] == ["code"]
    assert created["Data"] in listed["Data"]
    assert {"ID": seeded.pattern_id, "Status": 1} == {
        k: v for k, v in listed["Data"][0].items() if k in {"ID", "Status"}
    }


@pytest.mark.parametrize(
    ("form", "number"),
    [
        ({"MessageText": ""}, 2),
        ({"MessageText": "no variables here"}, 3),
        ({"MessageText": "order %tracking%", "NumberPatterns": "amount"}, 5),
        ({"MessageText": "hi %name% code %code%", "IsOTP": "true"}, 5),
        ({"MessageText": "کد ورود شما: %code%", "IsOTP": "true"}, 6),  # the seeded text
    ],
)
async def test_pattern_create_validation(
    client: httpx.AsyncClient, seeded: Seeded, form: dict[str, str], number: int
) -> None:
    """Invalid patterns answer Failed with Amoot's ValidationResult number."""
    body = await call(client, "PatternCodeCreate", seeded.token, **form)

    assert body["Status"] == "Failed"
    assert body["ValidationResult"]["Status"] == number
    assert body["ValidationResult"]["Message"]
    assert body["Data"]["ID"] == 0


async def test_pattern_list_failure_is_an_empty_list(client: httpx.AsyncClient) -> None:
    """PatternCodeList fails with Data [] as Amoot documents."""
    body = await call(client, "PatternCodeList", "")

    assert body == {"Status": "Token_Invalid", "Data": []}


async def test_a_refusal_echoing_input_logs_one_line(
    client: httpx.AsyncClient, seeded: Seeded, caplog: pytest.LogCaptureFixture
) -> None:
    """A refusal whose message carries the caller's text cannot forge lines in the log."""
    forged = "amount\n2026-11-27 21:50:00 ERROR quickotp.web.amoot: SendQuickOTP failed"
    caplog.set_level("INFO", logger="quickotp")

    body = await call(
        client,
        "PatternCodeCreate",
        seeded.token,
        MessageText="order %tracking%",
        NumberPatterns=forged,
    )

    assert body["Status"] == "Failed"
    [line] = [r.getMessage() for r in caplog.records if "refused" in r.getMessage()]
    assert "\n" not in line
    assert "\\n2026-11-27" in line  # written escaped, still readable


async def test_account_status_of_an_unlimited_account(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    """Unlimited credit answers 10^15 rial, a figure clients that check the balance go on with."""
    account = await runtime.admin.create_account(name="big", unlimited=True, sender="10004321")
    issued = await runtime.admin.issue_token(account_id=account.id)

    body = await call(client, "AccountStatus", issued.secret)

    assert body["RemaindCredit"] == 10**15
    assert body["RemaindCredit"] == int(float(body["RemaindCredit"]))  # exact as a double
