"""
The message log and the operator's search: what a search box, a day and a cursor mean;
keyset pages that walk every match once, newest first, on SQLite and PostgreSQL; every
filter; capped counts; the streamed CSV and its safety; who may see what.
"""

from __future__ import annotations

import csv
import io
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import jdatetime
import pytest
from sqlalchemy import insert, update
from starlette.datastructures import QueryParams

from quickotp.adapters.store.message_log import MessageLogSqlStore, page_statement
from quickotp.adapters.store.schema import messages, verifications
from quickotp.bootstrap import PANEL_ZONE, Runtime
from quickotp.domain.errors import InvalidInput
from quickotp.domain.models import (
    Actor,
    LogCursor,
    Message,
    MessagePage,
    MessageQuery,
    MessageStatus,
    NewMessage,
    Role,
    VerificationStatus,
)
from quickotp.panel.forms import day as read_day_field
from quickotp.panel.pages.message_log import csv_rows, safe_cell
from quickotp.services.message_log import (
    Filters,
    MessageLog,
    cursor_text,
    read_cursor,
    search_terms,
)
from tests.panel.conftest import Browser, approved_account, open_browser, send_otp

TEHRAN = ZoneInfo("Asia/Tehran")
NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


# what people type ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "terms"),
    [
        ("0912 000 0001", ("989120000001", "", None)),
        ("+98 912 000 0001", ("989120000001", "", None)),
        ("9120000001", ("989120000001", "", None)),
        ("۰۰۹۸۹۱۲۰۰۰۰۰۰۱", ("989120000001", "", None)),
        ("#42", ("", "", 42)),
        ("# ۴۲", ("", "", 42)),
        ("0912", ("", "912", None)),  # the search box's own example: numbers, never #912
        ("۰۹۱۲", ("", "912", None)),
        ("912", ("", "912", None)),
        ("+98912", ("", "98912", None)),
        ("0098912", ("", "98912", None)),
        ("12345", ("", "12345", None)),
        ("", ("", "", None)),
    ],
)
def test_a_search_reads_numbers_parts_and_explicit_ids(
    typed: str, terms: tuple[str, str, int | None]
) -> None:
    """A whole number in any form is that number; other digits a part of one; only #n an id."""
    assert search_terms(typed, regions=("IR",)) == terms


@pytest.mark.parametrize("typed", ["42", "012", "0912-abc", "#x", "#" + "9" * 19, "abc"])
def test_what_is_no_number_part_nor_id_is_refused(typed: str) -> None:
    with pytest.raises(InvalidInput):
        search_terms(typed, regions=("IR",))


def test_a_cursor_survives_its_link_and_garbage_reads_as_the_first_page() -> None:
    cursor = LogCursor(datetime(2026, 3, 1, 10, 0, 0, 123456, tzinfo=UTC), 987)

    assert read_cursor(cursor_text(cursor)) == cursor
    for garbage in ("", "abc", "12-", "-5", "1-2-3", "9" * 30 + "-1"):
        assert read_cursor(garbage) is None


@pytest.mark.parametrize(
    ("typed", "day"),
    [
        ("1403/12/11", date(2025, 3, 1)),
        ("۱۴۰۳-۱۲-۱۱", date(2025, 3, 1)),
        ("1403/1/1", date(2024, 3, 20)),
        ("2025-03-01", date(2025, 3, 1)),
        ("2025/3/1", date(2025, 3, 1)),
        ("", None),
    ],
)
def test_a_day_is_read_in_either_calendar(typed: str, day: date | None) -> None:
    """A year before 1700 is Jalali; digits of any script."""
    assert read_day_field(QueryParams({"since": typed}), "since") == day


@pytest.mark.parametrize("typed", ["1403/13/01", "1403/12/31", "2025-02-30", "tomorrow", "3/1"])
def test_a_day_that_is_not_one_is_refused(typed: str) -> None:
    with pytest.raises(InvalidInput):
        read_day_field(QueryParams({"since": typed}), "since")


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+98912", "'+98912"),
        ("-1+2", "'-1+2"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tcmd", "'\tcmd"),
        ("\r=1", "'\r=1"),
        ("Your code: ****", "Your code: ****"),
        (12, "12"),
        (None, ""),
    ],
)
def test_a_csv_cell_never_starts_a_formula(value: object, cell: str) -> None:
    assert safe_cell(value) == cell


