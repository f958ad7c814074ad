"""
One kept SMPP bind: a Session is one connection generation (a transceiver, or a transmitter
and a receiver) spoken over asyncio by smpp_pdu; a Bind keeps one up, rebinding with jittered
back-off. What leaves this module is our error tree, `Submitted` or a DeliverSm. All their
timing goes through the Timer they are given (smpp/timer.py): the running loop, unless a
test gives its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import random
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from quickotp.adapters.transports.smpp import pdu as smpp_pdu
from quickotp.adapters.transports.smpp import timer as smpp_timer
from quickotp.adapters.transports.smpp.codec import SLOW_DOWN
from quickotp.adapters.transports.smpp.gate import Gate
from quickotp.adapters.transports.smpp.pdu import DeliverSm, Pdu, PduError
from quickotp.adapters.transports.smpp.timer import Timer
from quickotp.domain.errors import DeliveryUncertain, TransportRejected, TransportUnavailable

if TYPE_CHECKING:
    from quickotp.adapters.transports.smpp.config import SmppConfig

__all__ = ["Bind", "BindDown", "DeliverHandler", "Pdu", "Session", "Submitted"]

log = logging.getLogger(__name__)

DeliverHandler = Callable[[DeliverSm], Awaitable[None]]

_WATCH_EVERY = 1.0  # at most this many seconds between response-timer checks
INBOX_HIGH = 8_192  # receipts waiting for the handler past which the socket is not read
_BACKOFF_BASE = 0.5  # first reconnect delay, doubled per failed attempt up to reconnect_max
_STABLE_AFTER = 10.0  # a bind that stayed up this long resets the back-off


@dataclass(frozen=True)
class Submitted:
    """The SMSC's answer to one submit_sm: its command_status and message_id."""

    status: int
    message_id: str


class BindDown(TransportUnavailable):
    """The bind went down before the submit_sm was written: nothing was sent."""


def _keepalive(sock: socket.socket, *, idle: float, timeout: float) -> None:
    # TCP keepalive probes after `idle` seconds (the enquire_link interval) find a dead peer
    # even with no PDU in flight, and a write left unacknowledged for longer than
    # idle + timeout drops the connection.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    probes = max(1, round(idle / 3))
    for name, value in (
        ("TCP_KEEPIDLE", max(1, round(idle))),
        ("TCP_KEEPINTVL", probes),
        ("TCP_KEEPCNT", 3),
        ("TCP_USER_TIMEOUT", round((idle + timeout) * 1000)),
    ):
        if option := getattr(socket, name, None):
            sock.setsockopt(socket.IPPROTO_TCP, option, value)


Answer = tuple[int, bytes]  # a response's command_status and body


