"""
uvicorn's httptools HTTP protocol, with what a connection writes in one turn of the event
loop sent as one write.

uvicorn writes an answer's status line and headers, then its body, as two transport writes:
two send() calls and two TCP segments for every answer, and on a local connection the
kernel works through the receiving side of each segment inside the sender's send(). One
write saves the kernel that second round for every answer; on SendQuickOTP the saving is
small beside the rest of an OTP's CPU (within the run-to-run spread of
`bench/rest_send.py`). uvicorn has no setting for it, but its `http` option takes a
protocol class: this is one, and `quickotp serve` runs it. It also answers bytes that are
not HTTP/1.1 with a problem+json 400, like every other refusal.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from http import HTTPStatus
from typing import Any

import orjson
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from quickotp.web.problems import MALFORMED_HTTP, PROBLEM_JSON, ProblemType, problem_document


class CoalescingHttpToolsProtocol(HttpToolsProtocol):
    """
    HttpToolsProtocol writing through a `CoalescedWrites` transport, and answering bytes
    that are not HTTP/1.1 with a problem+json 400, as every other refusal is answered,
    where uvicorn answers in plain text.
    """

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(CoalescedWrites(transport, self.loop))

    def send_400_response(self, msg: str) -> None:
        # No request was read, so there is no path for `instance`.
        self.send_problem(MALFORMED_HTTP, msg)

    def send_problem(
        self, kind: ProblemType, detail: str, headers: Sequence[tuple[bytes, bytes]] = ()
    ) -> None:
        """Answer `kind` as problem+json outside any request, and close the connection."""
        body = orjson.dumps(problem_document(kind, detail, instance=None))
        reason = HTTPStatus(kind.status).phrase.encode()
        head = [b"HTTP/1.1 %d %s\r\n" % (kind.status, reason)]
        for name, value in [*self.server_state.default_headers, *headers]:
            head += [name, b": ", value, b"\r\n"]
        head += [
            b"content-type: " + PROBLEM_JSON.encode() + b"\r\n",
            b"content-length: " + str(len(body)).encode() + b"\r\n",
            b"connection: close\r\n\r\n",
        ]
        self.transport.write(b"".join(head) + body)
        self.transport.close()


class CoalescedWrites(asyncio.Transport):
    """
    A transport whose writes wait for the end of the current turn of the event loop and
    then go out together, in order. Closing (or half-closing) writes what waits first;
    aborting drops it, as aborting the transport drops its own buffer. The rest is the
    wrapped transport's.
    """

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__()
        self._transport = transport
        self._loop = loop
        self._waiting: list[bytes] = []

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not data:
            return
        if not self._waiting:
            self._loop.call_soon(self.flush)
        self._waiting.append(bytes(data))

    def writelines(self, list_of_data: Iterable[bytes | bytearray | memoryview]) -> None:
        for data in list_of_data:
            self.write(data)

    def flush(self) -> None:
        """Write what waits now (a no-op when nothing does)."""
        if not self._waiting:
            return
        data = self._waiting[0] if len(self._waiting) == 1 else b"".join(self._waiting)
        self._waiting.clear()
        if not self._transport.is_closing():  # gone meanwhile: dropped, as the transport would
            self._transport.write(data)

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def write_eof(self) -> None:
        self.flush()
        self._transport.write_eof()

    def abort(self) -> None:
        self._waiting.clear()
        self._transport.abort()

    def can_write_eof(self) -> bool:
        return self._transport.can_write_eof()

    def is_closing(self) -> bool:
        return self._transport.is_closing()

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return self._transport.get_extra_info(name, default)

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        self._transport.set_protocol(protocol)

    def get_protocol(self) -> asyncio.BaseProtocol:
        return self._transport.get_protocol()

    def is_reading(self) -> bool:
        return self._transport.is_reading()

    def pause_reading(self) -> None:
        self._transport.pause_reading()

    def resume_reading(self) -> None:
        self._transport.resume_reading()

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        self._transport.set_write_buffer_limits(high, low)

    def get_write_buffer_size(self) -> int:
        """The wrapped transport's buffer and what waits here."""
        return self._transport.get_write_buffer_size() + sum(map(len, self._waiting))

    def get_write_buffer_limits(self) -> tuple[int, int]:
        return self._transport.get_write_buffer_limits()
