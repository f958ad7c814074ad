"""
A TCP relay between a sample client and the server that keeps what the server answered.

Amoot's C# samples keep the answer in a local variable and print nothing, so the answer a
sample got is read here, off the wire, whatever the client is. One thread per direction
per connection; everything on 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import socket
import socketserver
import threading
from dataclasses import dataclass, field
from typing import Any

import orjson


@dataclass(frozen=True)
class Answer:
    """One HTTP response as it went back to the client."""

    status: int
    headers: dict[str, str]  # lower-case names
    body: bytes

    def json(self) -> Any:
        return orjson.loads(self.body)


@dataclass
class Relay:
    """Listens on 127.0.0.1; each connection goes on to `upstream_port`."""

    upstream_port: int
    port: int = 0
    _answers: list[bytes] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: socketserver.ThreadingTCPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        relay = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                relay._pipe(self.request)

        socketserver.ThreadingTCPServer.daemon_threads = True
        self._server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def clear(self) -> None:
        with self._lock:
            self._answers.clear()

    def answers(self) -> list[Answer]:
        """Every final (non-1xx) response relayed since the last clear(), in order."""
        with self._lock:
            raw = list(self._answers)
        return [answer for stream in raw for answer in _responses(stream)]

    def _pipe(self, client: socket.socket) -> None:
        upstream = socket.create_connection(("127.0.0.1", self.upstream_port), timeout=30)
        received = bytearray()
        forward = threading.Thread(target=_copy, args=(client, upstream, None), daemon=True)
        forward.start()
        _copy(upstream, client, received)
        forward.join(30)
        upstream.close()
        with self._lock:
            self._answers.append(bytes(received))


def _copy(source: socket.socket, target: socket.socket, kept: bytearray | None) -> None:
    try:
        while chunk := source.recv(65536):
            target.sendall(chunk)
            if kept is not None:
                kept.extend(chunk)
    except OSError:
        pass
    finally:
        with contextlib.suppress(OSError):
            target.shutdown(socket.SHUT_WR)


def _responses(stream: bytes) -> list[Answer]:
    """The responses in one connection's bytes (the server always sends Content-Length)."""
    found = []
    while stream:
        head, _, rest = stream.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {
            name.strip().lower(): value.strip()
            for name, _, value in (line.partition(":") for line in lines[1:])
        }
        length = int(headers.get("content-length", "0"))
        stream = rest[length:]
        if status >= 200:
            found.append(Answer(status, headers, rest[:length]))
    return found
