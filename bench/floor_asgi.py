"""
The floor: the least that any durable SendQuickOTP with in-process delivery must do, as a
bare ASGI app, to show how much of the yardstick's efficiency any such gateway can reach.

Per request it reads the form body, finds the token by its SHA-256, makes a code with
`secrets` and its HMAC, renders the text, commits one row (SQLite WAL, synchronous=FULL,
group commit by one writer thread, the fastest durable form on SQLite) and answers
after the commit; a delivery task writes each committed message to a sink file as a JSON
line and commits it delivered with its text masked, in the same writer's next group. With
FLOOR_SMSC_PORT it delivers over SMPP instead (bench/e2e_smpp.py): the bare smpp34 client on
one bind, FLOOR_WINDOW submits outstanding, each submit_sm_resp committed as `sent` with its
id and time, each receipt's `id:` committed as `delivered`.

It leaves out everything else the gateway does: number validation, credit, patterns, the
fraud guard, idempotency, metrics, logging, error answers. So QuickOTP cannot be faster than
this on the same server; `bench/rest_send.py` runs it beside the hello-world and QuickOTP.

    FLOOR_DATABASE=/tmp/f.db FLOOR_SINK=/tmp/f.jsonl FLOOR_TOKEN=... uvicorn floor_asgi:app
    [FLOOR_SMSC_PORT=2775 FLOOR_WINDOW=10]
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import os
import queue
import re
import secrets
import sqlite3
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any
from urllib.parse import parse_qsl

import orjson
import smpp34
from nodelay import tune_sockets

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
Job = tuple[str, Sequence[Sequence[Any]], "asyncio.Future[int]"]

KEY = secrets.token_bytes(32)
TEXT = "کد ورود شما: {}"
SCHEMA = (
    "CREATE TABLE IF NOT EXISTS messages (id INTEGER PRIMARY KEY, account_id INTEGER,"
    " mobile TEXT, text TEXT, code_digest BLOB, status TEXT, provider_id INTEGER,"
    " created_at REAL, submitted_at REAL, updated_at REAL)",
    "CREATE INDEX IF NOT EXISTS messages_status ON messages (status, created_at)",
    "CREATE INDEX IF NOT EXISTS messages_provider ON messages (provider_id)",
)
INSERT = (
    "INSERT INTO messages (account_id, mobile, text, code_digest, status, created_at,"
    " updated_at) VALUES (?, ?, ?, ?, 'queued', ?, ?)"
)
DELIVERED = "UPDATE messages SET status = 'delivered', text = ?, updated_at = ? WHERE id = ?"
SENT = (
    "UPDATE messages SET status = 'sent', text = ?, provider_id = ?, submitted_at = ?,"
    " updated_at = ? WHERE id = ?"
)
RECEIPT = "UPDATE messages SET status = 'delivered', updated_at = ? WHERE provider_id = ?"
RECEIPT_ID = re.compile(rb"id:(\S+)")


class Writer:
    """One thread owns the connection and commits whatever is waiting as one transaction."""

    def __init__(self, path: str, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._jobs: queue.SimpleQueue[Job] = queue.SimpleQueue()
        self._conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        for pragma in ("journal_mode=WAL", "synchronous=FULL"):
            self._conn.execute(f"PRAGMA {pragma}")
        for statement in SCHEMA:
            self._conn.execute(statement)
        threading.Thread(target=self._run, daemon=True).start()

    def submit(self, sql: str, rows: Sequence[Sequence[Any]]) -> asyncio.Future[int]:
        """`rows` through `sql` in the next group; the future gets the last row id."""
        future: asyncio.Future[int] = self._loop.create_future()
        self._jobs.put((sql, rows, future))
        return future

    def _run(self) -> None:
        while True:
            jobs = [self._jobs.get()]
            while not self._jobs.empty():
                jobs.append(self._jobs.get_nowait())
            self._conn.execute("BEGIN IMMEDIATE")
            done = []
            for sql, rows, future in jobs:
                if len(rows) == 1:
                    done.append((future, self._conn.execute(sql, rows[0]).lastrowid or 0))
                else:
                    self._conn.executemany(sql, rows)
                    done.append((future, 0))
            self._conn.execute("COMMIT")
            self._loop.call_soon_threadsafe(_settle, done)


def _report_crash(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and (error := task.exception()) is not None:
        print(f"floor: a delivery task died: {error!r}", file=sys.stderr, flush=True)


def _settle(done: list[tuple[asyncio.Future[int], int]]) -> None:
    for future, value in done:
        if not future.done():
            future.set_result(value)


class Floor:
    def __init__(self) -> None:
        self._tokens: dict[bytes, int] = {}
        self._writer: Writer | None = None
        self._sink = -1
        # Bounded: a full outbox holds answers back, so accepting never outruns delivery
        # (QuickOTP refuses the excess instead; either way its codes' age stays bounded).
        # Short, so a message waits little there: 256 made the floor's p50 150 ms over SMPP.
        self._outbox: asyncio.Queue[tuple[int, str, str]] = asyncio.Queue(maxsize=32)
        self._tasks: set[asyncio.Task[None]] = set()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        token = next((v for k, v in scope["headers"] if k == b"authorization"), b"")
        account = self._tokens.get(hashlib.sha256(token).digest())
        params = {k.lower(): v for k, v in parse_qsl(body.decode())}
        mobile = params.get("mobile", "")[-10:]
        length = int(params.get("codelength") or 6)
        code = str(secrets.randbelow(10**length)).zfill(length)
        digest = hmac.digest(KEY, code.encode(), "sha256")
        text, now = TEXT.format(code), time.time()
        assert self._writer is not None
        message_id = await self._writer.submit(INSERT, [(account, mobile, text, digest, now, now)])
        await self._outbox.put((message_id, mobile, text))  # waits while delivery is behind
        answer = {"Status": "Success", "Data": {"Mobile": int(mobile), "MessageId": message_id}}
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": orjson.dumps(answer)})

    async def _deliver(self) -> None:
        assert self._writer is not None
        while True:
            batch = [await self._outbox.get()]
            while not self._outbox.empty():
                batch.append(self._outbox.get_nowait())
            for message_id, mobile, text in batch:
                line = {"id": message_id, "to": mobile, "text": text, "parts": 1}
                os.write(self._sink, orjson.dumps(line) + b"\n")
            now = time.time()
            masked = tuple(("***", now, message_id) for message_id, _, _ in batch)
            self._writer.submit(DELIVERED, masked)  # committed in the writer's next group

    async def _bind(self, port: int, window: int) -> None:
        """SMPP delivery instead of the sink: one bind, `window` submits outstanding."""
        client = smpp34.Client(  # a deep receipt queue: a full one kills the session
            "127.0.0.1", port, "bench", "secret", window_size=window, inbound_capacity=65_536
        )
        session = await client.connect()
        tune_sockets({"127.0.0.1"}, port)
        self._tasks.add(asyncio.create_task(self._receipts(session)))
        self._tasks.update(asyncio.create_task(self._submit(session)) for _ in range(window))
        for task in self._tasks:
            task.add_done_callback(_report_crash)

    async def _submit(self, session: smpp34.Smsc) -> None:
        assert self._writer is not None
        while True:
            message_id, mobile, text = await self._outbox.get()
            resp = await session.submit_sm(
                "98" + mobile,
                text.encode("utf-16-be"),
                source_addr="10004321",
                data_coding=8,
                registered_delivery=1,
            )
            now = time.time()
            provider_id = int(resp.message_id or "0", 16)  # the simulator's ids are hex
            self._writer.submit(SENT, [("***", provider_id, now, now, message_id)])

    async def _receipts(self, session: smpp34.Smsc) -> None:
        assert self._writer is not None
        while not isinstance(event := await session.next(), smpp34.Disconnected):
            if found := RECEIPT_ID.search(event.short_message):
                self._writer.submit(RECEIPT, [(time.time(), int(found.group(1), 16))])

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                self._tokens[hashlib.sha256(os.environ["FLOOR_TOKEN"].encode()).digest()] = 1
                self._sink = os.open(
                    os.environ["FLOOR_SINK"], os.O_WRONLY | os.O_APPEND | os.O_CREAT
                )
                self._writer = Writer(os.environ["FLOOR_DATABASE"], asyncio.get_running_loop())
                if port := os.environ.get("FLOOR_SMSC_PORT"):
                    await self._bind(int(port), int(os.environ.get("FLOOR_WINDOW", "10")))
                else:
                    self._tasks.add(asyncio.create_task(self._deliver()))
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return


app = Floor()
