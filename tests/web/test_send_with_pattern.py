"""SendWithPattern and SendWithPatternOWN: an account's approved patterns, their values filled."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from quickotp.bootstrap import Runtime
from quickotp.domain.models import MessageStatus
from tests.adapters.store.test_dispatcher import ScriptedTransport, dispatcher, until
from tests.conftest import Seeded, approved_order_pattern, seed
from tests.web.wire import call, with_pattern

pytestmark = pytest.mark.anyio

ORDER = "سلام %name%، سفارش %order% ثبت شد"


@pytest.fixture
async def order_pattern(runtime: Runtime, seeded: Seeded) -> int:
    """An approved plain pattern of the seeded account: a name, and a digits-only order."""
    return await approved_order_pattern(runtime, seeded, ORDER)


async def text_of(runtime: Runtime, seeded: Seeded, body: dict[str, Any]) -> str:
    message_id = body["Data"][0]["MessageID"]
    return (await runtime.store.get_messages(seeded.account_id, [message_id]))[message_id].text


async def test_csharp_sample_comma_joined_values(
    client: httpx.AsyncClient, runtime: Runtime, seeded: Seeded, order_pattern: int
) -> None:
    """The vendor's C# sample: PatternValues comma-joined, in the pattern's order."""
    body = await with_pattern(client, "SendWithPattern", seeded.token, order_pattern, "مریم,۱۲۳۴")

    assert body["Status"] == "Success"
    assert [list(row) for row in body["Data"]] == [["Mobile", "MessageID", "Status"]]
    assert body["Data"][0]["Mobile"] == 9120000000
    assert await text_of(runtime, seeded, body) == "سلام مریم، سفارش ۱۲۳۴ ثبت شد"


async def test_php_sample_get(
    client: httpx.AsyncClient, runtime: Runtime, seeded: Seeded, order_pattern: int
) -> None:
    """The vendor's PHP sample: a GET with the token in the query."""
    body = await with_pattern(
        client, "SendWithPattern", seeded.token, order_pattern, "p1,42", form="php"
    )

    assert body["Status"] == "Success"


@pytest.mark.parametrize(
    "values",
    [
        '["Smith, Anna", "42"]',  # a JSON array in a form field: the comma stays in the value
        ["Smith, Anna", "42"],  # repeated parameters
    ],
)
async def test_a_value_holding_a_comma(
    client: httpx.AsyncClient, runtime: Runtime, seeded: Seeded, order_pattern: int, values: Any
) -> None:
    """A value with a comma in it goes in a JSON array, or as repeated parameters."""
    body = await with_pattern(client, "SendWithPattern", seeded.token, order_pattern, values)

    assert await text_of(runtime, seeded, body) == "سلام Smith, Anna، سفارش 42 ثبت شد"


async def test_json_body_with_an_array_and_the_token_in_the_body(
    client: httpx.AsyncClient, runtime: Runtime, seeded: Seeded, order_pattern: int
) -> None:
    """A JSON body may carry PatternValues as an array, and the token beside it."""
    response = await client.post(
        "/rest/SendWithPattern",
        json={
            "token": seeded.token,
            "mobile": "09120000000",
            "patterncodeid": order_pattern,
            "patternvalues": ["Anna", 42],
        },
    )

    assert await text_of(runtime, seeded, response.json()) == "سلام Anna، سفارش 42 ثبت شد"


async def test_php_style_indexed_values(
    client: httpx.AsyncClient, runtime: Runtime, seeded: Seeded, order_pattern: int
) -> None:
    """PHP's http_build_query writes PatternValues[0]=...&PatternValues[1]=..."""
    indexed = {"PatternValues[0]": "Anna", "PatternValues[1]": "7"}
    body = await call(
        client,
        "SendWithPattern",
        seeded.token,
        "php",
        Mobile="9120000000",
        PatternCodeID=str(order_pattern),
        **indexed,
    )

    assert await text_of(runtime, seeded, body) == "سلام Anna، سفارش 7 ثبت شد"


