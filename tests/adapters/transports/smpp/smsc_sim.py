"""
An SMSC for the SMPP tests and benchmark: the third-party smpp34 `Server`, driven from Python.
It records each submit_sm, answers it (or throttles, or refuses it), and sends delivery
receipts, optionally before the submit_sm_resp. Absolute imports only: it also runs as a
script, `python tests/adapters/transports/smpp/smsc_sim.py --port N [--receipts] [--report]
[--refuse-all STATUS]`, a process a test or a benchmark can kill; with `--refuse-all` it
answers every submit_sm with that command_status (a route that fails every send); with
`--report` it prints
`ACCEPTED <submit_sm answered>` every tenth of a second, for a benchmark that counts what
reached the SMSC.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import struct
from dataclasses import dataclass, field

import smpp34

RECEIPTED_MESSAGE_ID = 0x001E
MESSAGE_STATE = 0x0427
ESME_RTHROTTLED = 0x58  # §5.1.3 (smpp34 defines it too, but its stub does not re-export it)
STATE_NUMBER = {"DELIVRD": 2, "EXPIRED": 3, "DELETED": 4, "UNDELIV": 5, "ACCEPTD": 6, "REJECTD": 8}


@dataclass(frozen=True)
class Received:
    """One submit_sm as the SMSC saw it, and the message_id it answered with ("" if refused)."""

    session_id: str
    source_addr: str
    source_addr_ton: int
    source_addr_npi: int
    destination_addr: str
    dest_addr_ton: int
    dest_addr_npi: int
    esm_class: int
    data_coding: int
    registered_delivery: int
    short_message: bytes
    message_id: str


@dataclass
class Simulator:
    """smpp34's Server on 127.0.0.1:`port`, with knobs a test turns."""

    port: int
    receipts: bool = True
    receipt_first: bool = False  # send the receipt, await its deliver_sm_resp, then answer
    receipt_style: str = "text"  # "text" (Appendix B only) or "tlv" (TLVs, no text)
    stat: str = "DELIVRD"
    hold: float = 0.0  # seconds before answering each submit_sm
    throttle_tps: int = 0  # answer ESME_RTHROTTLED past this many submit_sm a second
    refuse: dict[str, int] = field(default_factory=dict)  # destination -> command_status
    refuse_all: int = 0  # a command_status every submit_sm is answered with; 0: none
    record: bool = True  # keep every submit_sm in `received` (the benchmarks read none)
    received: list[Received] = field(default_factory=list)
    throttled: int = 0
    outstanding: int = 0
    max_outstanding: int = 0
    binds: list[smpp34.Esme] = field(default_factory=list)
    unbound: asyncio.Event = field(default_factory=asyncio.Event)  # set by the first unbind
    _server: smpp34.Server | None = None
    _pump: asyncio.Task[None] | None = None
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)
    _sessions: dict[str, smpp34.Esme] = field(default_factory=dict)
    _second: tuple[int, int] = (0, 0)  # (second, submit_sm seen in it)
    _accepted: int = 0

    async def __aenter__(self) -> Simulator:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    async def start(self) -> None:
        """Listen, and answer in the background."""
        self._server = smpp34.Server("127.0.0.1", self.port, system_id="SIM")
        await self._server.start()
        self._pump = asyncio.create_task(self._serve(self._server))

    async def stop(self) -> None:
        """Stop listening and answering (smpp34 leaves bound sessions open)."""
        if self._pump is not None:
            self._pump.cancel()
            await asyncio.gather(self._pump, return_exceptions=True)
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server is not None:
            await self._server.stop()

    async def _serve(self, server: smpp34.Server) -> None:
        while True:
            event = await server.next()
            if isinstance(event, smpp34.Esme):
                self._sessions[event.session_id] = event
                self.binds.append(event)
            elif isinstance(event, smpp34.Unbound):
                self._sessions.pop(event.session_id, None)
                self.unbound.set()
            else:
                task = asyncio.create_task(self._answer(event))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)

    @property
    def accepted(self) -> int:
        """submit_sm answered with a message_id so far."""
        return self._accepted

    def _over_rate(self) -> bool:
        second = int(asyncio.get_running_loop().time())
        seen = self._second[1] + 1 if self._second[0] == second else 1
        self._second = (second, seen)
        return bool(self.throttle_tps) and seen > self.throttle_tps

    async def _answer(self, event: smpp34.SubmitSmEvent) -> None:
        self.outstanding += 1
        self.max_outstanding = max(self.max_outstanding, self.outstanding)
        try:
            if self.hold:
                await asyncio.sleep(self.hold)
            if self._over_rate():
                self.throttled += 1
                event.reject(ESME_RTHROTTLED)
                return
            if status := self.refuse_all or self.refuse.get(event.destination_addr):
                self._record(event, "")
                event.reject(status)
                return
            self._accepted += 1
            number = self._accepted
            message_id = f"{number:08X}"  # receipts spell it f"{number:x}": case and zeros
            self._record(event, message_id)
            if self.receipts and self.receipt_first:
                await self._receipt(event, number)
            event.accept(message_id)
        finally:
            self.outstanding -= 1
        if self.receipts and not self.receipt_first:
            await self._receipt(event, number)

    def _record(self, event: smpp34.SubmitSmEvent, message_id: str) -> None:
        if not self.record:
            return
        self.received.append(
            Received(
                session_id=event.session_id,
                source_addr=event.source_addr,
                source_addr_ton=event.source_addr_ton,
                source_addr_npi=event.source_addr_npi,
                destination_addr=event.destination_addr,
                dest_addr_ton=event.dest_addr_ton,
                dest_addr_npi=event.dest_addr_npi,
                esm_class=event.esm_class,
                data_coding=event.data_coding,
                registered_delivery=event.registered_delivery,
                short_message=event.short_message,
                message_id=message_id,
            )
        )

    async def _receipt(self, event: smpp34.SubmitSmEvent, number: int) -> None:
        esme = self._receiver(event.session_id)
        if esme is None:
            return
        text, tlvs = b"", []
        if self.receipt_style == "tlv":
            tlvs = [
                smpp34.Tlv(RECEIPTED_MESSAGE_ID, f"{number:08X}".encode() + b"\x00"),
                smpp34.Tlv(MESSAGE_STATE, bytes((STATE_NUMBER.get(self.stat, 7),))),
            ]
        else:
            text = (
                f"id:{number:x} sub:001 dlvrd:001 submit date:2601011200 "
                f"done date:2601011201 stat:{self.stat} err:000 text:"
            ).encode()
        with contextlib.suppress(smpp34.SmppError):
            await esme.deliver_sm(
                event.source_addr,
                text,
                source_addr=event.destination_addr,
                esm_class=0x04,
                tlvs=tlvs,
            )

    def _receiver(self, session_id: str) -> smpp34.Esme | None:
        # A transceiver gets its own receipts; a transmitter's go to a receiver of its account.
        own = self._sessions.get(session_id)
        if own is not None and own.can_receive:
            return own
        system_id = own.system_id if own is not None else None
        return next(
            (e for e in self._sessions.values() if e.can_receive and e.system_id == system_id),
            None,
        )