# the log on both databases ---------------------------------------------------------------


def _new(
    account_id: int, token_id: int | None, pattern_id: int, at: datetime, n: int, text: str
) -> NewMessage:
    return NewMessage(
        account_id=account_id,
        token_id=token_id,
        pattern_id=pattern_id,
        mobile=f"98912{n % 7:07d}",
        sender="1000",
        text=text,
        code=None,
        encoding="ucs2",
        parts=1,
        cost=0,
        expires_at=at + timedelta(minutes=2),
        created_at=at,
        verification_id=f"v{account_id}-{n:029d}",
        code_digest=b"d" * 32,
        attempts_left=5,
        address="203.0.113.9",
    )


async def _fill(runtime: Runtime, count: int) -> tuple[int, int, list[int], list[int]]:
    """
    Two accounts: `count` messages of the first over three days (every third one failed
    and its verification expired, the first token on the even ones), and a few of the
    second's at the same times. The first's ids, then the second's.
    """
    mine = await runtime.admin.create_account(name="Mine", unlimited=True)
    theirs = await runtime.admin.create_account(name="Theirs", unlimited=True)
    mine_pattern = await runtime.gateway.create_account_pattern(
        mine.id, text="%code%", is_otp=True, capped=False
    )
    their_pattern = await runtime.gateway.create_account_pattern(
        theirs.id, text="%code%", is_otp=True, capped=False
    )
    first = (await runtime.admin.issue_token(account_id=mine.id)).token.id
    second = (await runtime.admin.issue_token(account_id=mine.id)).token.id
    step = timedelta(days=3) / count
    batch = [
        _new(mine.id, first if n % 2 == 0 else second, mine_pattern.id, NOW - step * n, n, "hi")
        for n in range(count)
    ]
    batch += [
        _new(theirs.id, None, their_pattern.id, NOW - step * n * 10, n, "x") for n in range(5)
    ]
    ids = [i for i in await runtime.store.accept(batch, NOW) if i is not None]
    mine_ids, their_ids = ids[:count], ids[count:]
    failed = mine_ids[::3]
    async with runtime.engines.write.begin() as conn:
        await conn.execute(
            update(messages).where(messages.c.id.in_(failed)).values(status="failed")
        )
        await conn.execute(
            update(verifications)
            .where(verifications.c.message_id.in_(failed))
            .values(status=VerificationStatus.EXPIRED.value)
        )
    return mine.id, first, mine_ids, their_ids


async def _walk(
    store: MessageLogSqlStore, account_id: int | None, query: MessageQuery
) -> list[int]:
    """Every page, by each page's cursor, as the Older link walks them."""
    seen: list[int] = []
    page = await store.page(account_id, query)
    while True:
        seen += [m.id for m in page.items]
        if page.older is None:
            return seen
        assert len(page.items) == query.limit
        page = await store.page(account_id, replace(query, before=page.older))


@pytest.mark.anyio
async def test_keyset_pages_walk_every_message_once_newest_first(runtime: Runtime) -> None:
    """Pages of 7 over 40 messages: each once, in (time, id) order, none of another account."""
    account_id, _, mine, _ = await _fill(runtime, 40)
    store = MessageLogSqlStore(runtime.engines)

    walked = await _walk(store, account_id, MessageQuery(limit=7))

    assert walked == mine  # made newest first, so their ids are in the log's order
    assert "OFFSET" not in str(page_statement(account_id, MessageQuery(limit=7))).upper()


