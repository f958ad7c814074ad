"""
The sending methods of the Amoot surface besides SendQuickOTP: SendSimple,
SendWithBackupLine, SendOTP, SendWithPattern and SendWithPatternOWN. Parse, call
Messaging, shape Amoot's answer; web/amoot.py registers them beside its own.

Answers: `Data` is an array with one `{Mobile, MessageID, Status}` per recipient, in the
order asked (the SOAP contract's key order, as SendQuickOTP's); a recipient that failed
has `MessageID` 0 and its own Status. The request's `Status` is Success when at least one
recipient was accepted; when none was, the failure shape (`Data: null`) with the first
recipient's Status. SendOTP answers as SendQuickOTP does, its code included.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from quickotp.domain.digits import ascii_digits
from quickotp.domain.models import Caller
from quickotp.services.messaging import Messaging, Row
from quickotp.services.sends import SentOtp
from quickotp.web.amoot_wire import Status, status_for
from quickotp.web.params import Params

log = logging.getLogger(__name__)

Handler = Callable[[Caller, Params], Awaitable[dict[str, Any]]]


class AmootSending:
    def __init__(self, messaging: Messaging, *, data_as_array: bool = False) -> None:
        self.messaging = messaging
        self.data_as_array = data_as_array

    def handlers(self) -> list[tuple[str, Handler]]:
        """(method, handler) pairs; each fails in the `Data: null` shape."""
        return [
            ("SendSimple", self.send_simple),
            ("SendWithBackupLine", self.send_with_backup_line),
            ("SendOTP", self.send_otp),
            ("SendWithPattern", self.send_with_pattern),
            ("SendWithPatternOWN", self.send_with_pattern_own),
        ]

    async def send_simple(self, caller: Caller, params: Params) -> dict[str, Any]:
        return await self._send_simple("SendSimple", caller, params, with_backup=False)

    async def send_with_backup_line(self, caller: Caller, params: Params) -> dict[str, Any]:
        return await self._send_simple("SendWithBackupLine", caller, params, with_backup=True)

    async def _send_simple(
        self, method: str, caller: Caller, params: Params, *, with_backup: bool
    ) -> dict[str, Any]:
        rows = await self.messaging.send_simple(
            caller,
            mobiles=_list(params, "mobiles"),
            text=params.get("smsmessagetext"),
            line=params.get("linenumber"),
            send_at=params.get("senddatetime"),
            backup_line=params.get("backuplinenumber") if with_backup else None,
            with_backup=with_backup,
        )
        return _rows(method, rows)

    async def send_otp(self, caller: Caller, params: Params) -> dict[str, Any]:
        sent = await self.messaging.send_otp(
            caller,
            mobile=params.get("mobile", ""),
            text=params.get("smsmessagetext"),
            line=params.get("linenumber"),
            send_at=params.get("senddatetime"),
            code_length=params.get("codelength"),
        )
        return sent_code(sent, data_as_array=self.data_as_array)

    async def send_with_pattern(self, caller: Caller, params: Params) -> dict[str, Any]:
        return await self._send_with_pattern(caller, params, own_line=False)

    async def send_with_pattern_own(self, caller: Caller, params: Params) -> dict[str, Any]:
        return await self._send_with_pattern(caller, params, own_line=True)

    async def _send_with_pattern(
        self, caller: Caller, params: Params, *, own_line: bool
    ) -> dict[str, Any]:
        sent = await self.messaging.send_with_pattern(
            caller,
            mobile=params.get("mobile", ""),
            pattern_id=params.get("patterncodeid"),
            values=_list(params, "patternvalues"),
            line=params.get("linenumber") if own_line else None,
            own_line=own_line,
        )
        return {"Status": Status.SUCCESS, "Data": [_sent(sent)]}


def _list(params: Params, name: str) -> str | list[str]:
    """
    A list parameter: the values of a repeated (or indexed) parameter as they are, else
    the one string (comma-separated, or a JSON array's text), which Messaging splits.
    """
    found = params.every(name)
    if len(found) > 1 or name not in params:
        return found
    return params[name]


def sent_code(sent: SentOtp, *, data_as_array: bool) -> dict[str, Any]:
    """SendQuickOTP's and SendOTP's answer: the number, its message and the code sent."""
    data = {
        "Mobile": sent.mobile.national,
        "MessageID": sent.message_id,
        "Code": sent.code,
        "Status": Status.SUCCESS,
    }
    return {"Status": Status.SUCCESS, "Data": [data] if data_as_array else data}


def _sent(sent: SentOtp) -> dict[str, Any]:
    return {"Mobile": sent.mobile.national, "MessageID": sent.message_id, "Status": Status.SUCCESS}


def _rows(method: str, rows: list[Row]) -> dict[str, Any]:
    data = []
    for row in rows:
        if row.sent is not None:
            data.append(_sent(row.sent))
            continue
        status = status_for(row.error) if row.error is not None else Status.SERVER_ERROR
        log.info("%s: a recipient refused: %s (%r)", method, status, str(row.error))
        mobile = row.mobile.national if row.mobile is not None else _digits(row.raw)
        data.append({"Mobile": mobile, "MessageID": 0, "Status": status})
    if any(row.sent is not None for row in rows):
        return {"Status": Status.SUCCESS, "Data": data}
    return {"Status": data[0]["Status"], "Data": None}


def _digits(raw: str) -> int:
    """A number that could not be read, echoed as a JSON number where it is digits, else 0."""
    text = ascii_digits(raw).strip().lstrip("+")
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 18 else 0
