"""CalculateMessagePrice and CalculatePatternMessagePrice: parts x price per part x recipients."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from quickotp.bootstrap import Runtime
from tests.conftest import Seeded, seed
from tests.web.wire import FORMS, call, with_pattern

pytestmark = pytest.mark.anyio

PERSIAN = "پیامک تستی من"  # Amoot's sample text: UCS-2, one part
PER_PART = 1000  # QUICKOTP_PRICE_PER_PART's default


async def approved(runtime: Runtime, account_id: int, text: str, numbers: str = "") -> int:
    """An approved pattern of the account's, with `numbers` its digit-only variables."""
    pattern = await runtime.gateway.create_account_pattern(
        account_id, text=text, is_otp=False, number_patterns=numbers
    )
    await runtime.admin.approve_pattern(pattern.id)
    return pattern.id


async def pattern_price(
    rest: httpx.AsyncClient, seeded: Seeded, pattern_id: int, values: str, **options: str
) -> Any:
    """CalculatePatternMessagePrice for one of the seeded account's patterns."""
    return await with_pattern(
        rest, "CalculatePatternMessagePrice", seeded.token, pattern_id, values, **options
    )


@pytest.mark.parametrize("form", FORMS)
async def test_message_price_in_every_form(
    rest: httpx.AsyncClient, seeded: Seeded, form: str
) -> None:
    """Amoot's sample: one part to two numbers; LineNumber names a line and costs nothing."""
    body = await call(
        rest,
        "CalculateMessagePrice",
        seeded.token,
        form,
        SMSMessageText=PERSIAN,
        LineNumber="public",
        Mobiles="9120000000,9150000000",
    )

    assert body == {"Status": "Success", "Data": 2 * PER_PART}


@pytest.mark.parametrize(
    ("text", "mobiles", "price"),
    [
        ("a" * 160, "09120000000", 1 * PER_PART),  # GSM-7: 160 in one part
        ("a" * 161, "09120000000", 2 * PER_PART),  # then 153 a part
        ("ب" * 70, "09120000000", 1 * PER_PART),  # UCS-2: 70 in one part
        ("ب" * 71, "09120000000", 2 * PER_PART),  # then 67 a part
        ("ب" * 135, "+989120000000, 00989150000000", 2 * 3 * PER_PART),
        (PERSIAN, ",".join(["09120000000"] * 100), 100 * PER_PART),  # the most in one call
        (PERSIAN, "09120000000,", PER_PART),  # an empty item is no recipient
        (PERSIAN, '["9120000000", "9150000000", 9350000000]', 3 * PER_PART),  # a JSON array
        (PERSIAN, "۰۹۱۲۰۰۰۰۰۰۰", PER_PART),  # Persian digits
    ],
)
async def test_message_price_counts_parts_as_sending_does(
    rest: httpx.AsyncClient, seeded: Seeded, text: str, mobiles: str, price: int
) -> None:
    """The part count is sending's (GSM-7 160/153, UCS-2 70/67), times each recipient."""
    body = await call(
        rest, "CalculateMessagePrice", seeded.token, SMSMessageText=text, Mobiles=mobiles
    )

    assert body == {"Status": "Success", "Data": price}


async def test_a_json_body_may_carry_mobiles_as_an_array(
    rest: httpx.AsyncClient, seeded: Seeded
) -> None:
    """Amoot's Python and Node samples post Mobiles as a JSON array."""
    body = await call(
        rest,
        "CalculateMessagePrice",
        seeded.token,
        "json-raw",
        SMSMessageText=PERSIAN,
        LineNumber="public",
        Mobiles=["9120000000"] * 3,
    )

    assert body == {"Status": "Success", "Data": 3 * PER_PART}


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"Mobiles": "9120000000"}, "SMSMessageText_Empty"),
        ({"SMSMessageText": "  \n ", "Mobiles": "9120000000"}, "SMSMessageText_Empty"),
        ({"SMSMessageText": PERSIAN}, "Mobiles_Empty"),
        ({"SMSMessageText": PERSIAN, "Mobiles": " , ,"}, "Mobiles_Empty"),
        ({"SMSMessageText": PERSIAN, "Mobiles": "9120000000,12345"}, "Mobiles_Invalid"),
        ({"SMSMessageText": PERSIAN, "Mobiles": "9120000000;9150000000"}, "Mobiles_Invalid"),
        ({"SMSMessageText": PERSIAN, "Mobiles": "+14155550100"}, "Mobiles_Invalid"),  # not IR
        ({"SMSMessageText": PERSIAN, "Mobiles": ",".join(["9120000000"] * 101)}, "Mobiles_Invalid"),
        ({"SMSMessageText": PERSIAN, "Mobiles": "[1, [2]]"}, "Mobiles_Invalid"),
    ],
)
async def test_message_price_refusals(
    rest: httpx.AsyncClient, seeded: Seeded, params: dict[str, str], status: str
) -> None:
    """Each bad parameter has its Status, and Data is null."""
    body = await call(rest, "CalculateMessagePrice", seeded.token, **params)

    assert body == {"Status": status, "Data": None}


async def test_message_price_needs_a_token(rest: httpx.AsyncClient) -> None:
    """The token rules hold: no token is Token_Invalid, an unknown one Token_NotExists."""
    params = {"SMSMessageText": PERSIAN, "Mobiles": "9120000000"}

    assert await call(rest, "CalculateMessagePrice", "", **params) == {
        "Status": "Token_Invalid",
        "Data": None,
    }
    assert await call(rest, "CalculateMessagePrice", "nope", **params) == {
        "Status": "Token_NotExists",
        "Data": None,
    }