@pytest.mark.anyio
async def test_every_filter_finds_its_messages_and_counts_them(runtime: Runtime) -> None:
    """State, verification outcome, token, number, id and days, alone and together."""
    account_id, first_token, mine, theirs = await _fill(runtime, 30)
    store = MessageLogSqlStore(runtime.engines)
    failed = set(mine[::3])
    by_first_token = set(mine[::2])

    async def found(**fields: Any) -> set[int]:
        query = MessageQuery(limit=4, **fields)
        walked = await _walk(store, account_id, query)
        assert await store.count(account_id, query, cap=1000) == len(walked)
        return set(walked)

    assert await found(status=MessageStatus.FAILED) == failed
    assert await found(verification=VerificationStatus.EXPIRED) == failed
    assert await found(token_id=first_token) == by_first_token
    assert await found(status=MessageStatus.FAILED, token_id=first_token) == (
        failed & by_first_token
    )
    assert await found(mobile="989120000003") == set(mine[3::7])
    assert await found(mobile_digits="0000003") == set(mine[3::7])
    assert await found(message_id=mine[5]) == {mine[5]}
    assert await found(message_id=theirs[0]) == set()  # another account's id: nothing
    day = datetime(2026, 3, 9, tzinfo=TEHRAN)  # one whole day of Iran's
    within = await found(since=day, until=day + timedelta(days=1))
    assert within
    rows = {m.id: m for m in (await store.page(account_id, MessageQuery(limit=100))).items}
    assert all(day <= rows[i].created_at < day + timedelta(days=1) for i in within)
    assert len(within) == sum(day <= m.created_at < day + timedelta(days=1) for m in rows.values())


async def _bulk(runtime: Runtime, account_id: int, numbers: list[str], newest: datetime) -> None:
    """Messages to `numbers`, a second apart, the last one at `newest`: inserted in bulk."""
    oldest = newest - timedelta(seconds=len(numbers) - 1)
    rows = [
        {
            "account_id": account_id,
            "mobile": number,
            "sender": "1000",
            "text": "hi",
            "encoding": "gsm7",
            "parts": 1,
            "cost": 0,
            "charged": 0,
            "status": MessageStatus.DELIVERED.value,
            "attempts": 1,
            "possible_duplicate": False,
            "next_attempt_at": oldest + timedelta(seconds=n),
            "expires_at": oldest + timedelta(seconds=n, minutes=2),
            "created_at": oldest + timedelta(seconds=n),
        }
        for n, number in enumerate(numbers)
    ]
    async with runtime.engines.write.begin() as conn:
        await conn.execute(insert(messages), rows)


@pytest.mark.anyio
@pytest.mark.parametrize("typed", ["۳۴۵۶۷", "0912345", "+98912345"])
async def test_a_part_of_a_number_is_found_in_the_whole_log(runtime: Runtime, typed: str) -> None:
    """
    The oldest of 10,050 messages is the only one to 0912 345 6789: a part of its number,
    in any written form, finds it, whether the part is rare in the log or held by 2,500 of
    another account's messages, and the count says so.
    """
    mine = await runtime.admin.create_account(name="Mine", unlimited=True)
    theirs = await runtime.admin.create_account(name="Theirs", unlimited=True)
    await _bulk(runtime, theirs.id, [f"98912345{n:04d}" for n in range(2_500)], NOW)
    await _bulk(runtime, mine.id, ["989123456789"] + [f"98935{n:07d}" for n in range(10_049)], NOW)
    log = _log(runtime)
    user = await runtime.users.ensure_user(
        email="owner@mine.test", password="an owner 12345", role=Role.USER, account_id=mine.id
    )

    found = await log.account_page(user, log.account_query(Filters(search=typed)))

    assert [m.mobile for m in found.page.items] == ["989123456789"]
    assert found.count == 1
    assert found.page.older is None


@pytest.mark.anyio
async def test_the_operator_finds_a_part_of_a_number_in_the_whole_log(runtime: Runtime) -> None:
    """Across accounts too: the oldest of 10,050 messages is found by a part of its number."""
    account = await runtime.admin.create_account(name="Mine", unlimited=True)
    await _bulk(
        runtime, account.id, ["989123456789"] + [f"98935{n:07d}" for n in range(10_049)], NOW
    )
    log = _log(runtime)

    found = await log.operator_page(
        await _operator_actor(runtime), log.operator_query(_filters(search="3456789"))
    )

    assert [m.mobile for m in found.page.items] == ["989123456789"]
    assert found.count == 1