class Link(asyncio.Protocol):
    """
    One TCP connection to the SMSC, read and written on the event loop: requests wait for
    the response with their sequence_number, deliver_sm go to the Session's inbox,
    enquire_link and unbind from the SMSC are answered here.
    """

    def __init__(self, session: Session, config: SmppConfig, timer: Timer) -> None:
        self._session = session
        self._config = config
        self._timer = timer
        self._loop = asyncio.get_running_loop()
        self._transport: asyncio.Transport | None = None
        self._buffer = bytearray()
        self._out: list[bytes] = []  # PDUs written this turn of the event loop
        self._sequence = itertools.count(1)
        # Requests waiting for their response, oldest first, and when each is due: one
        # timeout for all, so insertion order is due order.
        self.waiting: dict[int, tuple[asyncio.Future[Answer], float, int]] = {}

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]  # a TCP connection's
        sock = transport.get_extra_info("socket")
        if sock is not None:  # without TCP_NODELAY, Nagle holds each answer ~40 ms
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with contextlib.suppress(OSError):  # an option this kernel lacks: the defaults
                _keepalive(sock, idle=self._config.enquire_link, timeout=self._config.timeout)

    def connection_lost(self, exc: Exception | None) -> None:
        self._transport = None
        self._session.peer_gone()
        self._session.fail("the SMSC closed the connection" if exc is None else f"{exc!r}")
        self.fail_waiting("the connection closed")

    def fail_waiting(self, reason: str) -> None:
        waiting, self.waiting = self.waiting, {}
        for future, _, _ in waiting.values():
            if not future.done():
                future.set_exception(DeliveryUncertain(f"the bind went down: {reason}"))

    @property
    def open(self) -> bool:
        return self._transport is not None and not self._transport.is_closing()

    def request(self, command_id: int, body: bytes = b"") -> asyncio.Future[Answer]:
        """Write one request; the future is its response (DeliveryUncertain if none comes)."""
        if self._transport is None or self._transport.is_closing():
            raise BindDown("the connection is closed")
        sequence = next(self._sequence)
        while sequence > smpp_pdu.MAX_SEQUENCE or sequence in self.waiting:
            if sequence > smpp_pdu.MAX_SEQUENCE:  # wrapped: numbers still awaited are skipped
                self._sequence = itertools.count(1)
            sequence = next(self._sequence)
        future: asyncio.Future[Answer] = self._loop.create_future()
        self.waiting[sequence] = (future, self._timer.time() + self._config.timeout, command_id)
        self._write(smpp_pdu.encode(command_id, sequence, body))
        return future

    def forget(self, future: asyncio.Future[Answer]) -> None:
        """Stop waiting for a request's response (its caller gave up)."""
        for sequence, (waiting, _, _) in self.waiting.items():
            if waiting is future:
                del self.waiting[sequence]
                return

    def respond(self, command_id: int, sequence: int, body: bytes = b"", status: int = 0) -> None:
        if self._transport is not None and not self._transport.is_closing():
            self._write(smpp_pdu.encode(command_id, sequence, body, status))

    def _write(self, pdu: bytes) -> None:
        # What one turn of the event loop writes goes out as one send(): submits from
        # several senders and the answers to a burst of receipts share a system call.
        if not self._out:
            self._loop.call_soon(self._flush)
        self._out.append(pdu)

    def _flush(self) -> None:
        out, self._out = self._out, []
        if out and self._transport is not None and not self._transport.is_closing():
            self._transport.write(out[0] if len(out) == 1 else b"".join(out))

    def oldest(self) -> tuple[float, int] | None:
        """When the oldest request waiting is due, and its command_id."""
        for _, due, command_id in self.waiting.values():
            return due, command_id
        return None

    def pause(self, paused: bool) -> None:
        """
        Stop or resume reading. Responses are not read while paused either, so on resuming
        every request waiting gets a whole `timeout` again (the session's timer rests too).
        """
        if self._transport is not None and not self._transport.is_closing():
            if paused:
                self._transport.pause_reading()
            else:
                self._transport.resume_reading()
        if not paused:
            due = self._timer.time() + self._config.timeout
            self.waiting = {n: (f, due, c) for n, (f, _, c) in self.waiting.items()}

    def abort(self) -> None:
        """Close now, after writing what this turn of the loop has not written yet."""
        self._flush()
        if self._transport is not None:
            self._transport.abort()

    def data_received(self, data: bytes) -> None:
        buffer = self._buffer
        buffer += data
        at = 0
        try:
            while len(buffer) - at >= smpp_pdu.HEADER.size:
                length, command_id, status, sequence = smpp_pdu.HEADER.unpack_from(buffer, at)
                if not smpp_pdu.HEADER.size <= length <= smpp_pdu.MAX_PDU:
                    raise PduError(f"command_length {length}")
                if len(buffer) - at < length:
                    break
                body = bytes(buffer[at + smpp_pdu.HEADER.size : at + length])
                at += length
                self._received(command_id, status, sequence, body)
        except PduError as error:
            log.warning("SMPP %s:%d: %s; closing", self._config.host, self._config.port, error)
            self._session.fail(f"malformed PDU from the SMSC: {error}")
            self.abort()
        finally:
            del buffer[:at]

    def _received(self, command_id: int, status: int, sequence: int, body: bytes) -> None:
        if command_id & smpp_pdu.RESPONSE:
            waiting = self.waiting.pop(sequence, None)
            if waiting is not None and not waiting[0].done():
                waiting[0].set_result((status, body))
        elif command_id == smpp_pdu.DELIVER_SM:
            try:
                event = smpp_pdu.deliver_sm(body)
            except PduError:  # refused for good (§5.1.3), the session kept
                answer = smpp_pdu.DELIVER_SM | smpp_pdu.RESPONSE
                self.respond(answer, sequence, b"\0", smpp_pdu.ESME_RX_P_APPN)
                return
            self._session.deliver(self, sequence, event)
        elif command_id == smpp_pdu.ENQUIRE_LINK:
            self.respond(smpp_pdu.ENQUIRE_LINK | smpp_pdu.RESPONSE, sequence)
        elif command_id == smpp_pdu.UNBIND:
            self._session.unbound(self, sequence)
        elif command_id != smpp_pdu.ALERT_NOTIFICATION:
            self.respond(smpp_pdu.GENERIC_NACK, sequence, status=smpp_pdu.ESME_RINVCMDID)


