"""
SMPP 3.4 transport: `SmppTransport` delivers OutboundSms to an operator's SMSC over kept binds
and turns delivery receipts into DeliveryReports. Its route is a URL parsed by
`SmppConfig.from_url`.

The PDU layer is our own (smpp_pdu: the dozen PDUs an ESME that submits and takes receipts
needs; smpp_session: the connection on the event loop). Why not a library:
  - aiosmpplib makes about 1,200 submit_sm/s at window 10 with receipts on the test
    simulator: under the 1,500 OTP/s a gateway process aims at, before any gateway work.
  - smpp34 (a Rust/tokio core) clears that bar alone, but every answer and receipt crosses
    from a tokio thread to the event loop and takes the GIL (context switches that cost a
    large share of each OTP's CPU), and it has no reconnect, no TCP_NODELAY, a window that
    does not cap, a session that dies silently once 1,024 receipts wait, and a fixed 30 s
    response timer.
  - An asyncio client on the event loop needs about a third of smpp34's CPU a message
    (`bench/smpp_client.py` compares the two on one simulator) and has none of those gaps.

What the layer does (smpp_session): one TCP connection per bind on the event loop with
TCP_NODELAY and keepalive; the window and the `tps` cap and the throttle back-off are the
Gate's; one response timer per session (its oldest unanswered request, a quarter of
`timeout` or a second apart), and no answer in time is DeliveryUncertain for every submit in
flight and a rebind; enquire_link every `enquire_link` seconds; a deliver_sm is answered
once its receipt is taken (ESME_RX_T_APPN when the handler failed), so the SMSC resends one
this process never took; reading stops while 8,192 receipts wait, and the response timer
with it; Bind rebinds with jittered exponential back-off, answering the receipts it read and
unbinding first.
Encoding and UDH are smpp_codec's.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
import logging
import secrets
from collections import OrderedDict
from collections.abc import Callable, Iterator
from datetime import datetime

from quickotp.adapters.transports.smpp import timer as smpp_timer
from quickotp.adapters.transports.smpp.codec import (
    ESM_CLASS_UDHI,
    ESME_ROK,
    MAX_PARTS,
    SLOW_DOWN,
    canonical_id,
    is_receipt,
    parse_receipt,
    relative_validity,
    source_address,
    split,
    status_error,
    with_udh,
)
from quickotp.adapters.transports.smpp.config import ID_BASES, SmppConfig
from quickotp.adapters.transports.smpp.pdu import DeliverSm, Pdu
from quickotp.adapters.transports.smpp.session import Bind, BindDown
from quickotp.adapters.transports.smpp.slots import BindSlots, NoSlotHere, SlotKeeper
from quickotp.adapters.transports.smpp.timer import Timer
from quickotp.domain.delivery import DeliveryReport, OutboundSms, ReportSink, SendReceipt
from quickotp.domain.errors import (
    DeliveryError,
    DeliveryUncertain,
    TransportRejected,
    TransportUnavailable,
)

__all__ = ["SmppConfig", "SmppTransport"]

log = logging.getLogger(__name__)

_ATTEMPTS = 6  # submit_sm tries per part when the SMSC answers throttled / queue full
_PART_IDS = 100_000  # part id -> first part id entries kept for receipts of long messages
_NO_BIND_HERE = "this dispatcher holds none of the route's bind slots: others hold them all"


class _PartIds:
    """
    Bounded map from the id of a later part of a long message to its first part's id, and
    the later parts still waiting for their submit_sm_resp (a receipt may overtake one).
    """

    def __init__(self, capacity: int) -> None:
        self._capacity = capacity
        self._first: OrderedDict[str, str] = OrderedDict()
        self._pending: set[asyncio.Future[None]] = set()

    def add(self, part_id: str, first_id: str) -> None:
        self._first[part_id] = first_id
        if len(self._first) > self._capacity:
            self._first.popitem(last=False)

    @contextlib.contextmanager
    def pending(self) -> Iterator[None]:
        """Around the submit of a later part: receipts of unknown ids wait for it."""
        settled = asyncio.get_running_loop().create_future()
        self._pending.add(settled)
        try:
            yield
        finally:
            settled.set_result(None)
            self._pending.discard(settled)

    async def first(self, message_id: str, *, timer: Timer, grace: float) -> str:
        """The first part's id for `message_id` (itself, if it is no later part)."""
        if message_id not in self._first and self._pending:
            # Perhaps a later part whose submit_sm_resp is still on its way (an SMSC may
            # send a receipt before the submit_sm_resp of its message):
            # wait for the parts in flight now, not for ones sent after.
            await smpp_timer.wait(timer, set(self._pending), seconds=grace)
        return self._first.get(message_id, message_id)


def _tail(mobile: str) -> str:
    return "…" + mobile[-4:]


