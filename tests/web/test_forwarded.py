"""
Whose X-Forwarded-For `quickotp serve` believes: no one's by default, so a client's address
(for token IP allow-lists and per-address limits) is its connection's peer; with
QUICKOTP_FORWARDED_ALLOW_IPS, the listed proxies' only.
"""

from __future__ import annotations

import httpx
import pytest

from quickotp.bootstrap import Runtime
from quickotp.cli import forwarding
from quickotp.domain.errors import ConfigurationError
from quickotp.settings import Settings
from quickotp.web.app import create_app
from tests.conftest import make_settings
from tests.http_peer import serving

pytestmark = pytest.mark.anyio


async def _send_claiming(runtime: Runtime, settings: Settings, claimed: str) -> str:
    """SendQuickOTP over a real socket from 127.0.0.1, claiming to be `claimed`; its Status."""
    account = await runtime.admin.create_account(name="fwd", credit=10**6, sender="1000")
    pattern = await runtime.gateway.create_account_pattern(
        account.id, text="%code%", is_otp=True, capped=False
    )
    await runtime.admin.approve_pattern(pattern.id)
    issued = await runtime.admin.issue_token(account_id=account.id, allowed_ips=["203.0.113.0/24"])
    app = create_app(runtime.gateway)
    async with serving(app, **forwarding(settings)) as base, httpx.AsyncClient() as http:
        response = await http.post(
            f"{base}/rest/SendQuickOTP",
            headers={"Authorization": issued.secret, "X-Forwarded-For": claimed},
            data={"Mobile": "09120000000", "CodeLength": "5"},
        )
    status: str = response.json()["Status"]
    return status


async def test_a_local_process_cannot_claim_another_address(runtime: Runtime) -> None:
    """By default X-Forwarded-For from 127.0.0.1 is ignored: the allow-list sees 127.0.0.1."""
    settings = make_settings("sqlite:///unused.db")

    assert settings.forwarded_allow_ips == ()
    assert await _send_claiming(runtime, settings, "203.0.113.5") == "Token_NotAllowIP"


async def test_a_listed_proxy_is_believed(runtime: Runtime) -> None:
    """Behind a proxy at 127.0.0.1 listed in the setting, the client's address is the header's."""
    settings = make_settings("sqlite:///unused.db", QUICKOTP_FORWARDED_ALLOW_IPS="127.0.0.1")

    assert await _send_claiming(runtime, settings, "203.0.113.5") == "Success"


def test_the_setting_takes_addresses_and_networks_only() -> None:
    """A list of addresses and networks is read; anything else stops the gateway at start."""
    settings = make_settings("sqlite:///unused.db", QUICKOTP_FORWARDED_ALLOW_IPS="10.0.0.2, ::1")
    assert settings.forwarded_allow_ips == ("10.0.0.2", "::1")
    assert forwarding(settings) == {
        "proxy_headers": True,
        "forwarded_allow_ips": ["10.0.0.2", "::1"],
    }

    with pytest.raises(ConfigurationError, match="QUICKOTP_FORWARDED_ALLOW_IPS"):
        make_settings("sqlite:///unused.db", QUICKOTP_FORWARDED_ALLOW_IPS="proxy.internal")
