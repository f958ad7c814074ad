"""
The Amoot-compatible surface, `/rest/<Method>`: parse, call the Gateway, shape the envelope.

Every business outcome is HTTP 200; the body's `Status` says what happened. Failures keep
each method's own failure shape (Data null, zeroed fields, an empty list), as Amoot does.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any

from prometheus_client import Counter

from quickotp.domain import phone
from quickotp.domain.errors import GatewayError
from quickotp.domain.models import (
    Caller,
    Message,
    Pattern,
    Verification,
)
from quickotp.domain.sms import variables
from quickotp.services.gateway import Gateway
from quickotp.support.faults import log_failure
from quickotp.web.amoot_send import AmootSending, sent_code
from quickotp.web.amoot_wire import (
    DELIVERY_TYPE,
    PATTERN_STATUS,
    VALIDATION_SUCCESS,
    Status,
    status_for,
    tehran_time,
    validation_for,
)
from quickotp.web.params import Params, read_params, token_of
from quickotp.web.rest import RestCall

if TYPE_CHECKING:
    from quickotp.domain.models import RelayUrl
    from quickotp.services.messaging import Messaging
    from quickotp.services.webhooks import Relays

log = logging.getLogger(__name__)

RESPONSES = Counter(
    "quickotp_rest_responses", "Answers on the Amoot-compatible surface", ["method", "status"]
)

# An answer: Amoot's envelope, or, for the methods whose answer is a bare Status
# (RelayMessageDeliverySetActive and Delete), that Status as a JSON string.
Body = dict[str, Any] | str
Handler = Callable[[Caller, Params], Awaitable[Body]]
# A method's answer on failure, given the Status.
Failure = Callable[[Status], Body]
# The unlimited account's RemaindCredit: 10^15 rial, the most a balance can hold (the CLI's
# bound). It fits the contract's long and is exact as a double (below 2^53), so JavaScript's
# Number(...) and PHP's (int) read it unchanged.
UNLIMITED_CREDIT = 10**15
# Each (method, Status) counter, once looked up: labels() takes a lock and checks its
# arguments on every call (1.35 us an answer, against 0.6 for the kept child's inc()).
_COUNTERS: dict[tuple[str, str], Counter] = {}


def _count(method: str, status: str) -> None:
    counter = _COUNTERS.get((method, status))
    if counter is None:
        counter = _COUNTERS[(method, status)] = RESPONSES.labels(method, status)
    counter.inc()


class AmootApi:
    def __init__(
        self,
        gateway: Gateway,
        *,
        data_as_array: bool = False,
        relays: Relays | None = None,
        reads: Sequence[tuple[str, Handler]] = (),
        messaging: Messaging | None = None,
    ) -> None:
        """`reads`: more methods whose failure is `Data: null` (web/amoot_reads.py)."""
        self.gateway = gateway
        self.data_as_array = data_as_array
        self.relays = relays
        sending = (
            AmootSending(messaging, data_as_array=data_as_array).handlers()
            if messaging is not None
            else []
        )
        self._handlers: dict[str, tuple[str, Handler, Failure]] = {
            name.lower(): (name, handler, failure)
            for name, handler, failure in (
                ("SendQuickOTP", self.send_quick_otp, _data_null),
                ("VerifyQuickOTP", self.verify_quick_otp, _data_null),
                ("AccountStatus", self.account_status, _account_failure),
                ("GetDelivery", self.get_delivery, _data_null),
                ("GetDeliveries", self.get_deliveries, _data_null),
                ("PatternCodeCreate", self.pattern_code_create, _pattern_failure),
                ("PatternCodeList", self.pattern_code_list, _data_empty_list),
                *(
                    (
                        ("RelayMessageDeliveryCreate", self.relay_create, _relay_failure),
                        ("RelayMessageDeliveryList", self.relay_list, _data_empty_list),
                        ("RelayMessageDeliverySetActive", self.relay_set_active, _bare),
                        ("RelayMessageDeliveryDelete", self.relay_delete, _bare),
                    )
                    if relays is not None
                    else ()
                ),
                *((name, handler, _data_null) for name, handler in reads),
                *((name, handler, _data_null) for name, handler in sending),
            )
        }

    @property
    def methods(self) -> list[str]:
        return [name for name, _, _ in self._handlers.values()]

    async def handle(self, call: RestCall) -> tuple[int, Body]:
        """Answer one `/rest/<Method>` request: its HTTP status (200 but for 404) and body."""
        found = self._handlers.get(call.method.lower())
        if found is None:
            return 404, {"Status": Status.FAILED, "Data": None}
        name, handler, failure = found
        try:
            params = await read_params(call)
            caller = await self.gateway.authenticate(
                token_of(call, params), method=name, ip=call.client
            )
            body = await handler(caller, params)
        except GatewayError as exc:
            status = status_for(exc)
            if status is Status.SERVER_ERROR:
                log.error("%s: no Status mapped for %s", name, type(exc).__name__, exc_info=exc)
            body = failure(status)
            if isinstance(body, dict) and (number := validation_for(exc)) is not None:
                body["ValidationResult"] = {"Status": number, "Message": str(exc)}
            log.info("%s refused: %s (%r)", name, status, str(exc))  # %r: one line
        except Exception as exc:  # a bug or a fault: Amoot's ServerError, never a bare 500
            log_failure(log, "%s failed", name, exc=exc)
            body = failure(Status.SERVER_ERROR)
        _count(name, body if isinstance(body, str) else body["Status"])
        return 200, body

    async def send_quick_otp(self, caller: Caller, params: dict[str, str]) -> dict[str, Any]:
        sent = await self.gateway.send_quick_otp(
            caller,
            mobile=params.get("mobile", ""),
            code_length=params.get("codelength"),
            optional_code=params.get("optionalcode"),
        )
        return sent_code(sent, data_as_array=self.data_as_array)

    async def verify_quick_otp(self, caller: Caller, params: dict[str, str]) -> dict[str, Any]:
        """Our addition to the surface: check a code; `Status` names the outcome (amoot-api.md)."""
        verification = await self.gateway.verifications.check(
            caller, code=params.get("code"), mobile=params.get("mobile", "")
        )
        return {"Status": Status.SUCCESS, "Data": _verified(verification)}

    async def account_status(self, caller: Caller, params: dict[str, str]) -> dict[str, Any]:
        account = await self.gateway.account_status(caller)
        price = self.gateway.config.price_per_part
        return {
            "Status": Status.SUCCESS,
            "AccountName": account.name,
            "RemaindCredit": UNLIMITED_CREDIT if account.unlimited else account.credit,
            **dict.fromkeys(_PRICE_FIELDS, price),
            "Avanak_SecondPrice": 0,
            "ListLineNumbers": await self._lines(account.id, account.sender),
        }

    async def _lines(self, account_id: int, default: str) -> list[str]:
        """The account's sender lines, its default one first."""
        if self.gateway.lines is None:
            return [default]
        return await self.gateway.lines.lines(account_id)

    async def get_delivery(self, caller: Caller, params: dict[str, str]) -> dict[str, Any]:
        message = await self.gateway.get_delivery(caller, params.get("messageid"))
        return {"Status": Status.SUCCESS, "Data": _delivery(message)}

    async def get_deliveries(self, caller: Caller, params: dict[str, str]) -> dict[str, Any]:
        found = await self.gateway.get_deliveries(caller, params.get("listmessageid"))
        data = [_delivery(message) | {"Status": Status.SUCCESS} for message in found]
        return {"Status": Status.SUCCESS, "Data": data}

    async def pattern_code_create(self, caller: Caller, params: dict[str, str]) -> dict[str, Any]:
        pattern = await self.gateway.create_pattern(
            caller,
            text=params.get("messagetext", ""),
            is_otp=params.get("isotp", "").strip().lower() in {"true", "1", "yes", "on"},
            number_patterns=params.get("numberpatterns", ""),
            description=params.get("requestdescription", ""),
        )
        return {
            "Status": Status.SUCCESS,
            "ValidationResult": {"Status": VALIDATION_SUCCESS, "Message": None},
            "Data": _pattern(pattern),
        }

    async def pattern_code_list(self, caller: Caller, params: dict[str, str]) -> dict[str, Any]:
        found = await self.gateway.list_patterns(caller)
        return {"Status": Status.SUCCESS, "Data": [_pattern(p) for p in found]}

    # delivery reports pushed to the caller's URLs (services/webhooks.py signs and sends them)

    def _relays(self) -> Relays:
        if self.relays is None:  # the Relay methods are registered only with relays
            raise RuntimeError("no relays")
        return self.relays

    async def relay_create(self, caller: Caller, params: dict[str, str]) -> Body:
        """Amoot's RelayMessageDeliveryCreateResult: the Status and the new URL's id."""
        relay = await self._relays().create(caller.account.id, params.get("urladdress", ""))
        return {"Status": Status.SUCCESS, "RelayMessageDeliveryID": relay.id}

    async def relay_list(self, caller: Caller, params: dict[str, str]) -> Body:
        found = await self._relays().list(caller.account.id)
        return {"Status": Status.SUCCESS, "Data": [_relay(relay) for relay in found]}

    async def relay_set_active(self, caller: Caller, params: dict[str, str]) -> Body:
        """Answers the bare Status, as Amoot does. `ID` is read where the id has no name."""
        await self._relays().set_active(
            caller.account.id, _relay_id_param(params), params.get("active", "")
        )
        return Status.SUCCESS

    async def relay_delete(self, caller: Caller, params: dict[str, str]) -> Body:
        """Ours (Amoot has no way to remove a URL), in the shape of SetActive."""
        await self._relays().delete(caller.account.id, _relay_id_param(params))
        return Status.SUCCESS


