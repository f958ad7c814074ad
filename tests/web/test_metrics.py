"""
/metrics is not open on the API's port: it is served on its own address (loopback by
default), and on the API's port only behind QUICKOTP_METRICS_TOKEN. /openapi.json stays
public: it describes the public API.
"""

from __future__ import annotations

import httpx
import pytest

from quickotp.bootstrap import Runtime, build_app
from quickotp.domain.errors import ConfigurationError
from quickotp.web.metrics import MetricsServer
from tests.conftest import make_settings
from tests.http_peer import free_port

pytestmark = pytest.mark.anyio

TOKEN = "scrape-token-0123456789"


def _client(runtime: Runtime) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=build_app(runtime), client=("203.0.113.7", 40000))
    return httpx.AsyncClient(transport=transport, base_url="https://gateway.test")


async def test_the_api_port_serves_no_metrics_by_default(runtime: Runtime) -> None:
    """A stranger on the API's port gets 404 for /metrics, and the API document."""
    async with _client(runtime) as http:
        metrics = await http.get("/metrics")
        document = await http.get("/openapi.json")

    assert metrics.status_code == 404
    assert "quickotp_" not in metrics.text
    assert document.status_code == 200


async def test_the_api_port_serves_metrics_to_the_token_alone(runtime: Runtime) -> None:
    """With QUICKOTP_METRICS_TOKEN, /metrics answers the bearer of that token only."""
    runtime.settings = make_settings("sqlite:///unused.db", QUICKOTP_METRICS_TOKEN=TOKEN)

    async with _client(runtime) as http:
        none = await http.get("/metrics")
        wrong = await http.get("/metrics", headers={"Authorization": "Bearer " + "x" * 22})
        right = await http.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})

    assert (none.status_code, wrong.status_code, right.status_code) == (401, 401, 200)
    assert "quickotp_" in right.text


async def test_the_metrics_address_serves_them() -> None:
    """The own address answers /metrics (and nothing else), with the token if there is one."""
    server = MetricsServer("127.0.0.1", free_port())
    guarded = MetricsServer("127.0.0.1", free_port(), token=TOKEN)
    server.start()
    guarded.start()
    try:
        async with httpx.AsyncClient() as http:
            open_ = await http.get(f"http://127.0.0.1:{server.port}/metrics")
            other = await http.get(f"http://127.0.0.1:{server.port}/")
            refused = await http.get(f"http://127.0.0.1:{guarded.port}/metrics")
            allowed = await http.get(
                f"http://127.0.0.1:{guarded.port}/metrics",
                headers={"Authorization": f"Bearer {TOKEN}"},
            )
    finally:
        server.stop()
        guarded.stop()

    assert open_.status_code == 200
    assert "quickotp_" in open_.text
    assert other.status_code == 404
    assert (refused.status_code, allowed.status_code) == (401, 200)


def test_two_processes_can_listen_on_the_metrics_address() -> None:
    """`serve --workers N`: each process opens the address (SO_REUSEPORT), none fails."""
    port = free_port()
    first = MetricsServer("127.0.0.1", port, shared=True)
    second = MetricsServer("127.0.0.1", port, shared=True)
    first.stop()
    second.stop()


def test_a_metrics_address_not_shared_is_held_by_one_process() -> None:
    """`dispatch --metrics-port`: a port another process holds is refused with the reason."""
    port = free_port()
    first = MetricsServer("127.0.0.1", port)
    try:
        with pytest.raises(ConfigurationError, match="Address already in use"):
            MetricsServer("127.0.0.1", port)
    finally:
        first.stop()


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("", None), ("127.0.0.1:9200", ("127.0.0.1", 9200)), ("[::1]:9108", ("::1", 9108))],
)
def test_the_metrics_address_setting(raw: str, expected: tuple[str, int] | None) -> None:
    """Empty turns the address off; an IP address and a port, IPv6 in brackets."""
    settings = make_settings("sqlite:///unused.db", QUICKOTP_METRICS_ADDRESS=raw)

    assert settings.metrics_address == expected


def test_the_default_metrics_address_is_loopback() -> None:
    """Unless told otherwise, only this host can read the metrics."""
    assert make_settings("sqlite:///unused.db").metrics_address == ("127.0.0.1", 9108)


@pytest.mark.parametrize(
    ("name", "raw"),
    [
        ("QUICKOTP_METRICS_ADDRESS", "localhost"),
        ("QUICKOTP_METRICS_ADDRESS", "::1:9108"),
        ("QUICKOTP_METRICS_ADDRESS", "127.0.0.1:99999"),
        ("QUICKOTP_METRICS_TOKEN", "short"),
    ],
)
def test_unusable_metrics_settings_stop_the_start(name: str, raw: str) -> None:
    """A metrics address or token that cannot be used is named at start."""
    with pytest.raises(ConfigurationError, match=name):
        make_settings("sqlite:///unused.db", **{name: raw})
