"""
One kept SMPP bind over smpp34: connecting, socket tuning, submit through the Gate with a
response timer, the receive loop, and rebinding with jittered back-off.
smpp34's exceptions end here; what leaves this module is our error tree or `Submitted`.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import random
import re
import socket
import stat
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import smpp34

from quickotp.errors import DeliveryUncertain, TransportUnavailable
from quickotp.transports.smpp_codec import ESME_RSYSERR, SLOW_DOWN
from quickotp.transports.smpp_gate import Gate

if TYPE_CHECKING:
    from quickotp.transports.smpp_config import SmppConfig

log = logging.getLogger(__name__)

DeliverHandler = Callable[[smpp34.DeliverSmEvent], Awaitable[None]]

_INBOUND = 65_536  # smpp34's deliver_sm queue; its session dies silently when it fills
_WATCH_EVERY = 1.0  # seconds between checks that smpp34's session task still runs
_DRAIN_IDLE = 0.2  # a dead session's receipts are drained until none came for this long
_BACKOFF_BASE = 0.5  # first reconnect delay, doubled per failed attempt up to reconnect_max
_STABLE_AFTER = 10.0  # a bind that stayed up this long resets the back-off


@dataclass(frozen=True)
class Pdu:
    """The fields of one submit_sm that vary per part."""

    destination: str
    dest_ton: int
    dest_npi: int
    source: str
    source_ton: int
    source_npi: int
    esm_class: int
    data_coding: int
    short_message: bytes
    validity_period: str


@dataclass(frozen=True)
class Submitted:
    """The SMSC's answer to one submit_sm: its command_status and message_id."""

    status: int
    message_id: str


class BindDown(TransportUnavailable):
    """The bind went down before the submit_sm was written: nothing was sent."""


def _socket_fds() -> list[int]:
    for directory in ("/proc/self/fd", "/dev/fd"):
        with contextlib.suppress(OSError):
            return [int(name) for name in os.listdir(directory)]
    return []


def tune_sockets(addresses: set[str], port: int, *, idle: float, timeout: float) -> int:
    """
    Set TCP_NODELAY (and TCP keepalive) on every TCP socket of this process connected to
    `port` on one of `addresses`; returns how many. smpp34 owns its sockets in Rust and sets
    no option (smpp-notes F2), so we reach them through a duplicate descriptor: socket
    options belong to the socket, not to the descriptor, and closing the duplicate leaves
    smpp34's own open.
    """
    tuned = 0
    for fd in _socket_fds():
        try:
            # Sockets only: closing a duplicate of a file's descriptor would drop every POSIX
            # lock this process holds on that file, SQLite's included (another process then
            # takes the database for unused and truncates its -shm under us: SIGBUS).
            if not stat.S_ISSOCK(os.fstat(fd).st_mode):
                continue
            dup = os.dup(fd)
        except OSError:
            continue
        try:
            sock = socket.socket(fileno=dup)
        except OSError:
            os.close(dup)
            continue
        with sock:
            if sock.family not in (socket.AF_INET, socket.AF_INET6):
                continue
            if sock.type != socket.SOCK_STREAM:
                continue
            try:
                peer = sock.getpeername()
            except OSError:
                continue
            if peer[0] not in addresses or peer[1] != port:
                continue
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            _keepalive(sock, idle=idle, timeout=timeout)
            tuned += 1
    return tuned


def _keepalive(sock: socket.socket, *, idle: float, timeout: float) -> None:
    # smpp34 1.5.0 sends enquire_link every 30 s and its Python API has no setting for it;
    # TCP keepalive probes after `idle` seconds find a dead peer sooner, and a write left
    # unacknowledged for longer than idle + timeout drops the connection.
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


_STATUS_IN_ERROR = re.compile(r"\(0x([0-9A-Fa-f]{8})\)")


def _answer(outcome: asyncio.Future[smpp34.SubmitSmResp]) -> Submitted:
    """Read smpp34's result for one submit_sm: an answer from the SMSC, or no answer."""
    error = outcome.exception()
    if error is None:
        resp = outcome.result()
        return Submitted(resp.command_status, resp.message_id or "")
    # smpp34 raises SmppError carrying a command_status for a generic_nack from the SMSC,
    # and ESME_RSYSERR for its own failures (response timer, connection gone), which leave
    # us not knowing whether the SMSC took the message.
    found = _STATUS_IN_ERROR.search(str(error))
    status = int(found.group(1), 16) if isinstance(error, smpp34.SmppError) and found else None
    if status is None or status == ESME_RSYSERR:
        raise DeliveryUncertain(f"no submit_sm_resp: {error}")
    return Submitted(status, "")