class Session:
    """
    One connection generation of a bind: a transceiver, or a transmitter plus a receiver.
    It dies once, for good; the Bind then opens a new one.

    A deliver_sm is answered once the handler has taken it (handed it on to be recorded),
    so a receipt this process never took is one the SMSC still holds and sends again.
    """

    def __init__(
        self,
        config: SmppConfig,
        on_deliver: DeliverHandler,
        timer: Timer,
        *,
        inbox_high: int = INBOX_HIGH,
    ) -> None:
        self._config = config
        self._on_deliver = on_deliver
        self._timer = timer
        self._links: list[Link] = []
        self._dead: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._peer_alive = True  # False once the SMSC has gone: no unbind to say then
        # Receipts read, each answered once handed on; an event of None is the SMSC's
        # unbind, answered after the receipts read before it; None ends the reader.
        self._inbox: asyncio.Queue[tuple[Link, int, DeliverSm | None] | None] = asyncio.Queue()
        self._paused = False
        self._inbox_high = inbox_high
        self._reader: asyncio.Task[None] | None = None
        # The response timer's resolution: a request left unanswered fails the session
        # between `timeout` and `timeout` + this. One check for all, rather than a timer per
        # submit_sm: asyncio.timeout cost 4.5-5.3 us a submit here, 1 % of an OTP's CPU.
        self._check_every = min(_WATCH_EVERY, config.timeout / 4)

    @classmethod
    async def open(
        cls,
        config: SmppConfig,
        on_deliver: DeliverHandler,
        timer: Timer | None = None,
        *,
        inbox_high: int = INBOX_HIGH,
    ) -> Session:
        """
        Connect and bind (both binds in `pair` mode); raises TransportUnavailable. `timer`
        keeps the session's time (None: the running loop); past `inbox_high` receipts
        waiting for the handler, the links are not read until half of them are taken.
        """
        session = cls(
            config, on_deliver, timer or asyncio.get_running_loop(), inbox_high=inbox_high
        )
        try:
            for bind_type in ["TRX"] if config.mode == "trx" else ["TX", "RX"]:
                await session._bind(bind_type)
        except BaseException:
            for link in session._links:
                link.abort()
            raise
        session._reader = asyncio.create_task(session._read())
        return session

    async def _bind(self, bind_type: str) -> None:
        config = self._config
        loop = asyncio.get_running_loop()
        body = smpp_pdu.bind_body(config.system_id, config.password, config.system_type)
        try:
            async with smpp_timer.timeout(self._timer, config.timeout):
                _, link = await loop.create_connection(
                    lambda: Link(self, config, self._timer), config.host, config.port
                )
                self._links.append(link)
                status, _ = await link.request(smpp_pdu.BIND_COMMANDS[bind_type], body)
        except (OSError, TimeoutError, DeliveryUncertain, TransportUnavailable) as error:
            reason = "no answer" if isinstance(error, TimeoutError) else str(error)
            raise TransportUnavailable(f"bind {bind_type} failed: {reason}") from None
        if status:
            raise TransportUnavailable(f"bind {bind_type} refused: command_status 0x{status:08X}")

    @property
    def alive(self) -> bool:
        """Whether submits may still go out on this session."""
        return not self._dead.done()

    async def submit(self, pdu: Pdu) -> Submitted:
        """
        Send one submit_sm and wait for its answer. Raises BindDown when nothing was written,
        TransportRejected when the PDU cannot be encoded, DeliveryUncertain when the session
        died first, which it does when any request stays unanswered past `timeout`.
        """
        if not self.alive:
            raise BindDown("the bind is down")
        try:
            body = smpp_pdu.submit_sm_body(pdu)
        except ValueError as error:
            raise TransportRejected(f"cannot encode the submit_sm: {error}") from None
        transmitter = self._links[0]
        answer = transmitter.request(smpp_pdu.SUBMIT_SM, body)
        try:
            status, resp = await answer
        except asyncio.CancelledError:
            transmitter.forget(answer)
            if answer.done() and not answer.cancelled():
                answer.exception()  # read: the caller is gone, its fate is no news
            raise
        try:
            return Submitted(status, smpp_pdu.message_id(resp) if not status else "")
        except PduError as error:  # taken (status 0) but its id unreadable: never resend
            log.warning("SMPP %s: submit_sm_resp unreadable: %s", self._config.host, error)
            return Submitted(status, "")

    def deliver(self, link: Link, sequence: int, event: DeliverSm) -> None:
        """A deliver_sm read on `link`: queued for the handler, answered once it took it."""
        self._inbox.put_nowait((link, sequence, event))
        if not self._paused and self._inbox.qsize() >= self._inbox_high:
            self._pause(True)  # the SMSC waits (TCP), rather than this process filling up

    def _pause(self, paused: bool) -> None:
        """Stop or resume reading every link (and the response timer with it)."""
        self._paused = paused
        for link in self._links:
            link.pause(paused)

    def fail(self, reason: str) -> None:
        """End the session: every request still waiting learns its fate is unknown."""
        if self._dead.done():
            return
        self._dead.set_result(reason)
        for link in self._links:
            link.fail_waiting(reason)

    def unbound(self, link: Link, sequence: int) -> None:
        """
        The SMSC unbinds: the session ends, and its unbind_resp goes out after the answers
        to the receipts read before it (§4.2: nothing is said after unbind_resp).
        """
        self.peer_gone()
        self.fail("the SMSC unbound")
        if self._reader is None or self._reader.done():  # still binding: no receipt taken
            link.respond(smpp_pdu.UNBIND | smpp_pdu.RESPONSE, sequence)
        else:
            self._inbox.put_nowait((link, sequence, None))

    def peer_gone(self) -> None:
        """The SMSC has closed or unbound: there is no unbind to send it."""
        self._peer_alive = False

    async def wait_dead(self) -> str:
        """
        Return why the session ended. Meanwhile it ends the session when a request goes
        unanswered past `timeout` (checked every `_check_every` seconds), and asks the SMSC
        with enquire_link every `enquire_link` seconds whether it is there.
        """
        timer = self._timer
        asked = timer.time()
        while True:
            await smpp_timer.wait(timer, [self._dead], seconds=self._check_every)
            if self._dead.done():
                return self._dead.result()
            self._check_answers()
            if timer.time() - asked >= self._config.enquire_link:
                asked = timer.time()
                for link in self._links:
                    if link.open:
                        _unheeded(link.request(smpp_pdu.ENQUIRE_LINK))

    def _check_answers(self) -> None:
        """Fail the session if its oldest unanswered request is past due (not while paused)."""
        if self._paused:  # its answers wait unread behind the receipts: no fault of the SMSC
            return
        now = self._timer.time()
        for link in self._links:
            oldest = link.oldest()
            if oldest is not None and oldest[0] <= now:
                name = smpp_pdu.NAMES.get(oldest[1], f"0x{oldest[1]:08X}")
                self.fail(f"no {name}_resp within {self._config.timeout:g} s")
                return

    async def close(self) -> None:
        """
        Hand on and answer the receipts already read, unbind where the SMSC may still listen
        (§4.2: nothing is answered after unbind_resp), then close the connections: closed
        even when this is cancelled half-way.
        """
        self.fail("closed")
        try:
            if self._reader is not None:
                self._inbox.put_nowait(None)  # after the receipts already read
                if self._paused:
                    self._pause(False)
                await smpp_timer.wait(self._timer, [self._reader], seconds=self._config.timeout)
            unbinds = []
            for link in self._links if self._peer_alive else []:
                with contextlib.suppress(TransportUnavailable):
                    unbinds.append(_unheeded(link.request(smpp_pdu.UNBIND)))
            if unbinds:
                await smpp_timer.wait(self._timer, unbinds, seconds=self._config.timeout)
        finally:
            if self._reader is not None:
                self._reader.cancel()
                await asyncio.gather(self._reader, return_exceptions=True)
            for link in self._links:
                link.abort()

    async def _read(self) -> None:
        while True:
            item = await self._inbox.get()
            if item is None:
                return
            link, sequence, event = item
            if event is None:
                link.respond(smpp_pdu.UNBIND | smpp_pdu.RESPONSE, sequence)
                return
            status = smpp_pdu.ESME_ROK
            try:
                await self._on_deliver(event)
            except Exception:  # not taken: the SMSC is told to send it again later
                log.exception("handling a deliver_sm failed")
                status = smpp_pdu.ESME_RX_T_APPN
            link.respond(smpp_pdu.DELIVER_SM | smpp_pdu.RESPONSE, sequence, b"\0", status)
            if self._paused and self._inbox.qsize() < self._inbox_high // 2:
                self._pause(False)


