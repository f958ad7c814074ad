"""SendSimple and SendWithBackupLine on the Amoot-compatible edge: free text to many numbers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from quickotp.adapters.store.migrate import upgrade
from quickotp.bootstrap import Runtime, build_runtime
from quickotp.domain.models import MessageStatus
from quickotp.services.messaging import MAX_MOBILES, MAX_TEXT
from quickotp.web.app import create_app
from tests.conftest import Seeded, make_settings, seed
from tests.web.wire import call

pytestmark = pytest.mark.anyio

TEHRAN = ZoneInfo("Asia/Tehran")
TEXT = "پیامک تستی من"


@pytest.fixture
async def sender(runtime: Runtime, seeded: Seeded) -> Seeded:
    """The seeded account, allowed free text."""
    await runtime.admin.set_free_text(seeded.account_id, True)
    return seeded


@asynccontextmanager
async def free_text_gateway(
    database_url: str, **env: str
) -> AsyncIterator[tuple[Runtime, Seeded, httpx.AsyncClient]]:
    """A gateway of its own settings, its seeded account allowed free text, and a client."""
    runtime = build_runtime(make_settings(database_url, **env), dispatch=False)
    await upgrade(runtime.engines)
    await runtime.start()
    try:
        seeded = await seed(runtime)
        await runtime.admin.set_free_text(seeded.account_id, True)
        transport = httpx.ASGITransport(app=create_app(runtime.gateway))
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as http:
            yield runtime, seeded, http
    finally:
        await runtime.aclose()


def simple(**extra: Any) -> dict[str, Any]:
    return {
        "SendDateTime": "",
        "SMSMessageText": TEXT,
        "LineNumber": "public",
        "Mobiles": "9120000000,9150000000",
        **extra,
    }


async def test_csharp_sample_form_post(client: httpx.AsyncClient, sender: Seeded) -> None:
    """The vendor's C# sample: a form POST, DateTime.Now.ToString(), numbers comma-joined."""
    now = datetime.now(TEHRAN).strftime("%m/%d/%Y %H:%M:%S")

    body = await call(client, "SendSimple", sender.token, **simple(SendDateTime=now))

    assert body["Status"] == "Success"
    assert [row["Mobile"] for row in body["Data"]] == [9120000000, 9150000000]
    assert [list(row) for row in body["Data"]] == [["Mobile", "MessageID", "Status"]] * 2
    assert all(row["Status"] == "Success" for row in body["Data"])
    ids = [row["MessageID"] for row in body["Data"]]
    assert len(set(ids)) == 2


async def test_php_sample_get_with_token_in_query(
    client: httpx.AsyncClient, sender: Seeded
) -> None:
    """The vendor's PHP sample: a GET, the token in the query, PHP's format('c') time."""
    now = datetime.now(TEHRAN).isoformat(timespec="seconds")

    response = await client.get(
        "/rest/SendSimple", params={"Token": sender.token, **simple(SendDateTime=now)}
    )

    assert response.json()["Status"] == "Success"


async def test_node_sample_json_post_with_token_in_body(
    client: httpx.AsyncClient, sender: Seeded
) -> None:
    """The vendor's Node sample posts JSON with the token in the body and a past time."""
    past = simple(SendDateTime="2020-01-01 12:00:00")
    body = await call(client, "SendSimple", sender.token, "json-token", **past)

    assert body["Status"] == "Success"
    assert len(body["Data"]) == 2


async def test_each_number_is_its_own_message(
    client: httpx.AsyncClient, runtime: Runtime, sender: Seeded
) -> None:
    """Every recipient gets a message of its own, charged per part, on the named line."""
    body = await call(client, "SendSimple", sender.token, **simple())

    ids = [row["MessageID"] for row in body["Data"]]
    found = await runtime.store.get_messages(sender.account_id, ids)
    assert sorted(m.mobile for m in found.values()) == ["989120000000", "989150000000"]
    assert {m.text for m in found.values()} == {TEXT}
    assert {m.sender for m in found.values()} == {"10004321"}  # public: the default line
    assert {m.status for m in found.values()} == {MessageStatus.QUEUED}
    assert (await runtime.store.get_account(sender.account_id)).credit == 1_000_000 - 2000