class Session:
    """
    One connection generation of a bind: a transceiver, or a transmitter plus a receiver.
    It dies once, for good; the Bind then opens a new one.
    """

    def __init__(
        self,
        config: SmppConfig,
        clients: list[smpp34.Client],
        transmitter: smpp34.Smsc,
        sessions: list[smpp34.Smsc],
        on_deliver: DeliverHandler,
    ) -> None:
        self._config = config
        self._clients = clients
        self._transmitter = transmitter
        self._sessions = sessions
        self._on_deliver = on_deliver
        self._dead: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._peer_alive = True  # False once the SMSC has gone: no unbind to say then
        # Each waiting submit and the loop time its answer is due by, oldest first (one
        # timeout for all, so insertion order is due order).
        self._inflight: dict[asyncio.Future[asyncio.Future[smpp34.SubmitSmResp]], float] = {}
        # The response timer's resolution: a submit left unanswered fails the session between
        # `timeout` and `timeout` + this. One check for all, rather than a timer per submit_sm:
        # asyncio.timeout cost 4.5-5.3 us a submit here, 1 % of an OTP's CPU end to end.
        self._check_every = min(_WATCH_EVERY, config.timeout / 4)
        self._readers = [asyncio.create_task(self._read(s)) for s in sessions]

    @classmethod
    async def open(cls, config: SmppConfig, on_deliver: DeliverHandler) -> Session:
        """Connect and bind (both binds in `pair` mode); raises TransportUnavailable."""
        loop = asyncio.get_running_loop()
        try:
            infos = await loop.getaddrinfo(config.host, config.port, type=socket.SOCK_STREAM)
        except OSError as error:
            raise TransportUnavailable(f"cannot resolve {config.host}: {error}") from None
        addresses = {str(info[4][0]) for info in infos}
        bind_types = ["TRX"] if config.mode == "trx" else ["TX", "RX"]
        clients: list[smpp34.Client] = []
        sessions: list[smpp34.Smsc] = []
        try:
            for bind_type in bind_types:
                client = smpp34.Client(
                    config.host,
                    config.port,
                    config.system_id,
                    config.password,
                    bind_type=bind_type,
                    system_type=config.system_type,
                    window_size=config.window,
                    inbound_capacity=_INBOUND,
                    connect_timeout_ms=round(config.timeout * 1000),
                )
                clients.append(client)
                sessions.append(await client.connect())
        except smpp34.SmppError as error:
            for client in clients:
                await client.stop()
            raise TransportUnavailable(f"bind {'+'.join(bind_types)} failed: {error}") from None
        except BaseException:  # cancelled while binding: leave no session task behind
            for client in clients:
                await client.stop()
            raise
        tuned = tune_sockets(
            addresses, config.port, idle=config.enquire_link, timeout=config.timeout
        )
        if tuned < len(sessions):
            log.warning("TCP_NODELAY set on %d of %d SMPP sockets", tuned, len(sessions))
        return cls(config, clients, sessions[0], sessions, on_deliver)

    @property
    def alive(self) -> bool:
        """Whether submits may still go out on this session."""
        return not self._dead.done()

    async def submit(self, pdu: Pdu) -> Submitted:
        """
        Send one submit_sm and wait for its answer. Raises BindDown when nothing was written,
        DeliveryUncertain when the session died first, which it does when any submit_sm
        stays unanswered past `timeout` (wait_dead's checks), so the bind rebinds.
        """
        if not self.alive:
            raise BindDown("the bind is down")
        loop = asyncio.get_running_loop()
        outcome = asyncio.ensure_future(
            self._transmitter.submit_sm(
                pdu.destination,
                pdu.short_message,
                source_addr=pdu.source,
                source_addr_ton=pdu.source_ton,
                source_addr_npi=pdu.source_npi,
                dest_addr_ton=pdu.dest_ton,
                dest_addr_npi=pdu.dest_npi,
                esm_class=pdu.esm_class,
                validity_period=pdu.validity_period,
                registered_delivery=1,  # §5.2.17: SMSC delivery receipt on success or failure
                data_coding=pdu.data_coding,
            )
        )
        waiter: asyncio.Future[asyncio.Future[smpp34.SubmitSmResp]] = loop.create_future()
        outcome.add_done_callback(functools.partial(_settle, waiter))
        self._inflight[waiter] = loop.time() + self._config.timeout
        try:
            return _answer(await waiter)
        except DeliveryUncertain:
            if self.alive:  # a dead session task makes smpp34 fail every submit
                await self._check_alive()
            raise
        finally:
            del self._inflight[waiter]

    def fail(self, reason: str) -> None:
        """End the session: every submit still waiting learns its fate is unknown."""
        if self._dead.done():
            return
        self._dead.set_result(reason)
        for waiter in self._inflight:
            if not waiter.done():
                waiter.set_exception(DeliveryUncertain(f"the bind went down: {reason}"))

    async def wait_dead(self) -> str:
        """
        Return why the session ended. Meanwhile it ends the session when a submit_sm goes
        unanswered past `timeout` (checked every `_check_every` seconds) or when smpp34's
        session task has stopped (asked every `_WATCH_EVERY`, never holding up the former:
        smpp34 answers is_alive through the same runtime that may have wedged).
        """
        loop = asyncio.get_running_loop()
        asked = loop.time()
        while True:
            await asyncio.wait([self._dead], timeout=self._check_every)
            if self._dead.done():
                return self._dead.result()
            self._check_answers()
            if loop.time() - asked >= _WATCH_EVERY:
                asked = loop.time()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self._check_every):
                        await self._check_alive()

    def _check_answers(self) -> None:
        """Fail the session if its oldest unanswered submit_sm is past due."""
        now = asyncio.get_running_loop().time()
        for waiter, due in self._inflight.items():
            if waiter.done():  # answered; its submit has not resumed yet to leave
                continue
            if due <= now:
                self.fail(f"no submit_sm_resp within {self._config.timeout:g} s")
            return

    async def _check_alive(self) -> None:
        # smpp34 1.5.0 can end its session task without a Disconnected event (seen when its
        # inbound queue fills); then every submit fails at once, so notice and rebind.
        for client in self._clients:
            if not await client.is_alive():
                self._peer_alive = False
                self.fail("the smpp34 session task ended")

    async def close(self) -> None:
        """
        Unbind where the SMSC may still listen (§4.2), let the readers hand on receipts
        already queued, then stop smpp34's session tasks.
        """
        self.fail("closed")
        if self._peer_alive:
            for session in self._sessions:
                with contextlib.suppress(smpp34.SmppError, TimeoutError):
                    async with asyncio.timeout(self._config.timeout):
                        await session.unbind()
        _, late = await asyncio.wait(self._readers, timeout=self._config.timeout)
        for reader in late:
            reader.cancel()
        await asyncio.gather(*self._readers, return_exceptions=True)
        for client in self._clients:
            await client.stop()

    async def _read(self, session: smpp34.Smsc) -> None:
        # smpp34 sends deliver_sm_resp itself, before we see the receipt: one dropped here
        # is lost, so a dead session is drained until it has been quiet for a moment.
        while True:
            try:
                if self.alive:
                    event = await session.next()
                else:
                    async with asyncio.timeout(_DRAIN_IDLE):
                        event = await session.next()
            except TimeoutError:
                return
            if isinstance(event, smpp34.Disconnected):
                self._peer_alive = False
                self.fail("the SMSC closed the session")
                return
            try:
                await self._on_deliver(event)
            except Exception:  # the receipt is lost, not the bind
                log.exception("handling a deliver_sm failed")


