"""
The /rest methods as Amoot's docs call them: a form POST to `/rest/<Method>` with the raw
token in `Authorization`, and an HTTP 200 whose `Status` says what happened. Readers accept
what Amoot and QuickOTP both send (Data as an object or a one-element array, numbers as JSON
numbers or strings). Pure: builds `Call`s; each builder is one method of `Client` and
`AsyncClient`, whose signature and docstring it gives them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any, TypeVar

import httpx

from quickotp_client._call import TEHRAN, Call, Fields, json_body
from quickotp_client._errors import ResponseError, StatusError, Validation
from quickotp_client._models import (
    AccountStatus,
    Delivery,
    Pattern,
    SentCode,
    SentMessage,
    VerifiedCode,
)
from quickotp_client._statuses import ERROR_FOR_STATUS

T = TypeVar("T")

SUCCESS = "Success"
DEFAULT_CODE_LENGTH = 6


def send_quick_otp(
    mobile: str, *, code_length: int | None = None, code: str | None = None
) -> Call[SentCode]:
    """
    Send a one-time code to `mobile` (any usual form: 09120000000, +989120000000, ...).
    The server makes a `code_length`-digit code (6 by default), or sends your `code`
    (then `code_length` defaults to its length). The answer holds the code.
    """
    if code_length is None:
        code_length = len(code) if code else DEFAULT_CODE_LENGTH
    form = {"Mobile": mobile, "CodeLength": str(code_length), "OptionalCode": code or ""}
    return _call("SendQuickOTP", form, _sent_code)


def send_simple(
    mobiles: str | Iterable[str],
    text: str,
    *,
    line: str = "public",
    send_at: datetime | str | None = None,
    backup_line: str | None = None,
) -> Call[list[SentMessage]]:
    """
    Send `text` to each of `mobiles` (up to 100), each its own message, from `line` (one
    of the account's, or `public`). With `backup_line` (SendWithBackupLine) a message
    goes out on it when `line` cannot send. `send_at` (an aware datetime) schedules it.
    Each recipient's row says how it went: a refused one keeps its status and raises
    nothing. On QuickOTP the account needs the operator's free-text permission.
    """
    form = {
        "SendDateTime": _send_time(send_at),
        "SMSMessageText": text,
        "LineNumber": line,
        "Mobiles": mobiles if isinstance(mobiles, str) else ",".join(mobiles),
    }
    if backup_line is None:
        return _call("SendSimple", form, _sent_messages)
    form["BackupLineNumber"] = backup_line
    return _call("SendWithBackupLine", form, _sent_messages)


def send_otp(
    mobile: str,
    text: str,
    *,
    code_length: int = 6,
    line: str = "public",
    send_at: datetime | str | None = None,
) -> Call[SentCode]:
    """
    Send `text` with a code the server makes (Amoot's SendOTP): on QuickOTP `%code%` in the
    text is replaced by it, or it goes on a line of its own after the text.
    """
    form = {
        "SendDateTime": _send_time(send_at),
        "SMSMessageText": text,
        "LineNumber": line,
        "Mobile": mobile,
        "CodeLength": str(code_length),
    }
    return _call("SendOTP", form, _sent_code)


def send_with_pattern(
    mobile: str, pattern_id: int, values: Sequence[str | int], *, line: str | None = None
) -> Call[SentMessage]:
    """
    Send one of the account's approved patterns, `values` filling its variables in order
    (SendWithPattern; with `line`, SendWithPatternOWN). An OTP pattern's value is your code.
    """
    form = {"Mobile": mobile, "PatternCodeID": str(pattern_id), "PatternValues": _values(values)}
    if line is None:
        return _call("SendWithPattern", form, _sent_message)
    form["LineNumber"] = line
    return _call("SendWithPatternOWN", form, _sent_message)


def _send_time(send_at: datetime | str | None) -> str:
    """A SendDateTime: Tehran time as Amoot's clients write it; empty for now."""
    if send_at is None or isinstance(send_at, str):
        return send_at or ""
    if send_at.tzinfo is None:
        raise ValueError("send_at needs its time zone (an aware datetime)")
    return send_at.astimezone(TEHRAN).strftime("%Y-%m-%d %H:%M:%S")


def _values(values: Sequence[str | int]) -> str:
    """
    PatternValues comma-joined, as Amoot's samples send them; as a JSON array when a value
    holds a comma (QuickOTP reads both; Amoot knows only the first).
    """
    texts = [str(value) for value in values]
    if any("," in text for text in texts):
        return json.dumps(texts, ensure_ascii=False)
    return ",".join(texts)


def verify_quick_otp(mobile: str, code: str) -> Call[VerifiedCode]:
    """Check the code a person typed against the newest one sent to `mobile` (QuickOTP)."""
    return _call("VerifyQuickOTP", {"Mobile": mobile, "Code": code}, _verified_code)


def account_status() -> Call[AccountStatus]:
    """The account's name, credit, prices and sender lines."""
    return _call("AccountStatus", {}, _account_status)


def get_delivery(message_id: int) -> Call[Delivery]:
    """One message's delivery status."""
    return _call("GetDelivery", {"MessageID": str(message_id)}, lambda body: _delivery(_one(body)))


def get_deliveries(message_ids: Iterable[int]) -> Call[list[Delivery]]:
    """Several messages' delivery statuses, in the order asked."""
    form = {"ListMessageID": ",".join(str(i) for i in message_ids)}
    return _call("GetDeliveries", form, _deliveries)


def pattern_create(
    text: str, *, is_otp: bool = False, number_patterns: Iterable[str] = (), description: str = ""
) -> Call[Pattern]:
    """
    Ask for a new pattern (`%name%` marks a variable; an OTP pattern holds `%code%`).
    It waits for the operator's approval. `number_patterns` names the digit-only ones.
    """
    form = {
        "MessageText": text,
        "NumberPatterns": ",".join(number_patterns),
        "IsOTP": "true" if is_otp else "false",
        "RequestDescription": description,
    }
    return _call("PatternCodeCreate", form, lambda body: _pattern(body.nested("Data")))


def pattern_list() -> Call[list[Pattern]]:
    """The account's patterns."""
    return _call(
        "PatternCodeList", {}, lambda body: [_pattern(item) for item in body.nested_list("Data")]
    )


# reading ---------------------------------------------------------------------------------


def _call(method: str, form: dict[str, str], read: Callable[[Fields], T]) -> Call[T]:
    def read_answer(response: httpx.Response) -> T:
        return read(_envelope(response, method))

    return Call("POST", f"/rest/{method}", read_answer, form=form)


def _envelope(response: httpx.Response, method: str) -> Fields:
    """The answer's body once its `Status` is Success; otherwise the Status's exception."""
    if not response.is_success:
        raise ResponseError(
            f"{method}: HTTP {response.status_code} (Amoot's methods answer 200)",
            http_status=response.status_code,
        )
    body = Fields(json_body(response), what=method, http_status=response.status_code)
    _raise_for_status(body, method)
    return body


def _raise_for_status(fields: Fields, method: str) -> None:
    status = fields.text("Status")
    if status == SUCCESS:
        return
    validation = None
    if isinstance(fields.data.get("ValidationResult"), dict):
        result = fields.nested("ValidationResult")
        validation = Validation(result.integer("Status"), result.optional_text("Message"))
    raise ERROR_FOR_STATUS.get(status, StatusError)(status, method=method, validation=validation)


def _one(body: Fields) -> Fields:
    """`Data` as one object: Amoot's docs show it as an object or as a one-element array."""
    data: Any = body.data.get("Data")
    if isinstance(data, list):
        if len(data) != 1:
            raise ResponseError(
                f"{body.what}: Data holds {len(data)} items, not one", http_status=body.http_status
            )
        return body.nested_list("Data")[0]
    return body.nested("Data")


def _item(item: Fields, method: str) -> Fields:
    """An item of Data, which may carry its own Status (SendQuickOTP, GetDeliveries)."""
    if item.has("Status"):
        _raise_for_status(item, method)
    return item


def _sent_code(body: Fields) -> SentCode:
    data = _item(_one(body), body.what)
    return SentCode(
        message_id=data.integer("MessageID"), mobile=data.digits("Mobile"), code=data.text("Code")
    )


def _sent_row(item: Fields) -> SentMessage:
    return SentMessage(
        message_id=item.integer("MessageID"),
        mobile=item.digits("Mobile"),
        status=item.text("Status"),
    )


def _sent_messages(body: Fields) -> list[SentMessage]:
    """Every recipient's row: a row that was refused keeps its Status, and raises nothing."""
    return [_sent_row(item) for item in body.nested_list("Data")]


def _sent_message(body: Fields) -> SentMessage:
    return _sent_row(_item(_one(body), body.what))


def _verified_code(body: Fields) -> VerifiedCode:
    data = _item(_one(body), body.what)
    return VerifiedCode(
        mobile=data.digits("Mobile"),
        message_id=data.integer("MessageID"),
        verification_id=data.text("VerificationID"),
    )


def _account_status(body: Fields) -> AccountStatus:
    return AccountStatus(
        name=body.text("AccountName"),
        credit=body.integer("RemaindCredit"),
        line_numbers=body.texts("ListLineNumbers"),
        base_sms_persian_price=body.number("BaseSMS_PersianPrice"),
        base_sms_english_price=body.number("BaseSMS_EnglishPrice"),
        service_sms_persian_price=body.number("ServiceSMS_PersianPrice"),
        service_sms_english_price=body.number("ServiceSMS_EnglishPrice"),
        ads_sms_persian_price=body.number("AdsSMS_PersianPrice"),
        ads_sms_english_price=body.number("AdsSMS_EnglishPrice"),
        avanak_second_price=body.number("Avanak_SecondPrice"),
    )


def _delivery(data: Fields) -> Delivery:
    return Delivery(
        message_id=data.integer("MessageID"),
        delivery_type=data.integer("DeliveryType"),
        cost=data.integer("Cost"),
        registered_at=data.tehran_time("RegDateTime"),
        sent_at=data.tehran_time("SendDateTime"),
    )


def _deliveries(body: Fields) -> list[Delivery]:
    return [_delivery(_item(item, body.what)) for item in body.nested_list("Data")]


def _pattern(data: Fields) -> Pattern:
    return Pattern(
        id=data.integer("ID"),
        status=data.integer("Status"),
        is_otp=data.flag("IsOTP"),
        text=data.text("MessageText"),
        variables=data.texts("Patterns"),
        number_variables=data.texts("NumberPatterns"),
    )