@pytest.mark.parametrize(
    "mobiles",
    [
        '["09120000000", "09150000000"]',  # a JSON array in a form field
        ["09120000000", "09150000000"],  # repeated parameters
    ],
)
async def test_numbers_as_a_json_array_or_repeated(
    client: httpx.AsyncClient, sender: Seeded, mobiles: Any
) -> None:
    """Mobiles may come as a JSON array or as a repeated parameter too."""
    body = await call(client, "SendSimple", sender.token, **simple(Mobiles=mobiles))

    assert [row["Mobile"] for row in body["Data"]] == [9120000000, 9150000000]


async def test_a_json_body_may_carry_the_numbers_as_an_array(
    client: httpx.AsyncClient, sender: Seeded
) -> None:
    """A JSON body's Mobiles may be a real array."""
    numbers = ["9120000000", "+989150000000"]
    body = await call(client, "SendSimple", sender.token, "json-raw", **simple(Mobiles=numbers))

    assert [row["Mobile"] for row in body["Data"]] == [9120000000, 9150000000]


async def test_a_bad_number_fails_only_its_row(client: httpx.AsyncClient, sender: Seeded) -> None:
    """One unreadable number gets its own Status; the others are sent."""
    body = await call(
        client, "SendSimple", sender.token, **simple(Mobiles="9120000000,12345,abc,9150000000")
    )

    assert body["Status"] == "Success"
    assert [(row["Mobile"], row["Status"]) for row in body["Data"]] == [
        (9120000000, "Success"),
        (12345, "Mobile_Invalid"),
        (0, "Mobile_Invalid"),
        (9150000000, "Success"),
    ]
    assert body["Data"][1]["MessageID"] == 0


async def test_when_no_row_is_sent_the_answer_is_the_failure_shape(
    client: httpx.AsyncClient, sender: Seeded
) -> None:
    """Every recipient refused: Data is null and Status is the first recipient's."""
    body = await call(client, "SendSimple", sender.token, **simple(Mobiles="12345,02188888888"))

    assert body == {"Status": "Mobile_Invalid", "Data": None}


async def test_credit_runs_out_row_by_row(client: httpx.AsyncClient, runtime: Runtime) -> None:
    """With credit for one part, one recipient is sent and the other is CreditNotEnough."""
    poor = await seed(runtime, credit=1500, name="poor")
    await runtime.admin.set_free_text(poor.account_id, True)

    body = await call(client, "SendSimple", poor.token, **simple())

    assert sorted(row["Status"] for row in body["Data"]) == ["CreditNotEnough", "Success"]


async def test_the_guard_applies_to_every_number(database_url: str, tmp_path: Any) -> None:
    """The per-number cooldown holds for free text: a second send to a number is refused."""
    gateway = free_text_gateway(database_url, QUICKOTP_GUARD_COOLDOWN_SECONDS="60")
    async with gateway as (_, seeded, http):
        first = await call(http, "SendSimple", seeded.token, **simple(Mobiles="9120000000"))
        second = await call(http, "SendSimple", seeded.token, **simple())

    assert first["Status"] == "Success"
    assert [row["Status"] for row in second["Data"]] == ["Mobile_Cooldown", "Success"]


async def test_a_repeat_inside_the_window_gets_the_first_answer(
    database_url: str,
) -> None:
    """The same SendSimple twice inside the idempotency window sends nothing new."""
    gateway = free_text_gateway(database_url, QUICKOTP_GUARD_IDEMPOTENCY_SECONDS="10")
    async with gateway as (runtime, seeded, http):
        first = await call(http, "SendSimple", seeded.token, **simple())
        again = await call(http, "SendSimple", seeded.token, **simple())
        other = await call(http, "SendSimple", seeded.token, **simple(SMSMessageText="x"))
        account = await runtime.store.get_account(seeded.account_id)

    assert again == first
    assert other["Data"][0]["MessageID"] not in {row["MessageID"] for row in first["Data"]}
    assert account.credit == 1_000_000 - 4 * 1000  # two of TEXT, two of "x"


REFUSALS: list[tuple[dict[str, Any], str]] = [
    ({"SMSMessageText": ""}, "SMSMessageText_Empty"),
    ({"SMSMessageText": "   "}, "SMSMessageText_Empty"),
    ({"SMSMessageText": "x" * (MAX_TEXT + 1)}, "Length_Exceeded"),
    ({"LineNumber": ""}, "LineNumber_Empty"),
    ({"LineNumber": "3000123"}, "LineNumber_NotExist"),
    ({"Mobiles": ""}, "Mobiles_Empty"),
    ({"Mobiles": " , ,"}, "Mobiles_Empty"),
    ({"Mobiles": ",".join(["9120000000"] * (MAX_MOBILES + 1))}, "Mobiles_Invalid"),
    ({"SendDateTime": "tomorrow"}, "SendDateTime_Invalid"),
    ({"SendDateTime": "2026-13-40 25:00:00"}, "SendDateTime_Invalid"),
    ({"SendDateTime": "3001-01-01 00:00:00"}, "SendDateTime_Invalid"),
]