async def test_plain_patterns_need_no_free_text(
    client: httpx.AsyncClient, runtime: Runtime, seeded: Seeded, order_pattern: int
) -> None:
    """Patterns are the operator's approved texts: no free-text permission needed, no code."""
    body = await with_pattern(client, "SendWithPattern", seeded.token, order_pattern, "a,1")

    verification = await runtime.store.latest_verification(seeded.account_id, "989120000000")
    assert body["Status"] == "Success"
    assert verification is None


async def test_an_otp_pattern_sends_the_callers_code_and_verifies_it(
    client: httpx.AsyncClient, runtime: Runtime, seeded: Seeded
) -> None:
    """An OTP pattern's value is the code: a verification is made and VerifyQuickOTP checks it."""
    body = await with_pattern(client, "SendWithPattern", seeded.token, seeded.pattern_id, "۴۸۲۱۳")
    wrong = await call(client, "VerifyQuickOTP", seeded.token, Mobile="9120000000", Code="11111")
    right = await call(client, "VerifyQuickOTP", seeded.token, Mobile="9120000000", Code="48213")

    assert body["Status"] == "Success"
    assert wrong["Status"] == "Code_Invalid"
    assert right["Status"] == "Success"
    assert right["Data"]["MessageID"] == body["Data"][0]["MessageID"]


async def test_an_otp_patterns_code_is_masked_once_sent(
    client: httpx.AsyncClient, runtime: Runtime, seeded: Seeded
) -> None:
    """The caller's code leaves the stored text once an upstream took the message."""
    body = await with_pattern(client, "SendWithPattern", seeded.token, seeded.pattern_id, "48213")
    message_id = body["Data"][0]["MessageID"]
    transport = ScriptedTransport()
    worker = dispatcher(runtime, transport)
    await worker.start()
    try:

        async def sent() -> bool:
            found = await runtime.store.get_messages(seeded.account_id, [message_id])
            return found[message_id].status is MessageStatus.SENT

        await until(sent)
    finally:
        await worker.aclose()

    assert transport.sent[0].text == "کد ورود شما: 48213"
    assert transport.sent[0].code == "48213"
    assert await text_of(runtime, seeded, body) == "کد ورود شما: *****"


async def test_send_with_pattern_own_uses_the_line(
    client: httpx.AsyncClient, runtime: Runtime, seeded: Seeded, order_pattern: int
) -> None:
    """SendWithPatternOWN sends on the line named; SendWithPattern on the default line."""
    await runtime.admin.add_line(seeded.account_id, "3000123")
    own = await with_pattern(
        client, "SendWithPatternOWN", seeded.token, order_pattern, "a,1", LineNumber="3000123"
    )
    plain = await with_pattern(client, "SendWithPattern", seeded.token, order_pattern, "a,1")

    ids = [own["Data"][0]["MessageID"], plain["Data"][0]["MessageID"]]
    found = await runtime.store.get_messages(seeded.account_id, ids)
    assert [found[i].sender for i in ids] == ["3000123", "10004321"]


@pytest.mark.parametrize(
    ("line", "status"),
    [("", "LineNumber_Empty"), ("3000999", "LineNumber_NotExist")],
)
async def test_send_with_pattern_own_line_refusals(
    client: httpx.AsyncClient, seeded: Seeded, order_pattern: int, line: str, status: str
) -> None:
    """SendWithPatternOWN needs a line of the account's."""
    body = await with_pattern(
        client, "SendWithPatternOWN", seeded.token, order_pattern, "a,1", LineNumber=line
    )

    assert body == {"Status": status, "Data": None}


