"""Statistics, GetMessage and GetMessages: an account's own sending, read back, codes masked."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import insert, select, update

from quickotp.adapters.store.schema import messages
from quickotp.bootstrap import Runtime
from quickotp.domain.models import GiveUp, MessageStatus
from tests.conftest import Seeded, seed
from tests.web.wire import FORMS, call

pytestmark = pytest.mark.anyio

AMOOT_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}")


async def send(runtime: Runtime, token: str, mobile: str = "09121112233") -> tuple[int, str]:
    """An OTP accepted (queued, not dispatched): its message id and code."""
    caller = await runtime.gateway.authenticate(token, method="SendQuickOTP", ip=None)
    sent = await runtime.gateway.send_quick_otp(caller, mobile=mobile, code_length=6)
    return sent.message_id, sent.code


async def set_message(runtime: Runtime, message_id: int, **values: Any) -> None:
    async with runtime.engines.write.begin() as conn:
        await conn.execute(update(messages).where(messages.c.id == message_id).values(**values))


def tehran_day(moment: datetime) -> str:
    return (moment + timedelta(hours=3, minutes=30)).strftime("%Y-%m-%d")


# Statistics ------------------------------------------------------------------------------


@pytest.mark.parametrize("form", FORMS)
async def test_statistics_counts_by_state(
    rest: httpx.AsyncClient, runtime: Runtime, seeded: Seeded, form: str
) -> None:
    """Per Tehran day: messages, parts and cost in all, and under each delivery state."""
    await send(runtime, seeded.token)  # stays queued
    delivered, _ = await send(runtime, seeded.token)
    expired, _ = await send(runtime, seeded.token)
    await set_message(runtime, delivered, status="delivered")
    await runtime.store.record(
        [GiveUp(expired, MessageStatus.EXPIRED, "stale")], now=datetime.now(UTC)
    )
    day = tehran_day(datetime.now(UTC))

    body = await call(rest, "Statistics", seeded.token, form, FromDate=day, ToDate=day)

    assert body["Status"] == "Success"
    [stats] = body["Data"]
    assert list(stats)[:4] == ["OnlyDate", "Count", "Total", "PriceTotal"]
    assert stats["OnlyDate"] == f"{day}T00:00:00"
    assert (stats["Count"], stats["Total"], stats["PriceTotal"]) == (3, 3, 3000)
    assert stats["Delivery_SendingQueue_Count"] == 1
    assert (stats["Delivery_RecievedPhone_Count"], stats["Delivery_RecievedPhone_PriceTotal"]) == (
        1,
        1000,
    )
    assert stats["Delivery_NotTciReceived_Count"] == 1  # expired: never handed on
    assert (stats["InQueue_Count"], stats["OutOfQueue_Count"]) == (1, 2)
    assert (stats["Sent_Count"], stats["NotSent_Count"]) == (1, 1)
    assert stats["SentFrom_WebService_Count"] == 3


async def test_statistics_groups_by_tehran_day_and_skips_others(
    rest: httpx.AsyncClient, runtime: Runtime, seeded: Seeded
) -> None:
    """21:00 UTC is the next day in Tehran; another account's messages are not counted."""
    late, _ = await send(runtime, seeded.token)
    early, _ = await send(runtime, seeded.token)
    other = await seed(runtime, name="other")
    await send(runtime, other.token)
    await set_message(runtime, late, created_at=datetime(2026, 3, 1, 21, 0, tzinfo=UTC))
    await set_message(runtime, early, created_at=datetime(2026, 3, 1, 20, 0, tzinfo=UTC))

    body = await call(rest, "Statistics", seeded.token, FromDate="2026-03-01", ToDate="2026-03-02")

    assert [(d["OnlyDate"], d["Count"]) for d in body["Data"]] == [
        ("2026-03-01T00:00:00", 1),
        ("2026-03-02T00:00:00", 1),
    ]