class SmppTransport:
    """
    Delivers SMS to one SMSC account over `binds` kept binds (see the module docstring).

    The provider_message_id of a message is the canonical id (smpp_codec.canonical_id) of
    its first part's submit_sm_resp; receipts for any part are reported under it. For a
    long message, parts after the first are submitted once the first is accepted: a
    permanent refusal of a later part raises TransportRejected, any other failure of a
    later part DeliveryUncertain, since the handset may get what was already sent.
    """

    def __init__(
        self,
        config: SmppConfig,
        *,
        clock: Callable[[], datetime],
        name: str = "smpp",
        slots: BindSlots | None = None,
        timer: Timer | None = None,
    ) -> None:
        """
        `clock` is the time now (UTC): codes' validity and receipts' arrival. `timer` keeps
        the SMPP layer's own time (smpp/timer.py); None: the running loop, once started.
        """
        self.name = name
        self._config = config
        self._clock = clock
        self._timer = timer
        self._binds: list[Bind] = []
        # With `slots`, the route's binds are shared with other dispatchers (smpp_slots.py).
        self._slots = slots
        self._keeper: SlotKeeper | None = None
        self._closed = False
        self._tickets = itertools.count()
        self._references = itertools.count(secrets.randbelow(256))
        self._parts = _PartIds(_PART_IDS)
        self._resp_base, self._text_base = ID_BASES[config.receipt_ids]

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        clock: Callable[[], datetime],
        name: str = "smpp",
        slots: Callable[[int], BindSlots] | None = None,
        timer: Timer | None = None,
    ) -> SmppTransport:
        """
        A transport for the route `url` (see SmppConfig.from_url); `clock` and `timer` as
        the constructor takes them; `slots`, given the route's number of binds, shares them
        with the other dispatchers.
        """
        config = SmppConfig.from_url(url)
        return cls(
            config,
            clock=clock,
            name=name,
            slots=slots(config.binds) if slots else None,
            timer=timer,
        )

    @property
    def bound(self) -> int:
        """How many binds are up right now (for readiness checks)."""
        return sum(bind.up for bind in self._binds)

    @property
    def holds_binds(self) -> bool:
        """Whether this process runs binds of the route (False: others hold every slot)."""
        return bool(self._binds)

    async def start(self, reports: ReportSink) -> None:
        """Start binding in the background; sends wait up to `timeout` for a first bind."""
        on_deliver = functools.partial(self._on_deliver, reports)
        timer = self._timer = self._timer or asyncio.get_running_loop()
        if self._slots is not None:
            self._keeper = SlotKeeper(
                self._slots,
                total=self._config.binds,
                window=self._config.window,
                new_bind=lambda slot: Bind(self._config, slot, on_deliver, timer),
                binds=self._binds,
                drain_timeout=self._config.timeout + 1,
                name=self.name,
            )
            self._keeper.start()
            return
        self._binds[:] = [
            Bind(self._config, i, on_deliver, timer) for i in range(self._config.binds)
        ]
        for bind in self._binds:
            bind.start()

    async def aclose(self) -> None:
        """Unbind every bind; sends still waiting fail."""
        self._closed = True
        if self._keeper is not None:
            await self._keeper.aclose()
            return
        await asyncio.gather(*(bind.aclose() for bind in self._binds))

    async def send(self, sms: OutboundSms) -> SendReceipt:
        """Submit every part of `sms`; see the Transport Protocol for what it raises."""
        if self._closed:
            raise TransportUnavailable("the SMPP transport is not running")
        if not self._binds:
            raise NoSlotHere(_NO_BIND_HERE) if self._slots else TransportUnavailable("not running")
        self._check_expiry(sms)
        encoded = split(sms.text)
        if len(encoded.segments) > MAX_PARTS:
            raise TransportRejected(f"the text needs more than {MAX_PARTS} parts")
        esm_class, payloads = 0, encoded.segments
        if len(payloads) > 1:
            esm_class = ESM_CLASS_UDHI
            payloads = with_udh(payloads, next(self._references))
        source, source_ton, source_npi = source_address(
            sms.sender, ton=self._config.source_ton, npi=self._config.source_npi
        )

        def pdu(short_message: bytes, validity_period: str) -> Pdu:
            return Pdu(
                destination=sms.mobile,
                dest_ton=self._config.dest_ton,
                dest_npi=self._config.dest_npi,
                source=source,
                source_ton=source_ton,
                source_npi=source_npi,
                esm_class=esm_class,
                data_coding=encoded.data_coding,
                short_message=short_message,
                validity_period=validity_period,
            )

        ticket = next(self._tickets)
        deadline = self._now() + self._config.timeout
        first_id = await self._submit(sms, functools.partial(pdu, payloads[0]), ticket, deadline)
        if len(payloads) > 1:
            await self._submit_rest(
                sms, [functools.partial(pdu, p) for p in payloads[1:]], ticket, first_id
            )
        log.debug(
            "SMPP %s: message %d to %s is %s",
            self.name,
            sms.message_id,
            _tail(sms.mobile),
            first_id,
        )
        return SendReceipt(self.name, first_id)

    async def _submit_rest(
        self,
        sms: OutboundSms,
        pdus: list[Callable[[str], Pdu]],
        ticket: int,
        first_id: str,
    ) -> None:
        deadline = self._now() + self._config.timeout
        results = await asyncio.gather(
            *(self._submit(sms, pdu, ticket, deadline, first_id=first_id) for pdu in pdus),
            return_exceptions=True,
        )
        errors = [r for r in results if isinstance(r, BaseException)]
        for error in errors:
            if not isinstance(error, DeliveryError):
                raise error
        if rejected := [e for e in errors if isinstance(e, TransportRejected)]:
            raise rejected[0]
        if errors:
            raise DeliveryUncertain(
                f"{len(errors)} of {len(pdus) + 1} parts failed after part 1 was accepted: "
                f"{errors[0]}"
            )

    async def _submit(
        self,
        sms: OutboundSms,
        pdu: Callable[[str], Pdu],
        ticket: int,
        deadline: float,
        *,
        first_id: str | None = None,
    ) -> str:
        """One part, retried on throttling and on a bind lost before sending; its id."""
        if first_id is None:
            return await self._try(sms, pdu, ticket, deadline)
        with self._parts.pending():
            message_id = await self._try(sms, pdu, ticket, deadline)
            self._parts.add(message_id, first_id)
            return message_id

    async def _try(
        self, sms: OutboundSms, pdu: Callable[[str], Pdu], ticket: int, deadline: float
    ) -> str:
        for _ in range(_ATTEMPTS):
            validity = relative_validity(self._check_expiry(sms))
            bind = await self._pick_bind(deadline)
            try:
                answer = await bind.submit(pdu(validity), ticket)
            except BindDown:
                continue
            if answer.status == ESME_ROK:
                message_id = canonical_id(answer.message_id, self._resp_base)
                if not message_id:
                    # Taken, but unmatchable: never raise here, a retry would duplicate it.
                    log.warning("SMPP %s: submit_sm_resp without a message_id", self.name)
                    message_id = f"none-{sms.message_id}"
                return message_id
            if answer.status not in SLOW_DOWN:
                raise status_error(answer.status)
            log.info(
                "SMPP %s: throttled (0x%02X) for %s", self.name, answer.status, _tail(sms.mobile)
            )
        raise TransportUnavailable(f"the SMSC kept throttling, {_ATTEMPTS} tries")

    async def _pick_bind(self, deadline: float) -> Bind:
        """The least loaded bind that is up, waiting for one until `deadline`."""
        timer = self._timer or asyncio.get_running_loop()
        while True:
            if self._closed:
                raise TransportUnavailable("the SMPP transport was closed")
            best: Bind | None = None
            for bind in self._binds:  # a loop, not min() over a list: once per submit_sm
                if bind.up and (best is None or bind.gate.load < best.gate.load):
                    best = bind
            if best is not None:
                return best
            remaining = deadline - timer.time()
            if remaining <= 0:
                raise TransportUnavailable("no SMPP bind is up")
            if not self._binds:
                raise NoSlotHere(_NO_BIND_HERE)
            waiters = [asyncio.ensure_future(bind.wait_up()) for bind in self._binds]
            try:
                await smpp_timer.wait(timer, waiters, seconds=remaining, first=True)
            finally:
                for waiter in waiters:
                    waiter.cancel()

    def _now(self) -> float:
        """The SMPP layer's time (its timer's)."""
        return (self._timer or asyncio.get_running_loop()).time()

    def _check_expiry(self, sms: OutboundSms) -> int:
        """Whole seconds the code is still valid; TransportRejected when none are left."""
        remaining = int((sms.expires_at - self._clock()).total_seconds())
        if remaining < 1:
            raise TransportRejected("the code expired before the SMSC took it")
        return remaining

    async def _on_deliver(self, reports: ReportSink, event: DeliverSm) -> None:
        if not is_receipt(event.esm_class):
            log.debug("SMPP %s: ignoring a mobile-originated deliver_sm", self.name)
            return
        receipt = parse_receipt(
            event.short_message,
            event.tlvs,
            resp_base=self._resp_base,
            text_base=self._text_base,
        )
        if receipt is None:
            log.warning("SMPP %s: a delivery receipt that names no message", self.name)
            return
        report = DeliveryReport(
            transport=self.name,
            provider_message_id=await self._parts.first(
                receipt.message_id,
                timer=self._timer or asyncio.get_running_loop(),
                grace=self._config.timeout,
            ),
            state=receipt.state,
            # Appendix B's `done date` carries no time zone, so the arrival time is truer.
            at=self._clock(),
        )
        await reports(report)
