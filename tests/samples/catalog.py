"""
Amoot's own client samples, and what each must get from QuickOTP.

The texts are in `vendor/php/<Method>.php` and `vendor/csharp/<Method>.cs`, copied from
Amoot's REST README (AmootSoft/AmootSMS) and, for PatternCodeCreate and PatternCodeList,
which it has no samples for, from Amoot's REST documentation pages. The harness changes only
the host (`https://portal.amootsms.com` becomes the test server, `http://Mysite.com` a local
address) and the token (`MyToken`); a sample the vendor published broken gets the smallest
repair that lets it run, listed here with the reason.

To add a sample (the sending methods' among them), drop `vendor/php/<Method>.php` and
`vendor/csharp/<Method>.cs` beside this file and add one `Sample` to SAMPLES below with what
its answer must be: both test_php_samples.py and test_csharp_samples.py pick it up. The server
the samples meet (conftest.py, `_set_up`) has pattern 1, approved, with two variables (the
samples' `PatternCodeID=1` with two values), pattern 2, the approved OTP pattern, and
messages 1000, 10001 and 10002 of the samples' account (the ids the samples ask about).
What else a sample needs of the server is set up there too: the free-text permission of
SendSimple, SendOTP and SendWithBackupLine. The lines the sending samples name, `public` and
`98`, are Amoot's shared lines; a gateway without QUICKOTP_SHARED_LINES sends them on the
account's default line.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

MASKED_OTP = re.compile(r"\*{4,8}")


@dataclass(frozen=True)
class Repair:
    """A textual fix to a sample as published, and why it is needed."""

    old: str
    new: str
    why: str


@dataclass(frozen=True)
class Sample:
    method: str
    check: Callable[[Any], None]  # raises AssertionError unless the answer is right
    repairs: dict[str, tuple[Repair, ...]] = field(default_factory=dict)  # by language

    def __str__(self) -> str:
        return self.method


def _success(body: Any) -> dict[str, Any]:
    assert isinstance(body, dict), body
    assert body["Status"] == "Success", body
    return body


def _account_status(body: Any) -> None:
    assert _success(body)["AccountName"] == "shop"
    assert body["RemaindCredit"] > 0


def _sent_otp(body: Any) -> None:
    data = _success(body)["Data"]
    assert list(data) == ["Mobile", "MessageID", "Code", "Status"]
    assert data["Mobile"] == 9120000000
    assert re.fullmatch(r"[0-9]{4}", data["Code"])


def _sent_each(*mobiles: int) -> Callable[[Any], None]:
    """One accepted row per number, in the order sent, each with a message of its own."""

    def check(body: Any) -> None:
        rows = _success(body)["Data"]
        assert [list(row) for row in rows] == [["Mobile", "MessageID", "Status"]] * len(mobiles)
        assert [(row["Mobile"], row["Status"]) for row in rows] == [
            (mobile, "Success") for mobile in mobiles
        ], rows
        ids = [row["MessageID"] for row in rows]
        assert all(isinstance(i, int) and i > 0 for i in ids), ids
        assert len(set(ids)) == len(ids), ids

    return check


def _delivery(body: Any) -> None:
    assert _success(body)["Data"]["MessageID"] == 10001


def _deliveries(body: Any) -> None:
    assert [d["MessageID"] for d in _success(body)["Data"]] == [10001, 10002]


def _price(total: int) -> Callable[[Any], None]:
    def check(body: Any) -> None:
        assert body == {"Status": "Success", "Data": total}

    return check


def _statistics(body: Any) -> None:
    assert isinstance(_success(body)["Data"], list)


def _message(body: Any) -> None:
    data = _success(body)["Data"]
    assert data["MessageID"] == 1000
    assert MASKED_OTP.search(data["SMSMessageText"])
    assert not re.search(r"[0-9]{4}", data["SMSMessageText"])


def _messages(body: Any) -> None:
    assert isinstance(_success(body)["Data"], list)


def _pattern_created(body: Any) -> None:
    data = _success(body)["Data"]
    assert (data["Status"], data["IsOTP"], data["Patterns"]) == (0, True, ["code"])


def _patterns(body: Any) -> None:
    assert {1, 2} <= {p["ID"] for p in _success(body)["Data"]}


def _relay_created(body: Any) -> None:
    assert _success(body)["RelayMessageDeliveryID"] > 0


def _relays(body: Any) -> None:
    assert isinstance(_success(body)["Data"], list)


def _relay_zero(body: Any) -> None:
    # The samples switch relay 0, which no account has: the id was read, and refused.
    assert body == "RelayMessageDeliveryID_Invalid"


SAMPLES = (
    Sample("AccountStatus", _account_status),
    Sample("SendQuickOTP", _sent_otp),
    Sample("SendSimple", _sent_each(9120000000, 9150000000)),
    Sample("SendWithBackupLine", _sent_each(9120000000, 9150000000)),
    Sample("SendOTP", _sent_otp),
    Sample("SendWithPattern", _sent_each(9120000000)),  # pattern 1's two values
    Sample("SendWithPatternOWN", _sent_each(9120000000)),
    Sample("GetDelivery", _delivery),
    Sample("GetDeliveries", _deliveries),
    Sample(
        "CalculateMessagePrice",
        _price(2 * 1000),  # one part to two numbers
        {
            "php": (
                Repair(
                    '"SMSMessageText ="',
                    '"SMSMessageText="',
                    "a raw space in the URL breaks the request line: no HTTP server reads it",
                ),
            )
        },
    ),
    Sample("CalculatePatternMessagePrice", _price(1000)),
    Sample(
        "Statistics",
        _statistics,
        {
            "csharp": (
                Repair(
                    "DateTime FromDate = ",
                    "DateTime FromDateTime = ",
                    "it declares FromDate and ToDate but sends FromDateTime and ToDateTime:"
                    " it does not compile",
                ),
                Repair("DateTime ToDate = ", "DateTime ToDateTime = ", "the same"),
            )
        },
    ),
    Sample("GetMessage", _message),
    Sample(
        "GetMessages",
        _messages,
        {
            "php": (
                Repair(
                    "$FromDateTimeIran->format",
                    "$FromDateTime->format",
                    "$FromDateTimeIran is never set: PHP stops at format() on null",
                ),
            )
        },
    ),
    Sample("PatternCodeCreate", _pattern_created),
    Sample("PatternCodeList", _patterns),
    Sample("RelayMessageDeliveryCreate", _relay_created),
    Sample("RelayMessageDeliveryList", _relays),
    Sample("RelayMessageDeliverySetActive", _relay_zero),
)


def sample_text(text: str, sample: Sample, language: str) -> str:
    """The published text with its repairs applied (each must still match)."""
    for repair in sample.repairs.get(language, ()):
        assert repair.old in text, f"{sample.method}: the repair for {repair.old!r} is stale"
        text = text.replace(repair.old, repair.new)
    return text