@pytest.mark.parametrize(
    ("from_date", "to_date"),
    [
        ("2026-02-01", "2026-03-04"),  # 31 days apart: the most
        ("02/01/2026 10:26:08", "03/04/2026 10:26:08"),  # .NET invariant, with times
        ("2/1/2026 10:26:08 AM", "3/4/2026 9:00:00 PM"),  # .NET en-US
        ("1404/11/12", "1404/12/13"),  # Solar Hijri
        ("۲۰۲۶-۰۲-۰۱", "۲۰۲۶-۰۳-۰۴"),  # Persian digits
        ("2026-02-01T00:00:00+03:30", "2026-03-04T23:59:59+03:30"),  # PHP format('c')
    ],
)
async def test_statistics_reads_the_dates_clients_send(
    rest: httpx.AsyncClient, runtime: Runtime, seeded: Seeded, from_date: str, to_date: str
) -> None:
    """Whole Tehran days from FromDate's to ToDate's, whatever the form and the time of day."""
    first, _ = await send(runtime, seeded.token)
    last, _ = await send(runtime, seeded.token)
    outside, _ = await send(runtime, seeded.token)
    await set_message(runtime, first, created_at=datetime(2026, 1, 31, 20, 30, tzinfo=UTC))
    await set_message(runtime, last, created_at=datetime(2026, 3, 4, 20, 29, tzinfo=UTC))
    await set_message(runtime, outside, created_at=datetime(2026, 3, 4, 20, 30, tzinfo=UTC))

    body = await call(rest, "Statistics", seeded.token, FromDate=from_date, ToDate=to_date)

    assert body["Status"] == "Success"
    assert sum(day["Count"] for day in body["Data"]) == 2


async def test_statistics_reads_the_names_of_amoots_csharp_sample(
    rest: httpx.AsyncClient, seeded: Seeded
) -> None:
    """Amoot's C# sample for Statistics sends FromDateTime and ToDateTime."""
    body = await call(
        rest,
        "Statistics",
        seeded.token,
        FromDateTime="11/06/2026 10:26:08",
        ToDateTime="12/06/2026 10:26:08",
    )

    assert body == {"Status": "Success", "Data": []}


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"ToDate": "2026-03-01"}, "FromDate_Invalid"),
        ({"FromDate": "yesterday", "ToDate": "2026-03-01"}, "FromDate_Invalid"),
        ({"FromDate": "2026-02-30", "ToDate": "2026-03-01"}, "FromDate_Invalid"),
        ({"FromDate": "2026-03-01"}, "ToDate_Invalid"),
        ({"FromDate": "2026-03-01", "ToDate": "x" * 10_000}, "ToDate_Invalid"),
        ({"FromDate": "2026-02-01", "ToDate": "2026-03-05"}, "ToDate_Invalid"),  # 32 days
        ({"FromDate": "2025-01-01", "ToDate": "2026-01-01"}, "ToDate_Invalid"),
        ({"FromDate": "2026-03-02", "ToDate": "2026-03-01"}, "FromDateIsAfterThanToDate"),
    ],
)
async def test_statistics_refusals(
    rest: httpx.AsyncClient, seeded: Seeded, params: dict[str, str], status: str
) -> None:
    """A missing or unreadable date, a reversed window or one over 31 days: each its Status."""
    body = await call(rest, "Statistics", seeded.token, **params)

    assert body == {"Status": status, "Data": None}


# GetMessage ------------------------------------------------------------------------------


@pytest.mark.parametrize("form", FORMS)
async def test_get_message_masks_the_code_of_a_queued_message(
    rest: httpx.AsyncClient, runtime: Runtime, seeded: Seeded, form: str
) -> None:
    """A message not yet sent still holds its code: GetMessage shows it masked."""
    message_id, code = await send(runtime, seeded.token)

    body = await call(rest, "GetMessage", seeded.token, form, MessageID=str(message_id))

    data = body["Data"]
    assert body["Status"] == "Success"
    assert list(data) == [
        "MessageID",
        "Mobile",
        "LineNumber",
        "SMSMessageText",
        "RegDateTime",
        "SentDateTime",
    ]
    assert (data["MessageID"], data["Mobile"], data["LineNumber"]) == (
        message_id,
        "9121112233",
        "10004321",
    )
    assert code not in data["SMSMessageText"]
    assert data["SMSMessageText"].endswith("******")
    assert AMOOT_TIME.fullmatch(data["RegDateTime"])
    assert data["SentDateTime"] == "0001-01-01T00:00:00"


