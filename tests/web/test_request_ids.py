"""Request ids: every answer carries one (the client's when sane), and the log lines written
while handling a request carry it, with the account and message where known."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from quickotp.bootstrap import Runtime, build_app
from quickotp.support import logs
from quickotp.web.request_ids import request_id
from tests.conftest import Seeded

pytestmark = pytest.mark.anyio

PATHS = [
    ("POST", "/rest/SendQuickOTP"),
    ("GET", "/rest/AccountStatus"),
    ("POST", "/v1/verifications"),
    ("GET", "/v1/nowhere"),
    ("GET", "/panel/sign-in"),
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/metrics"),
    ("GET", "/openapi.json"),
]


@pytest.fixture
async def whole_app(runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    """The app as `serve` builds it, the panel included."""
    transport = httpx.ASGITransport(app=build_app(runtime), client=("127.0.0.1", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="https://gateway.test") as http:
        yield http


@pytest.mark.parametrize(("method", "path"), PATHS)
async def test_a_sane_client_id_is_echoed_everywhere(
    whole_app: httpx.AsyncClient, method: str, path: str
) -> None:
    """/rest, /v1, the panel and the operations endpoints all answer with the client's id."""
    response = await whole_app.request(method, path, headers={"X-Request-ID": "req-42.a:b_c"})

    assert response.headers["x-request-id"] == "req-42.a:b_c"


@pytest.mark.parametrize(("method", "path"), PATHS)
async def test_without_an_id_each_answer_gets_a_new_one(
    whole_app: httpx.AsyncClient, method: str, path: str
) -> None:
    """No id given: a new one, 32 hex digits, different every time."""
    first = await whole_app.request(method, path)
    second = await whole_app.request(method, path)

    ids = [first.headers["x-request-id"], second.headers["x-request-id"]]
    assert all(len(i) == 32 and int(i, 16) >= 0 for i in ids)
    assert ids[0] != ids[1]


@pytest.mark.parametrize(
    "given",
    [b"x" * 129, b"", b"a b", b"a\\nb", b"<script>", b"\xd8\xa7\xd9\x84", b'a"b', b"a;b"],
)
def test_an_insane_client_id_is_replaced(given: bytes) -> None:
    """Too long, empty, or holding anything outside the safe characters: a new id instead."""
    made = request_id([(b"x-request-id", given)])

    assert made != given.decode("latin-1")
    assert len(made) == 32


def ids(record: logging.LogRecord) -> tuple[object, object, object]:
    """The request, account and message ids the context filter put on a record."""
    found = vars(record)
    return found["request_id"], found["account_id"], found["message_id"]


class Kept(logging.Handler):
    """Keeps the records it is handed, after the context filter has marked them."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.addFilter(logs.Context())
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def kept() -> Iterator[Kept]:
    handler = Kept()
    quickotp = logging.getLogger("quickotp")
    level = quickotp.level
    quickotp.addHandler(handler)
    quickotp.setLevel(logging.DEBUG)
    yield handler
    quickotp.removeHandler(handler)
    quickotp.setLevel(level)


async def test_log_lines_of_a_request_carry_its_account_and_message(
    whole_app: httpx.AsyncClient, seeded: Seeded, kept: Kept
) -> None:
    """The accept's own log line names the request's id, the account and the new message."""
    answer = await whole_app.post(
        "/rest/SendQuickOTP",
        headers={"Authorization": seeded.token, "X-Request-ID": "send-1"},
        data={"Mobile": "09121234567", "CodeLength": "5"},
    )

    accepted = [r for r in kept.records if r.getMessage().startswith("accepted message")]
    assert len(accepted) == 1
    assert ids(accepted[0]) == (
        "send-1",
        seeded.account_id,
        answer.json()["Data"]["MessageID"],
    )


async def test_ids_do_not_leak_from_one_request_into_the_next(
    whole_app: httpx.AsyncClient, runtime: Runtime, kept: Kept
) -> None:
    """A request after one that named an account and message starts with neither."""
    account = await runtime.admin.create_account(name="no-pattern", credit=0, sender="1000")
    issued = await runtime.admin.issue_token(account_id=account.id)

    await whole_app.post(
        "/rest/SendQuickOTP",
        headers={"Authorization": issued.secret, "X-Request-ID": "first"},
        data={"Mobile": "09121234567", "CodeLength": "5"},
    )
    logging.getLogger("quickotp.test").info("between requests")

    refused = [r for r in kept.records if "no approved OTP pattern" in r.getMessage()]
    [between] = [r for r in kept.records if r.getMessage() == "between requests"]
    assert refused
    assert {ids(r) for r in refused} == {("first", account.id, None)}
    assert ids(between) == (None, None, None)
