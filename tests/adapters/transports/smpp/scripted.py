"""
An SMSC the test scripts PDU by PDU: a bare asyncio server speaking smpp_pdu that answers
the bind and nothing else on its own. For what the simulator cannot be made to do on demand:
go silent, send garbage, unbind, ask enquire_link.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import smpp34

from quickotp.adapters.transports.smpp import pdu as smpp_pdu

BINDS = {smpp_pdu.BIND_TRANSCEIVER, smpp_pdu.BIND_TRANSMITTER, smpp_pdu.BIND_RECEIVER}


def receipt(sequence: int, tlvs: list[smpp34.Tlv] | None = None) -> bytes:
    """A delivery receipt deliver_sm for message id 1F, as smpp34's codec encodes it."""
    return smpp34.DeliverSm(
        sequence_number=sequence,
        source_addr="989120000000",
        destination_addr="10004321",
        esm_class=0x04,
        short_message=b"id:1F sub:001 dlvrd:001 stat:DELIVRD err:000 text:",
        tlvs=tlvs or [],
    ).encode()


@dataclass(frozen=True)
class Seen:
    """One PDU the client sent."""

    command_id: int
    status: int
    sequence: int
    body: bytes


class ScriptedSmsc:
    """Listens on 127.0.0.1; `seen` holds every PDU read, `send` writes to the last client."""

    def __init__(self) -> None:
        self.port = 0
        self.seen: asyncio.Queue[Seen] = asyncio.Queue()
        self.commands: list[int] = []
        self.closed = asyncio.Event()
        self.refuse_binds = 0  # the command_status of every bind_resp
        self._server: asyncio.Server | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def __aenter__(self) -> ScriptedSmsc:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *_: object) -> None:
        assert self._server is not None
        self._server.close()
        if self._writer is not None:
            self._writer.close()

    def send(self, data: bytes) -> None:
        assert self._writer is not None, "no client connected"
        self._writer.write(data)

    async def next(self, command_id: int, timeout: float = 5) -> Seen:
        """The next PDU the client sends with `command_id` (others are skipped)."""
        async with asyncio.timeout(timeout):
            while True:
                seen = await self.seen.get()
                if seen.command_id == command_id:
                    return seen

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writer = writer
        self.closed.clear()
        try:
            while True:
                header = await reader.readexactly(smpp_pdu.HEADER.size)
                length, command_id, status, sequence = smpp_pdu.HEADER.unpack(header)
                body = await reader.readexactly(length - smpp_pdu.HEADER.size)
                self.commands.append(command_id)
                self.seen.put_nowait(Seen(command_id, status, sequence, body))
                if command_id in BINDS:
                    answer = command_id | smpp_pdu.RESPONSE
                    writer.write(smpp_pdu.encode(answer, sequence, b"SIM\0", self.refuse_binds))
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()
        finally:
            self.closed.set()