@pytest.mark.anyio
async def test_a_search_by_outcome_is_not_counted(runtime: Runtime) -> None:
    """No index holds the outcome: the page says it is not counted, rather than read all."""
    account_id, *_ = await _fill(runtime, 6)
    log = _log(runtime)
    user = await runtime.users.ensure_user(
        email="owner@mine.test", password="an owner 12345", role=Role.USER, account_id=account_id
    )

    by_outcome = await log.account_page(user, log.account_query(Filters(outcome="expired")))
    by_state = await log.account_page(user, log.account_query(Filters(status="failed")))

    assert by_outcome.count is None
    assert len(by_outcome.page.items) == 2
    assert by_state.count == 2


@pytest.mark.anyio
async def test_a_count_stops_at_its_cap(runtime: Runtime) -> None:
    account_id, *_ = await _fill(runtime, 25)
    store = MessageLogSqlStore(runtime.engines)

    assert await store.count(account_id, MessageQuery(), cap=100) == 25
    assert await store.count(account_id, MessageQuery(), cap=10) == 11  # "more than 10"
    assert await store.count(None, MessageQuery(), cap=100) == 30  # every account's


@pytest.mark.anyio
async def test_the_operator_reads_every_account_with_their_names(runtime: Runtime) -> None:
    """Across accounts, newest first, a page at a time; a number in any form finds it."""
    account_id, _, mine, theirs = await _fill(runtime, 10)
    log = _log(runtime)
    actor = await _operator_actor(runtime)

    everything = await log.operator_page(actor, log.operator_query(_filters()))
    by_number = await log.operator_page(actor, log.operator_query(_filters(search="۰۹۱۲۰۰۰۰۰۰۰")))

    assert {m.id for m in everything.page.items} == set(mine) | set(theirs)
    assert everything.count == 15
    assert everything.accounts == {account_id: "Mine", account_id + 1: "Theirs"}
    assert {m.mobile for m in by_number.page.items} == {"989120000000"}
    assert {m.account_id for m in by_number.page.items} == {account_id, account_id + 1}


# the pages ---------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_the_log_page_counts_filters_and_reads_jalali_days(
    runtime: Runtime, browser: Browser, operator: Browser
) -> None:
    token = await approved_account(browser, operator, "owner@shop.test", "Shop")
    for n in range(3):
        assert (await send_otp(browser, token, f"0912000000{n}"))["Status"] == "Success"
    today = datetime.now(TEHRAN).date()
    jalali = jdatetime.date.fromgregorian(date=today).strftime("%Y/%m/%d")
    tomorrow = jdatetime.date.fromgregorian(date=today + timedelta(days=1)).strftime("%Y/%m/%d")

    listed = await browser.get("/panel/messages")
    by_number = await browser.get("/panel/messages", params={"q": "+98 912 000 0001"})
    today_only = await browser.get("/panel/messages", params={"since": jalali, "until": jalali})
    none_yet = await browser.get("/panel/messages", params={"since": tomorrow})
    wrong_day = await browser.get("/panel/messages", params={"since": "1403/13/40"})

    assert "3 messages match." in listed.text
    assert "1 message matches." in by_number.text
    assert "3 messages match." in today_only.text
    assert "0 messages match." in none_yet.text
    assert wrong_day.status_code == 200
    assert "The calendar has no day" in wrong_day.text