@pytest.mark.parametrize("status", [MessageStatus.FAILED, MessageStatus.EXPIRED])
async def test_get_message_never_shows_the_code_of_a_message_given_up(
    rest: httpx.AsyncClient, runtime: Runtime, seeded: Seeded, status: MessageStatus
) -> None:
    """A message that was never sent keeps no code in its text either."""
    message_id, code = await send(runtime, seeded.token)
    await runtime.store.record([GiveUp(message_id, status, "gave up")], now=datetime.now(UTC))

    body = await call(rest, "GetMessage", seeded.token, MessageID=str(message_id))

    assert code not in body["Data"]["SMSMessageText"]


async def test_get_message_of_another_account_is_not_found(
    rest: httpx.AsyncClient, runtime: Runtime, seeded: Seeded
) -> None:
    """Another account's message answers as one that does not exist."""
    other = await seed(runtime, name="other")
    theirs, _ = await send(runtime, other.token)

    body = await call(rest, "GetMessage", seeded.token, MessageID=str(theirs))

    assert body == {"Status": "MessageID_Invalid", "Data": None}


@pytest.mark.parametrize("raw", ["", "abc", "0", "-3", "1,2", "99999999999999999999", "424242"])
async def test_get_message_of_a_bad_id(rest: httpx.AsyncClient, seeded: Seeded, raw: str) -> None:
    """A malformed or unknown MessageID answers MessageID_Invalid."""
    body = await call(rest, "GetMessage", seeded.token, MessageID=raw)

    assert body == {"Status": "MessageID_Invalid", "Data": None}


# GetMessages -----------------------------------------------------------------------------


async def sent_at(runtime: Runtime, seeded: Seeded, *moments: datetime) -> list[int]:
    ids = []
    for moment in moments:
        message_id, _ = await send(runtime, seeded.token)
        await set_message(runtime, message_id, created_at=moment)
        ids.append(message_id)
    return ids


@pytest.mark.parametrize("form", FORMS)
async def test_get_messages_in_a_window_oldest_first(
    rest: httpx.AsyncClient, runtime: Runtime, seeded: Seeded, form: str
) -> None:
    """The window's messages, oldest first, both ends included, codes masked."""
    base = datetime(2026, 3, 1, 6, 30, tzinfo=UTC)  # 10:00 in Tehran
    ids = await sent_at(
        runtime,
        seeded,
        base - timedelta(seconds=1),
        base + timedelta(minutes=5),
        base,
        base + timedelta(hours=1),
        base + timedelta(hours=1, seconds=1),
    )

    body = await call(
        rest,
        "GetMessages",
        seeded.token,
        form,
        FromDateTime="2026-03-01 10:00:00",
        ToDateTime="2026-03-01T11:00:00+03:30",
    )

    assert body["Status"] == "Success"
    assert [m["MessageID"] for m in body["Data"]] == [ids[2], ids[1], ids[3]]
    assert all(m["SMSMessageText"].endswith("******") for m in body["Data"])