def _relay_id_param(params: dict[str, str]) -> str:
    """Amoot's name for the id, RelayMessageDeliveryID, else ID (what List calls it)."""
    found = params.get("relaymessagedeliveryid")
    return found if found is not None else params.get("id", "")


def _relay(relay: RelayUrl) -> dict[str, Any]:
    """Amoot's RelayMessageDeliverySimple."""
    return {
        "ID": relay.id,
        "Active": relay.active,
        "RegDateTime": tehran_time(relay.created_at),
        "URLAddress": relay.url,
    }


_PRICE_FIELDS = (
    "BaseSMS_PersianPrice",
    "BaseSMS_EnglishPrice",
    "ServiceSMS_PersianPrice",
    "ServiceSMS_EnglishPrice",
    "AdsSMS_PersianPrice",
    "AdsSMS_EnglishPrice",
)


def _verified(verification: Verification) -> dict[str, Any]:
    return {
        "Mobile": phone.national_number(verification.mobile),
        "MessageID": verification.message_id,
        "VerificationID": verification.id,
        "Status": Status.SUCCESS,
    }


def _delivery(message: Message) -> dict[str, Any]:
    return {
        "MessageID": message.id,
        "DeliveryType": DELIVERY_TYPE[message.status],
        "Cost": message.cost,
        "RegDateTime": tehran_time(message.created_at),
        "SendDateTime": tehran_time(message.submitted_at),
    }