@dataclass
class WireTap:
    """
    A TCP relay in front of the simulator that decodes, with smpp34's codec, every PDU the
    client sends: smpp34's Server does not show fields such as validity_period.
    """

    upstream_port: int
    submits: list[smpp34.SubmitSm] = field(default_factory=list)
    port: int = 0
    _server: asyncio.Server | None = None
    _relays: dict[asyncio.Task[None], asyncio.StreamWriter] = field(default_factory=dict)

    async def start(self) -> None:
        """Listen on a free port (then in `port`)."""
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Stop relaying: close each connection, which ends its relay."""
        for writer in self._relays.values():
            writer.close()
        await asyncio.gather(*self._relays, return_exceptions=True)
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        relay = asyncio.current_task()
        assert relay is not None
        self._relays[relay] = writer
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        back = asyncio.create_task(self._copy(up_reader, writer))
        try:
            while True:
                header = await reader.readexactly(4)
                (length,) = struct.unpack(">I", header)
                pdu = header + await reader.readexactly(length - 4)
                decoded = smpp34.decode(pdu)
                if isinstance(decoded, smpp34.SubmitSm):
                    self.submits.append(decoded)
                up_writer.write(pdu)
                await up_writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            back.cancel()
            await asyncio.gather(back, return_exceptions=True)
            up_writer.close()
            writer.close()
            del self._relays[relay]

    @staticmethod
    async def _copy(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()


async def _main(port: int, receipts: bool, report: bool, refuse_all: int) -> None:
    # Nothing reads them back here: a benchmark's run would keep its 250,000 submits in memory.
    simulator = Simulator(port, receipts=receipts, refuse_all=refuse_all, record=False)
    await simulator.start()
    print("READY", flush=True)  # noqa: T201 - the parent process waits for this line
    while report:
        await asyncio.sleep(0.1)
        print("ACCEPTED", simulator.accepted, flush=True)  # noqa: T201 - read by the parent
    await asyncio.Event().wait()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--receipts", action="store_true")
    parser.add_argument("--report", action="store_true")
    parser.add_argument("--refuse-all", type=lambda text: int(text, 0), default=0)
    arguments = parser.parse_args()
    asyncio.run(_main(arguments.port, arguments.receipts, arguments.report, arguments.refuse_all))
