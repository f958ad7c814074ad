"""
The floor: the least that any durable SendQuickOTP with in-process delivery must do, as a
bare ASGI app, to show how far the yardstick's goals are reachable at all on this machine.

Per request it reads the form body, finds the token by its SHA-256, makes a code with
`secrets` and its HMAC, renders the text, commits one row (SQLite WAL, synchronous=FULL,
group commit by one writer thread, the fastest form in shared/perf-notes.md) and answers
after the commit; a delivery task writes each committed message to a sink file as a JSON
line and commits it delivered with its text masked, in the same writer's next group.

It leaves out everything else the gateway does: number validation, credit, patterns, the
fraud guard, idempotency, metrics, logging, error answers. So QuickOTP cannot be faster than
this on the same server; `bench/rest_send.py` runs it beside the hello-world and QuickOTP.

    FLOOR_DATABASE=/tmp/f.db FLOOR_SINK=/tmp/f.jsonl FLOOR_TOKEN=... uvicorn floor_asgi:app
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import os
import queue
import secrets
import sqlite3
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qsl

import orjson

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
Job = tuple[str, tuple[Any, ...], "asyncio.Future[int]"]

KEY = secrets.token_bytes(32)
TEXT = "کد ورود شما: {}"
SCHEMA = (
    "CREATE TABLE IF NOT EXISTS messages (id INTEGER PRIMARY KEY, account_id INTEGER,"
    " mobile TEXT, text TEXT, code_digest BLOB, status TEXT, created_at REAL, updated_at REAL)",
    "CREATE INDEX IF NOT EXISTS messages_status ON messages (status, created_at)",
)
INSERT = (
    "INSERT INTO messages (account_id, mobile, text, code_digest, status, created_at,"
    " updated_at) VALUES (?, ?, ?, ?, 'queued', ?, ?)"
)
DELIVERED = "UPDATE messages SET status = 'delivered', text = ?, updated_at = ? WHERE id = ?"


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

    def submit(self, kind: str, args: tuple[Any, ...]) -> asyncio.Future[int]:
        future: asyncio.Future[int] = self._loop.create_future()
        self._jobs.put((kind, args, future))
        return future

    def _run(self) -> None:
        while True:
            jobs = [self._jobs.get()]
            while not self._jobs.empty():
                jobs.append(self._jobs.get_nowait())
            self._conn.execute("BEGIN IMMEDIATE")
            done = []
            for kind, args, future in jobs:
                if kind == "insert":
                    done.append((future, self._conn.execute(INSERT, args).lastrowid or 0))
                else:
                    self._conn.executemany(DELIVERED, args)
                    done.append((future, 0))
            self._conn.execute("COMMIT")
            self._loop.call_soon_threadsafe(_settle, done)


def _settle(done: list[tuple[asyncio.Future[int], int]]) -> None:
    for future, value in done:
        if not future.done():
            future.set_result(value)


class Floor:
    def __init__(self) -> None:
        self._tokens: dict[bytes, int] = {}
        self._writer: Writer | None = None
        self._sink = -1
        self._outbox: asyncio.Queue[tuple[int, str, str]] = asyncio.Queue()
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
        message_id = await self._writer.submit("insert", (account, mobile, text, digest, now, now))
        self._outbox.put_nowait((message_id, mobile, text))
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
            await self._writer.submit("delivered", masked)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                self._tokens[hashlib.sha256(os.environ["FLOOR_TOKEN"].encode()).digest()] = 1
                self._sink = os.open(
                    os.environ["FLOOR_SINK"], os.O_WRONLY | os.O_APPEND | os.O_CREAT
                )
                self._writer = Writer(os.environ["FLOOR_DATABASE"], asyncio.get_running_loop())
                self._tasks.add(asyncio.create_task(self._deliver()))
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return


app = Floor()