async def test_refusals(client: httpx.AsyncClient, runtime: Runtime, sender: Seeded) -> None:
    """Each bad input has its Status, in the failure shape, and nothing is stored."""
    answers = [await call(client, "SendSimple", sender.token, **simple(**f)) for f, _ in REFUSALS]

    assert answers == [{"Status": status, "Data": None} for _, status in REFUSALS]
    assert await runtime.store.list_messages(sender.account_id, 10) == []


async def test_a_time_a_moment_ahead_is_a_clients_clock(
    client: httpx.AsyncClient, runtime: Runtime, sender: Seeded
) -> None:
    """DateTime.Now from a client whose clock runs a little ahead goes out now, unscheduled."""
    ahead = (datetime.now(TEHRAN) + timedelta(seconds=30)).strftime("%Y-%m-%d %H:%M:%S")
    later = (datetime.now(TEHRAN) + timedelta(minutes=5)).strftime("%Y-%m-%d %H:%M:%S")

    now = await call(client, "SendSimple", sender.token, **simple(SendDateTime=ahead))
    scheduled = await call(client, "SendSimple", sender.token, **simple(SendDateTime=later))

    ids = [now["Data"][0]["MessageID"], scheduled["Data"][0]["MessageID"]]
    found = await runtime.store.get_messages(sender.account_id, ids)
    assert found[ids[0]].not_before is None
    assert found[ids[1]].not_before is not None


async def test_too_far_ahead_is_refused(client: httpx.AsyncClient, sender: Seeded) -> None:
    """A send more than a year ahead is SendDateTime_Invalid."""
    later = (datetime.now(UTC) + timedelta(days=400)).isoformat()

    body = await call(client, "SendSimple", sender.token, **simple(SendDateTime=later))

    assert body == {"Status": "SendDateTime_Invalid", "Data": None}


async def test_free_text_needs_the_operators_permission(
    client: httpx.AsyncClient, runtime: Runtime, seeded: Seeded
) -> None:
    """Off by default: FreeText_NotAllowed, nothing stored; on once the operator grants it."""
    refused = await call(client, "SendSimple", seeded.token, **simple())
    await runtime.admin.set_free_text(seeded.account_id, True)
    allowed = await call(client, "SendSimple", seeded.token, **simple())

    assert refused == {"Status": "FreeText_NotAllowed", "Data": None}
    assert allowed["Status"] == "Success"
    assert len(await runtime.store.list_messages(seeded.account_id, 10)) == 2


async def test_token_refusals_come_first(client: httpx.AsyncClient, sender: Seeded) -> None:
    """No token, or an unknown one, in SendSimple's failure shape."""
    missing = await client.post("/rest/SendSimple", data=simple())
    unknown = await call(client, "SendSimple", sender.token + "x", **simple())

    assert missing.json() == {"Status": "Token_Invalid", "Data": None}
    assert unknown == {"Status": "Token_NotExists", "Data": None}


async def test_a_token_limited_to_other_methods(
    client: httpx.AsyncClient, runtime: Runtime, sender: Seeded
) -> None:
    """A token allowed only SendQuickOTP may not call SendSimple."""
    issued = await runtime.admin.issue_token(
        account_id=sender.account_id, allowed_methods=["SendQuickOTP"]
    )

    body = await call(client, "SendSimple", issued.secret, **simple())

    assert body == {"Status": "Token_NotAllowMethod", "Data": None}


# lines -----------------------------------------------------------------------------------


async def test_shared_names_and_the_default_line(
    client: httpx.AsyncClient, runtime: Runtime, sender: Seeded
) -> None:
    """Without shared lines set, public/service/98 stand for the account's default line."""
    ids = []
    for name in ("public", "Service", "98", "10004321", "۱۰۰۰۴۳۲۱"):
        body = await call(client, "SendSimple", sender.token, **simple(LineNumber=name))
        ids.append(body["Data"][0]["MessageID"])

    found = await runtime.store.get_messages(sender.account_id, ids)
    assert {found[i].sender for i in ids} == {"10004321"}