REFUSALS: list[tuple[dict[str, str], str]] = [
    ({"PatternValues": "a"}, "PatternValues_Invalid"),  # one value for two variables
    ({"PatternValues": "a,1,2"}, "PatternValues_Invalid"),
    ({"PatternValues": ""}, "PatternValues_Invalid"),
    ({"PatternValues": "a,x"}, "PatternValues_Invalid"),  # %order% takes digits only
    ({"PatternValues": "a, "}, "PatternValues_Empty"),
    ({"PatternValues": '["", "1"]'}, "PatternValues_Empty"),
    ({"PatternCodeID": ""}, "PatternCodeID_Invalid"),
    ({"PatternCodeID": "abc"}, "PatternCodeID_Invalid"),
    ({"PatternCodeID": "999999"}, "PatternCodeID_Invalid"),
    ({"Mobile": ""}, "Mobile_Empty"),
    ({"Mobile": "12345"}, "Mobile_Invalid"),
]


async def test_refusals(client: httpx.AsyncClient, seeded: Seeded, order_pattern: int) -> None:
    """Each bad input has its Status, in the failure shape."""
    request = {"Mobile": "9120000000", "PatternCodeID": str(order_pattern), "PatternValues": "a,1"}

    answers = [
        await call(client, "SendWithPattern", seeded.token, **{**request, **form})
        for form, _ in REFUSALS
    ]

    assert answers == [{"Status": status, "Data": None} for _, status in REFUSALS]


async def test_an_otp_patterns_code_must_be_4_to_8_digits(
    client: httpx.AsyncClient, seeded: Seeded
) -> None:
    """The value for %code% is digits (a digit-only variable), 4 to 8 of them (OptionalCode's)."""
    cases = [
        ("123", "Length_Invalid"),
        ("123456789", "Length_Invalid"),
        ("12ab", "PatternValues_Invalid"),
    ]

    answers = [
        await with_pattern(client, "SendWithPattern", seeded.token, seeded.pattern_id, code)
        for code, _ in cases
    ]

    assert answers == [{"Status": status, "Data": None} for _, status in cases]


async def test_another_accounts_pattern_is_unknown(
    client: httpx.AsyncClient, runtime: Runtime, seeded: Seeded
) -> None:
    """Another account's approved pattern looks the same as none at all."""
    other = await seed(runtime, name="other")

    body = await with_pattern(client, "SendWithPattern", seeded.token, other.pattern_id, "12345")

    assert body == {"Status": "PatternCodeID_Invalid", "Data": None}


async def test_pending_and_rejected_patterns_are_not_approved(
    client: httpx.AsyncClient, runtime: Runtime, seeded: Seeded
) -> None:
    """The account's own pattern before approval, or rejected: Pattern_NotApproved."""
    pattern = await runtime.gateway.create_account_pattern(
        seeded.account_id, text="hello %name%", is_otp=False
    )
    form = {"Mobile": "9120000000", "PatternCodeID": str(pattern.id), "PatternValues": "x"}

    pending = await call(client, "SendWithPattern", seeded.token, **form)
    await runtime.admin.reject_pattern(pattern.id, "no sender name")
    rejected = await call(client, "SendWithPattern", seeded.token, **form)

    assert pending == rejected == {"Status": "Pattern_NotApproved", "Data": None}


async def test_one_variable_takes_the_whole_string(
    client: httpx.AsyncClient, runtime: Runtime, seeded: Seeded
) -> None:
    """A pattern with one variable takes the whole string as its value, commas and all."""
    pattern = await runtime.gateway.create_account_pattern(
        seeded.account_id, text="note: %text%", is_otp=False
    )
    await runtime.admin.approve_pattern(pattern.id)

    body = await with_pattern(client, "SendWithPattern", seeded.token, pattern.id, "one, two")

    assert await text_of(runtime, seeded, body) == "note: one, two"


@pytest.mark.parametrize("form", ["php", "csharp", "json-token"])
async def test_send_with_pattern_own_in_every_form(
    client: httpx.AsyncClient, seeded: Seeded, order_pattern: int, form: str
) -> None:
    """The PHP sample's GET, the C# sample's form POST, and a JSON POST alike."""
    body = await with_pattern(
        client,
        "SendWithPatternOWN",
        seeded.token,
        order_pattern,
        "p1,2",
        form=form,
        LineNumber="public",
    )

    assert body["Status"] == "Success"
    assert body["Data"][0]["Mobile"] == 9120000000
