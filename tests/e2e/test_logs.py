"""JSON logs of a real `quickotp serve`: one JSON object a line with its request, account and
message where known, and never a code, a token, a password or a whole number in any line,
whatever was sent, verified, refused or signed into."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import httpx
import pytest

from tests.e2e.server import Gateway
from tests.e2e.test_operations import UNTHROTTLED

pytestmark = pytest.mark.slow

OWN_CODE = "73920518"
PASSWORD = "correct horse battery staple"
WRONG_PASSWORD = "incorrect donkey 77"
BAD_TOKEN = "not-a-token-but-secret-looking-9f8e7d6c5b4a"
NUMBERS = ("09121234567", "09121234568", "09121234569")


def _forms(national: str) -> list[str]:
    """The ways a number could show in a line: as typed, national, E.164."""
    return [national, national[1:], "98" + national[1:]]


def _sign_in(http: httpx.Client, password: str) -> int:
    """A panel sign-in as a browser makes it (its cookies sent by hand: they are Secure)."""
    page = http.get("/panel/sign-in")
    csrf = re.search(r'name="csrf" value="([0-9a-f]{64})"', page.text)
    assert csrf is not None
    cookie = "; ".join(f"{name}={value}" for name, value in page.cookies.items())
    answer = http.post(
        "/panel/sign-in",
        headers={"Cookie": cookie},
        data={"csrf": csrf.group(1), "email": "ops@shop.test", "password": password},
    )
    return answer.status_code


def test_json_logs_name_the_request_and_hold_no_secret(tmp_path: Path) -> None:
    """Sends, verifies, refusals and sign-ins at DEBUG: every line JSON, no secret in any."""
    gateway = Gateway(
        tmp_path, {**UNTHROTTLED, "QUICKOTP_LOG_FORMAT": "json", "QUICKOTP_LOG_LEVEL": "DEBUG"}
    )
    token = gateway.setup_account()
    gateway.create_operator("ops@shop.test", PASSWORD)
    gateway.start()
    codes = [OWN_CODE]
    try:
        with httpx.Client(base_url=gateway.url, timeout=10) as http:
            rest = {"Authorization": token, "X-Request-ID": "send-rest-1"}
            sent = http.post(
                "/rest/SendQuickOTP",
                headers=rest,
                data={"Mobile": NUMBERS[0], "CodeLength": "8", "OptionalCode": ""},
            ).json()
            codes.append(sent["Data"]["Code"])
            for code in ("00000000", codes[1]):
                http.post(
                    "/rest/VerifyQuickOTP",
                    headers={"Authorization": token},
                    data={"Mobile": NUMBERS[0], "Code": code},
                )
            http.post(
                "/rest/SendQuickOTP",
                headers={"Authorization": token},
                data={"Mobile": NUMBERS[1], "CodeLength": "6", "OptionalCode": OWN_CODE},
            )
            http.post(
                "/rest/VerifyQuickOTP",
                headers={"Authorization": token},
                data={"Mobile": NUMBERS[1], "Code": OWN_CODE},
            )
            bearer = {"Authorization": f"Bearer {token}"}
            created = http.post(
                "/v1/verifications", headers=bearer, json={"to": NUMBERS[2], "code_length": 8}
            ).json()
            http.post(
                "/v1/verifications/check",
                headers=bearer,
                json={"id": created["id"], "code": "11111111"},
            )
            http.get(f"/rest/AccountStatus?Token={BAD_TOKEN}")
            http.post(
                "/rest/SendQuickOTP",
                headers={"Authorization": BAD_TOKEN},
                data={"Mobile": NUMBERS[0], "CodeLength": "6"},
            )
            http.post("/rest/SendQuickOTP", headers={"Authorization": token}, data={"Mobile": "1"})
            signed_in = [_sign_in(http, password) for password in (WRONG_PASSWORD, PASSWORD)]
        sms = gateway.wait_delivered(3)
        v1_code = re.search(r"[0-9]{8}", sms[-1]["text"])
        assert v1_code is not None
        codes.append(v1_code.group())
        time.sleep(0.5)  # the dispatcher's and webhook worker's lines after the last send
    finally:
        gateway.stop()

    lines = [line for line in gateway.logs().splitlines() if line.strip()]
    records = [json.loads(line) for line in lines]
    secrets = [*codes, token, BAD_TOKEN, PASSWORD, WRONG_PASSWORD]
    secrets += [form for number in NUMBERS for form in _forms(number)]
    leaked = [(secret, line) for line in lines for secret in secrets if secret in line]
    accepted = [r for r in records if r["message"].startswith("accepted message")]

    assert signed_in == [401, 303]  # refused, then let in
    assert len(records) > 10
    assert all({"time", "level", "logger", "message"} <= set(r) for r in records)
    assert leaked == []
    assert accepted[0]["request_id"] == "send-rest-1"
    assert accepted[0]["message_id"] == sent["Data"]["MessageID"]
    assert isinstance(accepted[0]["account_id"], int)
