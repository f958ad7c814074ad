"""
Sending what is not a bare OTP: free text to one or many numbers (SendSimple,
SendWithBackupLine), free text with a server-made code (SendOTP), an account's approved
patterns with their values (SendWithPattern, SendWithPatternOWN), and /v1's messages.

Here each request is checked (sender lines, the free-text permission, the send time, the
pattern and its values); every message then goes through `Gateway.send`, the one path
(guard, admission, idempotency, credit, accept) SendQuickOTP takes too.

I/O only through the ports; the clock comes in from the composition root.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, tzinfo
from typing import Protocol

import orjson

from quickotp.domain import datetimes, otp, phone, sms
from quickotp.domain.digits import ascii_digits
from quickotp.domain.errors import (
    BackupLineEmpty,
    BackupLineNotOwned,
    FreeTextNotAllowed,
    GatewayError,
    InvalidRequest,
    InvalidSendTime,
    LineEmpty,
    LineNotOwned,
    MessageTextEmpty,
    MessageTooLong,
    MobilesEmpty,
    NotFound,
    PatternNotApproved,
    PatternNotFound,
    PatternValueEmpty,
    PatternValuesInvalid,
    TooManyMobiles,
)
from quickotp.domain.lines import MAX_LINE, SHARED_NAMES
from quickotp.domain.models import Caller, Pattern, PatternState
from quickotp.ports.store import LineStore, SendStore
from quickotp.services.cache import TtlCache
from quickotp.services.gateway import Gateway
from quickotp.services.sends import Outgoing, SentOtp

log = logging.getLogger(__name__)

MAX_MOBILES = 100  # numbers in one SendSimple / SendWithBackupLine request
MAX_TEXT = 2000  # characters of one message (about 30 parts of Persian text)
_LINES_CACHE_SIZE = 10_000
# Clients send DateTime.Now as SendDateTime: a time this little ahead is their clock running
# ahead of ours, not a schedule, and goes out at once.
CLOCK_SKEW = timedelta(seconds=60)


@dataclass(frozen=True)
class Row:
    """One recipient of a many-number send: what was asked for, and what came of it."""

    raw: str
    mobile: phone.Mobile | None  # None when the number could not be read
    sent: SentOtp | None
    error: GatewayError | None = None


@dataclass
class Messaging:
    """
    The sending use cases beyond SendQuickOTP (module docstring), on `gateway`'s ports:
    its store, its clock, its shared lines and its LineStore.
    """

    gateway: Gateway
    lines: LineStore
    zone: tzinfo = datetimes.TEHRAN  # a SendDateTime without an offset is Tehran time

    def __post_init__(self) -> None:
        self.store: SendStore = self.gateway.store
        self.clock: Callable[[], datetime] = self.gateway.clock
        self.shared = self.gateway.config.shared_lines
        self._owned: TtlCache[int, frozenset[str]] = TtlCache(
            self.gateway.config.token_cache.total_seconds(), max_size=_LINES_CACHE_SIZE
        )

    # free text -------------------------------------------------------------------------

    async def send_simple(
        self,
        caller: Caller,
        *,
        mobiles: str | Sequence[str],
        text: str | None,
        line: str | None,
        send_at: str | None,
        backup_line: str | None = None,
        with_backup: bool = False,
    ) -> list[Row]:
        """
        Free text to up to MAX_MOBILES numbers, each its own message; a number that fails
        fails its own row only. `with_backup` (SendWithBackupLine): `backup_line` is
        required, and tried whenever `line` cannot send.
        """
        _free_text(caller)
        body = _message_text(text)
        sender = await self.line(caller, line)
        backup = await self.line(caller, backup_line, backup=True) if with_backup else None
        not_before = self.not_before(send_at)
        numbers = mobile_list(mobiles)
        repeat = ("simple", _digest(body), sender, backup or "", _stamp(not_before))
        outgoing = Outgoing(
            text=body, sender=sender, backup_sender=backup, not_before=not_before, repeat=repeat
        )
        return list(await asyncio.gather(*(self._row(caller, raw, outgoing) for raw in numbers)))

    async def _row(self, caller: Caller, raw: str, outgoing: Outgoing) -> Row:
        try:
            number = phone.normalise(raw, regions=self.gateway.config.regions)
        except GatewayError as exc:
            return Row(raw, None, None, exc)
        try:
            return Row(raw, number, await self.gateway.send(caller, number, outgoing))
        except GatewayError as exc:
            return Row(raw, number, None, exc)

    async def send_otp(
        self,
        caller: Caller,
        *,
        mobile: str,
        text: str | None,
        line: str | None,
        send_at: str | None,
        code_length: str | int | None,
    ) -> SentOtp:
        """
        Amoot's SendOTP: free text with a code the server makes; `%code%` in the text is
        replaced by it, or it goes on a line of its own after the text. A verification is
        made, as for SendQuickOTP; scheduled, it is valid from its send time.
        """
        _free_text(caller)
        body = _message_text(text)
        sender = await self.line(caller, line)
        not_before = self.not_before(send_at)
        number = phone.normalise(mobile, regions=self.gateway.config.regions)
        length = otp.code_length(code_length)
        if len(sms.with_code(body, "0" * length)) > MAX_TEXT:
            raise MessageTooLong(f"the message is longer than {MAX_TEXT} characters")
        repeat = ("otp", _digest(body), sender, str(length), _stamp(not_before))
        outgoing = Outgoing(
            text=body, code_length=length, sender=sender, not_before=not_before, repeat=repeat
        )
        return await self.gateway.send(caller, number, outgoing)

    # patterns --------------------------------------------------------------------------

    async def send_with_pattern(
        self,
        caller: Caller,
        *,
        mobile: str,
        pattern_id: str | int | None,
        values: str | Sequence[str],
        line: str | None = None,
        own_line: bool = False,
    ) -> SentOtp:
        """
        One of the caller's approved patterns, its variables filled in order from `values`
        (see `pattern_values`). An OTP pattern's value is the caller's code: a verification
        is made for it, as SendQuickOTP does. `own_line` (SendWithPatternOWN): `line` is
        required; otherwise the account's default line sends it.
        """
        pattern = await self.pattern(caller, pattern_id)
        sender = await self.line(caller, line) if own_line else None
        number = phone.normalise(mobile, regions=self.gateway.config.regions)
        filled = pattern_values(pattern, values)
        repeat = ("pattern", str(pattern.id), orjson.dumps(filled).decode(), sender or "")
        outgoing = replace(_pattern_message(pattern, filled), sender=sender, repeat=repeat)
        return await self.gateway.send(caller, number, outgoing)

    async def pattern(self, caller: Caller, raw: str | int | None) -> Pattern:
        """The caller's approved pattern `raw`: PatternNotFound, or PatternNotApproved."""
        return await approved_pattern(self.store, caller.account.id, raw)

    # /v1 -------------------------------------------------------------------------------

    async def send_v1(
        self,
        caller: Caller,
        *,
        to: str,
        text: str | None,
        pattern_id: int | None,
        values: Sequence[str] | None,
        line: str | None,
        backup_line: str | None,
        send_at: str | None,
        idempotency_key: str | None,
        fingerprint: str,
    ) -> SentOtp:
        """POST /v1/messages: free text or a pattern with values, to one number."""
        if (text is None) == (pattern_id is None):
            raise InvalidRequest("give either text or pattern_id")
        if text is not None and values is not None:
            raise InvalidRequest("values go with a pattern_id, not with text")
        if text is not None:
            _free_text(caller)
            outgoing = Outgoing(text=_message_text(text))
        else:
            pattern = await self.pattern(caller, pattern_id)
            outgoing = _pattern_message(pattern, pattern_values(pattern, list(values or ())))
        outgoing = replace(
            outgoing,
            sender=await self.line(caller, line) if line is not None else None,
            backup_sender=await self.line(caller, backup_line, backup=True)
            if backup_line is not None
            else None,
            not_before=self.not_before(send_at),
        )
        number = phone.normalise(to, regions=self.gateway.config.regions)
        return await self.gateway.send(
            caller, number, outgoing, idempotency_key=idempotency_key, fingerprint=fingerprint
        )

    # lines and times -------------------------------------------------------------------

    async def line(self, caller: Caller, raw: str | None, *, backup: bool = False) -> str:
        """
        The sender line a request names: one of the account's, a shared line's number, or
        a shared name (`public`, `service`, `98`). LineEmpty / LineNotOwned otherwise (their
        backup-line twins for `backup`).
        """
        name = ascii_digits(raw or "").strip()
        if not name:
            raise BackupLineEmpty("no backup line given") if backup else LineEmpty("no line given")
        if name.lower() in SHARED_NAMES:
            return self.shared.by_name.get(name.lower(), caller.account.sender)
        if name == caller.account.sender or name in self.shared.numbers:
            return name
        account_id = caller.account.id
        owned = await self._owned.get(account_id, lambda: self._load_lines(account_id))
        if name in owned:
            return name
        shown = name[:MAX_LINE]
        if backup:
            raise BackupLineNotOwned(f"{shown!r} is not a line of this account")
        raise LineNotOwned(f"{shown!r} is not a line of this account")

    async def _load_lines(self, account_id: int) -> frozenset[str]:
        return frozenset(await self.lines.lines(account_id))

    def not_before(self, raw: str | None) -> datetime | None:
        """
        When a send is scheduled for: None for now (an empty SendDateTime, a time that has
        passed, or one within CLOCK_SKEW ahead); InvalidSendTime when unreadable or more than
        MAX_AHEAD away.
        """
        moment = datetimes.send_time(raw, zone=self.zone)
        now = self.clock()
        if moment is None or moment <= now + CLOCK_SKEW:
            return None
        if moment - now > datetimes.MAX_AHEAD:
            days = datetimes.MAX_AHEAD.days
            raise InvalidSendTime(f"a send is scheduled at most {days} days ahead")
        return moment