def _unheeded(future: asyncio.Future[Answer]) -> asyncio.Future[Answer]:
    """A request whose failure (the session died first) is no news: read, never logged."""
    future.add_done_callback(lambda done: done.cancelled() or done.exception())
    return future


class Bind:
    """
    A kept bind: opens a Session, serves it until it dies, then unbinds and opens another
    after a jittered exponential back-off (full jitter over 0.5 s * 2^n, at most
    reconnect_max), so a fleet of gateways does not storm a recovering SMSC.
    """

    def __init__(
        self,
        config: SmppConfig,
        index: int,
        on_deliver: DeliverHandler,
        timer: Timer | None = None,
    ) -> None:
        """`timer` keeps the bind's time: back-off, sessions, gate (None: the running loop)."""
        self._config = config
        self._index = index
        self._on_deliver = on_deliver
        self._timer = timer or asyncio.get_running_loop()
        self.gate = Gate(config.window, config.tps, self._timer)
        self._session: Session | None = None
        self._up = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @property
    def up(self) -> bool:
        """Whether a session is bound right now."""
        return self._session is not None and self._session.alive

    async def wait_up(self) -> None:
        """Return once a session is bound."""
        await self._up.wait()

    def start(self) -> None:
        """Begin binding, and keep the bind up until aclose."""
        self._task = asyncio.create_task(self._run(), name=f"smpp-bind-{self._index}")

    async def aclose(self) -> None:
        """Stop rebinding and unbind the current session."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def submit(self, pdu: Pdu, ticket: int) -> Submitted:
        """One submit_sm through the gate; see Session.submit for what it raises."""
        await self.gate.acquire(ticket)
        try:
            session = self._session
            if session is None:
                raise BindDown("the bind is down")
            answer = await session.submit(pdu)
            if answer.status in SLOW_DOWN:  # before the slot is released to the next waiter
                self.gate.throttled()
            return answer
        finally:
            self.gate.release()

    async def _run(self) -> None:
        failures = 0
        where = f"{self._config.host}:{self._config.port} bind {self._index}"
        while True:
            try:
                session = await Session.open(self._config, self._on_deliver, self._timer)
            except TransportUnavailable as error:
                failures += 1
                delay = self._backoff(failures)
                log.warning("SMPP %s: %s; retrying in %.1f s", where, error, delay)
                await smpp_timer.sleep(self._timer, delay)
                continue
            log.info("SMPP %s: bound (%s)", where, self._config.mode)
            self._session = session
            self._up.set()
            bound_at = self._timer.time()
            try:
                reason = await session.wait_dead()
            finally:  # also on aclose, which cancels this task
                self._up.clear()
                self._session = None
                await session.close()
            failures = 0 if self._timer.time() - bound_at >= _STABLE_AFTER else failures + 1
            delay = self._backoff(max(failures, 1))
            log.warning("SMPP %s: %s; rebinding in %.1f s", where, reason, delay)
            await smpp_timer.sleep(self._timer, delay)

    def _backoff(self, failures: int) -> float:
        # Capped exponent: 2.0 ** 1024 overflows, and a bind retries for as long as it must.
        ceiling = min(self._config.reconnect_max, _BACKOFF_BASE * 2.0 ** min(failures - 1, 30))
        return random.uniform(ceiling / 2, ceiling)  # noqa: S311 - jitter, not a secret