def _pattern(pattern: Pattern) -> dict[str, Any]:
    return {
        "ID": pattern.id,
        "Status": PATTERN_STATUS[pattern.state],
        "IsOTP": pattern.is_otp,
        "MessageText": pattern.text,
        "Patterns": variables(pattern.text),
        "NumberPatterns": list(pattern.number_patterns),
    }


def _data_null(status: Status) -> Body:
    return {"Status": status, "Data": None}


def _bare(status: Status) -> Body:
    return str(status)


def _relay_failure(status: Status) -> Body:
    return {"Status": status, "RelayMessageDeliveryID": 0}


def _data_empty_list(status: Status) -> Body:
    return {"Status": status, "Data": []}


def _account_failure(status: Status) -> Body:
    return {
        "Status": status,
        "AccountName": None,
        "RemaindCredit": 0,
        **dict.fromkeys(_PRICE_FIELDS, 0),
        "Avanak_SecondPrice": 0,
        "ListLineNumbers": [],
    }


def _pattern_failure(status: Status) -> Body:
    return {
        "Status": status,
        "ValidationResult": {"Status": 0, "Message": None},
        "Data": {
            "ID": 0,
            "Status": 0,
            "IsOTP": False,
            "MessageText": None,
            "Patterns": None,
            "NumberPatterns": None,
        },
    }