class PatternSource(Protocol):
    async def get_pattern(self, pattern_id: int) -> Pattern: ...


async def approved_pattern(
    patterns: PatternSource, account_id: int, raw: str | int | None
) -> Pattern:
    """
    The account's approved pattern with the id `raw` as a caller wrote it: PatternNotFound
    for no such pattern of the account's (another's is not found either), PatternNotApproved
    for one pending or rejected.
    """
    text = ascii_digits(str(raw if raw is not None else "")).strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 18 or int(text) < 1:
        raise PatternNotFound("a pattern id is a positive whole number")
    try:
        found = await patterns.get_pattern(int(text))
    except NotFound:
        found = None
    if found is None or found.account_id != account_id:
        raise PatternNotFound(f"no pattern {text} of this account")
    if found.state is not PatternState.APPROVED:
        raise PatternNotApproved(f"pattern {found.id} is {found.state}, not approved")
    return found


def pattern_values(pattern: Pattern, values: str | Sequence[str]) -> list[str]:
    """
    The values for `pattern`'s variables, in the order they first appear in its text.

    A list (repeated parameters, a JSON array) is taken as it is. One string is a JSON
    array when it reads as one, the single value of a pattern with one variable, and
    otherwise comma-separated (as the vendor's C# and PHP samples join them): a value that
    holds a comma is sent in a JSON array or as repeated parameters. Values are trimmed;
    PatternValueEmpty for an empty one, PatternValuesInvalid for a count that is not the
    number of variables or a non-digit value of a digit-only variable.
    """
    names = sms.variables(pattern.text)
    found = _value_list(values, single=len(names) == 1)
    if len(found) != len(names):
        raise PatternValuesInvalid(
            f"pattern {pattern.id} has {len(names)} variable(s), and {len(found)} value(s) came"
        )
    filled = [value.strip() for value in found]
    for name, value in zip(names, filled, strict=True):
        if not value:
            raise PatternValueEmpty(f"the value of %{name}% is empty")
        if name in pattern.number_patterns and not ascii_digits(value).isdigit():
            raise PatternValuesInvalid(f"%{name}% takes digits only")
    return filled