async def test_an_added_line_may_send_and_a_removed_one_may_not(
    client: httpx.AsyncClient, runtime: Runtime, sender: Seeded
) -> None:
    """Lines the operator adds are the account's own; removed, they are refused again."""
    await runtime.admin.add_line(sender.account_id, "3000123")
    owned = await call(client, "SendSimple", sender.token, **simple(LineNumber="3000123"))
    await runtime.admin.remove_line(sender.account_id, "3000123")
    gone = await call(client, "SendSimple", sender.token, **simple(LineNumber="3000123"))

    assert owned["Status"] == "Success"
    assert gone == {"Status": "LineNumber_NotExist", "Data": None}


async def test_another_accounts_line_is_refused(
    client: httpx.AsyncClient, runtime: Runtime, sender: Seeded
) -> None:
    """A line of another account is LineNumber_NotExist."""
    other = await runtime.admin.create_account(name="other", sender="3000999")

    body = await call(client, "SendSimple", sender.token, **simple(LineNumber=other.sender))

    assert body == {"Status": "LineNumber_NotExist", "Data": None}


async def test_shared_lines_set_by_the_operator(database_url: str) -> None:
    """QUICKOTP_SHARED_LINES maps the shared names, and its lines are usable by number."""
    gateway = free_text_gateway(database_url, QUICKOTP_SHARED_LINES="public=2000100,98=9820001")
    async with gateway as (runtime, seeded, http):
        senders = []
        for line in ("public", "98", "service", "9820001"):
            body = await call(http, "SendSimple", seeded.token, **simple(LineNumber=line))
            message_id = body["Data"][0]["MessageID"]
            found = await runtime.store.get_messages(seeded.account_id, [message_id])
            senders.append(found[message_id].sender)

    assert senders == ["2000100", "9820001", "10004321", "9820001"]


async def test_account_status_lists_every_line(
    client: httpx.AsyncClient, runtime: Runtime, sender: Seeded
) -> None:
    """ListLineNumbers holds the default line first, then the lines the operator added."""
    await runtime.admin.add_line(sender.account_id, "3000123")

    body = await call(client, "AccountStatus", sender.token)

    assert body["ListLineNumbers"] == ["10004321", "3000123"]


# SendWithBackupLine ------------------------------------------------------------------------


async def test_send_with_backup_line_stores_the_backup(
    client: httpx.AsyncClient, runtime: Runtime, sender: Seeded
) -> None:
    """The vendor's sample shape; each message keeps its backup line for the dispatcher."""
    await runtime.admin.add_line(sender.account_id, "3000123")

    body = await call(
        client,
        "SendWithBackupLine",
        sender.token,
        **simple(LineNumber="3000123", BackupLineNumber="98"),
    )

    ids = [row["MessageID"] for row in body["Data"]]
    found = await runtime.store.get_messages(sender.account_id, ids)
    assert body["Status"] == "Success"
    assert {(m.sender, m.backup_sender) for m in found.values()} == {("3000123", "10004321")}


@pytest.mark.parametrize(
    ("backup", "status"),
    [("", "BackupLineNumber_Empty"), ("3000777", "BackupLineNumber_NotExist")],
)
async def test_send_with_backup_line_refusals(
    client: httpx.AsyncClient, sender: Seeded, backup: str, status: str
) -> None:
    """The backup line is required and must be the account's (or a shared one)."""
    body = await call(client, "SendWithBackupLine", sender.token, **simple(BackupLineNumber=backup))

    assert body == {"Status": status, "Data": None}


async def test_send_with_backup_line_needs_free_text(
    client: httpx.AsyncClient, seeded: Seeded
) -> None:
    """SendWithBackupLine is free text too."""
    body = await call(client, "SendWithBackupLine", seeded.token, **simple(BackupLineNumber="98"))

    assert body == {"Status": "FreeText_NotAllowed", "Data": None}


@pytest.mark.parametrize("form", ["php", "csharp", "json-token"])
async def test_send_with_backup_line_in_every_form(
    client: httpx.AsyncClient, sender: Seeded, form: str
) -> None:
    """The PHP sample's GET, the C# sample's form POST, and a JSON POST alike."""
    now = datetime.now(TEHRAN).isoformat(timespec="seconds")

    body = await call(
        client,
        "SendWithBackupLine",
        sender.token,
        form,
        **simple(SendDateTime=now, BackupLineNumber="98"),
    )

    assert body["Status"] == "Success"
    assert [row["Status"] for row in body["Data"]] == ["Success", "Success"]