@pytest.mark.parametrize("form", FORMS)
async def test_pattern_price_in_every_form(
    rest: httpx.AsyncClient, runtime: Runtime, seeded: Seeded, form: str
) -> None:
    """Amoot's sample: a two-variable pattern, its values comma-joined, to one number."""
    pattern_id = await approved(runtime, seeded.account_id, "سلام %name% سفارش %order%")

    body = await pattern_price(rest, seeded, pattern_id, "پارامتر 1,پارامتر 2", form=form)

    assert body == {"Status": "Success", "Data": PER_PART}


async def test_pattern_price_counts_the_filled_text(
    rest: httpx.AsyncClient, runtime: Runtime, seeded: Seeded
) -> None:
    """The price is of the text with its values in: a long value makes more parts."""
    pattern_id = await approved(runtime, seeded.account_id, "Dear %name%, order %order% is ready")

    short = await pattern_price(rest, seeded, pattern_id, "Ali,42", Mobile="09120000000")
    long = await pattern_price(rest, seeded, pattern_id, "A" * 200 + ",42", Mobile="09120000000")

    assert (short["Data"], long["Data"]) == (PER_PART, 2 * PER_PART)


async def test_pattern_values_may_hold_commas_in_a_json_array(
    rest: httpx.AsyncClient, runtime: Runtime, seeded: Seeded
) -> None:
    """A value with a comma in it is sent in a JSON array (string or JSON body)."""
    pattern_id = await approved(runtime, seeded.account_id, "Dear %name%, order %order%")

    written = await pattern_price(
        rest, seeded, pattern_id, '["Smith, John", "42"]', Mobile="09120000000"
    )
    posted = await call(
        rest,
        "CalculatePatternMessagePrice",
        seeded.token,
        "json-raw",
        Mobile="09120000000",
        PatternCodeID=pattern_id,
        PatternValues=["a,b", 4],
    )

    assert written == {"Status": "Success", "Data": PER_PART}
    assert posted == {"Status": "Success", "Data": PER_PART}


async def test_an_otp_pattern_is_priced_with_its_code(
    rest: httpx.AsyncClient, seeded: Seeded
) -> None:
    """The seeded OTP pattern takes one value, the code, like any other pattern."""
    body = await pattern_price(rest, seeded, seeded.pattern_id, "48213")

    assert body == {"Status": "Success", "Data": PER_PART}


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"Mobile": ""}, "Mobile_Empty"),
        ({"Mobile": "12345"}, "Mobile_Invalid"),
        ({"PatternCodeID": ""}, "PatternCodeID_Invalid"),
        ({"PatternCodeID": "abc"}, "PatternCodeID_Invalid"),
        ({"PatternCodeID": "0"}, "PatternCodeID_Invalid"),
        ({"PatternCodeID": "-1"}, "PatternCodeID_Invalid"),
        ({"PatternCodeID": "99999999999999999999"}, "PatternCodeID_Invalid"),
        ({"PatternCodeID": "999999"}, "PatternCodeID_Invalid"),
        ({"PatternValues": ""}, "PatternValues_Invalid"),
        ({"PatternValues": "Ali"}, "PatternValues_Invalid"),
        ({"PatternValues": "Ali,42,extra"}, "PatternValues_Invalid"),
        ({"PatternValues": "Ali, "}, "PatternValues_Empty"),
        ({"PatternValues": "Ali,forty-two"}, "PatternValues_Invalid"),  # %order% is digits
        ({"PatternValues": '["Ali"]'}, "PatternValues_Invalid"),
    ],
)
async def test_pattern_price_refusals(
    rest: httpx.AsyncClient,
    runtime: Runtime,
    seeded: Seeded,
    params: dict[str, str],
    status: str,
) -> None:
    """Each bad parameter has its Status, and Data is null."""
    pattern_id = await approved(runtime, seeded.account_id, "Dear %name%, order %order%", "order")
    sent = {
        "Mobile": "09120000000",
        "PatternCodeID": str(pattern_id),
        "PatternValues": "Ali,42",
    } | params

    body = await call(rest, "CalculatePatternMessagePrice", seeded.token, **sent)

    assert body == {"Status": status, "Data": None}


async def test_anothers_or_an_unapproved_pattern_is_not_priced(
    rest: httpx.AsyncClient, runtime: Runtime, seeded: Seeded
) -> None:
    """Another account's pattern is PatternCodeID_Invalid; a pending or rejected one of the
    caller's is Pattern_NotApproved, as for SendWithPattern."""
    other = await seed(runtime, name="other")
    pending = await runtime.gateway.create_account_pattern(
        seeded.account_id, text="pending %x%", is_otp=False, capped=False
    )
    rejected = await runtime.gateway.create_account_pattern(
        seeded.account_id, text="rejected %x%", is_otp=False, capped=False
    )
    await runtime.admin.reject_pattern(rejected.id, "no")

    cases = (
        (other.pattern_id, "1234", "PatternCodeID_Invalid"),
        (pending.id, "a", "Pattern_NotApproved"),
        (rejected.id, "a", "Pattern_NotApproved"),
    )
    for pattern_id, values, status in cases:
        body = await pattern_price(rest, seeded, pattern_id, values, Mobile="09120000000")
        assert body == {"Status": status, "Data": None}