def _settle(
    waiter: asyncio.Future[asyncio.Future[smpp34.SubmitSmResp]],
    outcome: asyncio.Future[smpp34.SubmitSmResp],
) -> None:
    if not outcome.cancelled():
        outcome.exception()  # read it, so a late failure is never "never retrieved"
    if not waiter.done():
        waiter.set_result(outcome)


class Bind:
    """
    A kept bind: opens a Session, serves it until it dies, then unbinds and opens another
    after a jittered exponential back-off (full jitter over 0.5 s * 2^n, at most
    reconnect_max), so a fleet of gateways does not storm a recovering SMSC.
    """

    def __init__(self, config: SmppConfig, index: int, on_deliver: DeliverHandler) -> None:
        self._config = config
        self._index = index
        self._on_deliver = on_deliver
        self.gate = Gate(config.window, config.tps)
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
                session = await Session.open(self._config, self._on_deliver)
            except TransportUnavailable as error:
                failures += 1
                delay = self._backoff(failures)
                log.warning("SMPP %s: %s; retrying in %.1f s", where, error, delay)
                await asyncio.sleep(delay)
                continue
            log.info("SMPP %s: bound (%s)", where, self._config.mode)
            self._session = session
            self._up.set()
            bound_at = time.monotonic()
            try:
                reason = await session.wait_dead()
            finally:  # also on aclose, which cancels this task
                self._up.clear()
                self._session = None
                await session.close()
            failures = 0 if time.monotonic() - bound_at >= _STABLE_AFTER else failures + 1
            delay = self._backoff(max(failures, 1))
            log.warning("SMPP %s: %s; rebinding in %.1f s", where, reason, delay)
            await asyncio.sleep(delay)

    def _backoff(self, failures: int) -> float:
        ceiling = min(self._config.reconnect_max, _BACKOFF_BASE * 2 ** (failures - 1))
        return random.uniform(ceiling / 2, ceiling)  # noqa: S311 - jitter, not a secret