@pytest.mark.anyio
async def test_the_csv_export_is_the_filtered_log_and_safe(
    runtime: Runtime, browser: Browser, operator: Browser
) -> None:
    """Streamed with the page's filters, the account's own messages, no cell a formula."""
    token = await approved_account(browser, operator, "owner@shop.test", "Shop")
    other = await open_browser(runtime, ip="198.51.100.30")
    their_token = await approved_account(other, operator, "them@other.test", "Other")
    for n in range(4):
        await send_otp(browser, token, f"0912000001{n}")
    await send_otp(other, their_token, "09120000099")
    async with runtime.engines.write.begin() as conn:  # a text a spreadsheet would run
        await conn.execute(update(messages).values(text='=HYPERLINK("http://evil")'))

    everything = await browser.get("/panel/messages/export.csv")
    one = await browser.get("/panel/messages/export.csv", params={"q": "09120000012"})
    parsed = list(csv.reader(io.StringIO(everything.text.lstrip("\ufeff"))))

    assert everything.status_code == 200
    assert everything.headers["content-type"] == "text/csv; charset=utf-8"
    assert everything.headers["content-disposition"].startswith("attachment; filename=")
    assert parsed[0][:3] == ["id", "accepted_at", "number"]
    assert len(parsed) == 5  # the header and the account's four messages
    assert {row[2] for row in parsed[1:]} == {f"98912000001{n}" for n in range(4)}
    assert all(row[-1] == '\'=HYPERLINK("http://evil")' for row in parsed[1:])
    assert len(list(csv.reader(io.StringIO(one.text.lstrip("\ufeff"))))) == 2
    await other.http.aclose()


def test_a_csv_page_names_tokens_and_outcomes() -> None:
    """One page's lines: the token by its name (a deleted one by its id), the outcome."""
    at = datetime(2026, 3, 1, tzinfo=UTC)
    message = Message(
        id=5, account_id=1, mobile="989120000000", sender="1000", text="-1", encoding="gsm7",
        parts=1, cost=1000, status=MessageStatus.DELIVERED, attempts=1,
        possible_duplicate=False, expires_at=at, created_at=at, submitted_at=at,
        reported_at=None, transport="smpp", provider_message_id="p", error=None,
    )  # fmt: skip
    page = MessagePage([message, message], None, {5: "approved"}, {5: 3})

    known, deleted = csv_rows(page, {3: "app (qotp_ab12…)"}), csv_rows(page, {})

    assert known.splitlines()[0] == (
        "5,2026-03-01T00:00:00+00:00,989120000000,1000,delivered,approved,"
        "app (qotp_ab12…),1,1000,,'-1"
    )
    assert ",#3," in deleted


@pytest.mark.anyio
async def test_the_operator_search_is_for_operators(
    runtime: Runtime, browser: Browser, operator: Browser
) -> None:
    token = await approved_account(browser, operator, "owner@shop.test", "Shop")
    sent = await send_otp(browser, token, "09120000077")
    message_id = sent["Data"]["MessageID"]  # type: ignore[index]

    by_number = await operator.get("/panel/operator/messages", params={"q": "۰۹۱۲ ۰۰۰ ۰۰۷۷"})
    by_id = await operator.get("/panel/operator/messages", params={"q": f"#{message_id}"})
    failed = await operator.get("/panel/operator/messages", params={"status": "failed"})
    refused = await operator.get("/panel/operator/messages", params={"q": "0912abc"})
    as_user = await browser.get("/panel/operator/messages")

    assert f"/panel/operator/messages/{message_id}" in by_number.text
    assert "Shop" in by_number.text
    assert f"/panel/operator/messages/{message_id}" in by_id.text
    assert f"/panel/operator/messages/{message_id}" not in failed.text
    assert "0 messages match." in failed.text
    assert "Search for a mobile number, or a message by its number written as #123." in (
        refused.text
    )
    assert as_user.status_code == 403


# helpers -----------------------------------------------------------------------------------


def _log(runtime: Runtime) -> MessageLog:
    return MessageLog(
        MessageLogSqlStore(runtime.engines),
        runtime.store,
        runtime.settings.regions,
        lambda: NOW,
        PANEL_ZONE,
    )


def _filters(search: str = "") -> Filters:
    return Filters(search=search)


async def _operator_actor(runtime: Runtime) -> Actor:
    made = await runtime.users.create_operator(email="ops@gateway.test", password="an operator 1")
    return Actor(made, "127.0.0.1")