async def test_get_messages_of_a_whole_day_and_pages(
    rest: httpx.AsyncClient, runtime: Runtime, seeded: Seeded
) -> None:
    """A date alone is its whole day; FromRow and Count page through it."""
    start = datetime(2026, 2, 28, 20, 30, tzinfo=UTC)  # 1 March, 00:00 in Tehran
    ids = await sent_at(runtime, seeded, *(start + timedelta(hours=h) for h in range(0, 24, 4)))
    await sent_at(runtime, seeded, start + timedelta(days=1))

    whole = await call(
        rest, "GetMessages", seeded.token, FromDateTime="2026-03-01", ToDateTime="2026-03-01"
    )
    page = await call(
        rest,
        "GetMessages",
        seeded.token,
        FromDateTime="2026-03-01",
        ToDateTime="2026-03-01",
        FromRow="2",
        Count="3",
    )
    past = await call(
        rest,
        "GetMessages",
        seeded.token,
        FromDateTime="2026-03-01",
        ToDateTime="2026-03-01",
        FromRow="6",
    )

    assert [m["MessageID"] for m in whole["Data"]] == ids
    assert [m["MessageID"] for m in page["Data"]] == ids[2:5]
    assert past == {"Status": "Success", "Data": []}


async def test_get_messages_leaves_out_other_accounts(
    rest: httpx.AsyncClient, runtime: Runtime, seeded: Seeded
) -> None:
    """Another account's messages in the same window are not listed."""
    other = await seed(runtime, name="other")
    mine, _ = await send(runtime, seeded.token)
    await send(runtime, other.token)

    body = await call(
        rest, "GetMessages", seeded.token, FromDateTime="2020-01-01", ToDateTime="2099-01-01"
    )

    assert [m["MessageID"] for m in body["Data"]] == [mine]


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"FromDateTime": None}, "FromDateTime_Invalid"),
        ({"FromDateTime": "soon"}, "FromDateTime_Invalid"),
        ({"ToDateTime": None}, "ToDateTime_Invalid"),
        ({"ToDateTime": "13/13/2026"}, "ToDateTime_Invalid"),
        (
            {"FromDateTime": "2026-03-01 10:00:01", "ToDateTime": "2026-03-01 10:00:00"},
            "FromDateTimeIsAfterThanToDateTime",
        ),
        ({"FromDateTime": "2026-03-03"}, "FromDateTimeIsAfterThanToDateTime"),
        ({"FromRow": "-1"}, "FromRow_Invalid"),
        ({"FromRow": "x"}, "FromRow_Invalid"),
        ({"FromRow": "100001"}, "FromRow_Invalid"),
        ({"Count": "0"}, "Count_Invalid"),
        ({"Count": "1001"}, "Count_Invalid"),
        ({"Count": "1e3"}, "Count_Invalid"),
    ],
)
async def test_get_messages_refusals(
    rest: httpx.AsyncClient, seeded: Seeded, params: dict[str, str | None], status: str
) -> None:
    """Each bad or missing parameter has its Status, and Data is null."""
    window = {"FromDateTime": "2026-03-01", "ToDateTime": "2026-03-02"}
    sent = {name: value for name, value in (window | params).items() if value is not None}

    body = await call(rest, "GetMessages", seeded.token, **sent)

    assert body == {"Status": status, "Data": None}


async def test_get_messages_answers_at_most_a_page(
    rest: httpx.AsyncClient, runtime: Runtime, seeded: Seeded
) -> None:
    """Without Count a page holds 1000 messages; the next page starts at FromRow 1000."""
    [template_id] = await sent_at(runtime, seeded, datetime(2026, 3, 1, 6, 30, tzinfo=UTC))
    async with runtime.engines.write.begin() as conn:
        row = (await conn.execute(select(messages).where(messages.c.id == template_id))).one()
        copy = {k: v for k, v in row._asdict().items() if k != "id"}
        await conn.execute(insert(messages), [copy] * 1000)
    window = {"FromDateTime": "2026-03-01", "ToDateTime": "2026-03-01"}

    first = await call(rest, "GetMessages", seeded.token, **window)
    rest_of_it = await call(rest, "GetMessages", seeded.token, FromRow="1000", **window)

    assert len(first["Data"]) == 1000
    assert first["Data"][0]["MessageID"] == template_id
    assert len(rest_of_it["Data"]) == 1
