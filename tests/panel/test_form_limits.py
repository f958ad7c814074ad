"""
Bodies a stranger sends are capped before anything parses them: every panel form (413), and
/rest and /v1 as before, whether the size is declared or the body comes in chunks.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from quickotp.bootstrap import Runtime, build_app
from tests.conftest import seed
from tests.panel.conftest import Browser, sign_up

pytestmark = pytest.mark.anyio

CHUNK = b"a" * 65536
CHUNKS = 320  # 20 MiB in all, were it read to the end


class Counted:
    """A request body of CHUNKS chunks that counts how many the server pulled."""

    def __init__(self, first: bytes = b"email=x%40y.test&password=") -> None:
        self.first = first
        self.pulled = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for n in range(CHUNKS):
            self.pulled += 1
            yield self.first if n == 0 else CHUNK


def client(runtime: Runtime) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=build_app(runtime), client=("203.0.113.9", 40000))
    return httpx.AsyncClient(
        transport=transport, base_url="https://panel.test", headers={"accept-language": "en"}
    )


async def test_a_chunked_form_is_refused_413_after_reading_at_most_the_cap(
    runtime: Runtime,
) -> None:
    """20 MiB in chunks to the sign-in form, no Content-Length: 413 after 64 KiB or so."""
    body = Counted()
    async with client(runtime) as http:
        response = await http.post(
            "/panel/sign-in",
            content=body,
            headers={"content-type": "application/x-www-form-urlencoded"},
        )

    assert response.status_code == 413
    assert response.headers["connection"] == "close"
    assert "too large" in response.text
    assert body.pulled <= 3


async def test_a_declared_size_past_the_cap_is_refused_before_reading(runtime: Runtime) -> None:
    """A Content-Length of 300 MiB: 413 without a byte of the body read."""
    body = Counted()
    async with client(runtime) as http:
        request = http.build_request(
            "POST",
            "/panel/sign-up",
            content=body,
            headers={
                "content-type": "multipart/form-data; boundary=x",
                "content-length": str(300 * 1024 * 1024),
            },
        )
        response = await http.send(request)

    assert response.status_code == 413
    assert body.pulled == 0


async def test_a_multipart_upload_is_refused_before_it_is_spooled(runtime: Runtime) -> None:
    """A 20 MiB multipart body in chunks: 413, read no further than the cap."""
    body = Counted(b'--x\r\nContent-Disposition: form-data; name="f"; filename="a"\r\n\r\n')
    async with client(runtime) as http:
        response = await http.post(
            "/panel/language",
            content=body,
            headers={"content-type": "multipart/form-data; boundary=x"},
        )

    assert response.status_code == 413
    assert body.pulled <= 3


async def test_a_signed_in_form_is_capped_too(browser: Browser) -> None:
    """A signed-in user's large post to the pattern form is refused the same way."""
    await sign_up(browser, "owner@shop.test", "Shop")
    body = Counted(b"text=")

    response = await browser.http.post(
        "/panel/patterns",
        content=body,
        headers={"content-type": "application/x-www-form-urlencoded"},
    )

    assert response.status_code == 413
    assert body.pulled <= 3


async def test_rest_and_v1_stop_reading_a_chunked_body_at_their_caps(runtime: Runtime) -> None:
    """/rest (64 KiB) and /v1 (16 KiB) refuse a 20 MiB chunked body after reading the cap."""
    token = (await seed(runtime)).token
    rest_body, v1_body = Counted(b"Mobile="), Counted(b"{")
    async with client(runtime) as http:
        rest = await http.post(
            "/rest/SendQuickOTP",
            content=rest_body,
            headers={"content-type": "application/x-www-form-urlencoded", "authorization": token},
        )
        v1 = await http.post(
            "/v1/verifications",
            content=v1_body,
            headers={"content-type": "application/json", "authorization": f"Bearer {token}"},
        )

    assert rest.status_code == 200
    assert rest.json()["Status"] == "Failed"  # Amoot's answer to a body it cannot read
    assert rest_body.pulled <= 3
    assert v1.status_code == 400
    assert v1_body.pulled <= 3


async def test_a_form_within_the_cap_still_works(browser: Browser) -> None:
    """A form of 60 KiB (under the cap) is read and answered as before."""
    response = await browser.post(
        "/panel/sign-in", {"email": "nobody@x.test", "password": "p" * 60_000}
    )

    assert response.status_code == 401