def _value_list(values: str | Sequence[str], *, single: bool) -> list[str]:
    if not isinstance(values, str):
        return [str(value) for value in values]
    text = values.strip()
    if text.startswith("["):
        try:
            parsed = orjson.loads(text)
        except orjson.JSONDecodeError:
            parsed = None
        if isinstance(parsed, list) and all(
            isinstance(v, str | int | float) and not isinstance(v, bool) for v in parsed
        ):
            return [str(v) for v in parsed]
    if not text:
        return []
    return [values] if single else values.split(",")


def _pattern_message(pattern: Pattern, filled: list[str]) -> Outgoing:
    """A pattern with its values as one message: an OTP pattern's value is the caller's code."""
    if pattern.is_otp:
        code = otp.caller_code(filled[0])  # InvalidCodeLength unless 4..8 digits
        if code is None:  # pattern_values refused empty values already
            raise PatternValueEmpty("the code is empty")
        return Outgoing(pattern=pattern, own_code=code)
    names = sms.variables(pattern.text)
    text = sms.render(pattern.text, dict(zip(names, filled, strict=True)))
    if len(text) > MAX_TEXT:
        raise MessageTooLong(f"the message is longer than {MAX_TEXT} characters")
    return Outgoing(text=text, pattern=pattern)


def _free_text(caller: Caller) -> None:
    if not caller.account.free_text:
        raise FreeTextNotAllowed(f"account {caller.account.id} may send patterns only")


def _message_text(text: str | None) -> str:
    body = (text or "").strip()
    if not body:
        raise MessageTextEmpty("no message text given")
    if len(body) > MAX_TEXT:
        raise MessageTooLong(f"the message is longer than {MAX_TEXT} characters")
    return body


def mobile_list(mobiles: str | Sequence[str]) -> list[str]:
    """The numbers of a request: comma-separated, a JSON array, or repeated parameters."""
    if isinstance(mobiles, str):
        items = _value_list(mobiles, single=False) if mobiles.strip() else []
    else:
        items = [piece for item in mobiles for piece in str(item).split(",")]
    found = [item.strip() for item in items if item.strip()]
    if not found:
        raise MobilesEmpty("no mobile numbers given")
    if len(found) > MAX_MOBILES:
        raise TooManyMobiles(f"at most {MAX_MOBILES} numbers in one request")
    return found


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _stamp(moment: datetime | None) -> str:
    return "" if moment is None else moment.isoformat()
