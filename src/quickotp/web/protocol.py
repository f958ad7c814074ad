"""
uvicorn's httptools HTTP protocol, answering bytes that are not HTTP/1.1 with a problem+json
400 like every other refusal (uvicorn answers them in plain text), and able to answer any
problem outside a request: web/connections.py builds its deadlines and connection cap on it.
uvicorn's `http` option takes a protocol class; there is no public hook for either, hence
the subclass, and the pinned uvicorn version in pyproject.toml.
"""

from __future__ import annotations

from collections.abc import Sequence
from http import HTTPStatus

import orjson
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from quickotp.web.problems import MALFORMED_HTTP, PROBLEM_JSON, ProblemType, problem_document


class ProblemHttpToolsProtocol(HttpToolsProtocol):
    """HttpToolsProtocol answering what is not HTTP/1.1 with a problem+json 400."""

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
