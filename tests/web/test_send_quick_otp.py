"""SendQuickOTP on the Amoot-compatible edge, as the seed's clients call it."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import Seeded

pytestmark = pytest.mark.anyio


async def test_php_style_get_with_token_in_query(client: httpx.AsyncClient, seeded: Seeded) -> None:
    """The seed's PHP sample: a GET with Token, Mobile, CodeLength and an empty OptionalCode."""
    response = await client.get(
        "/rest/SendQuickOTP",
        params={"Token": seeded.token, "Mobile": "9120000000", "CodeLength": "4", "OptionalCode": ""},
    )

    body = response.json()
    assert response.status_code == 200
    assert body["Status"] == "Success"
    assert list(body["Data"]) == ["Mobile", "MessageID", "Code", "Status"]
    assert body["Data"]["Mobile"] == 9120000000
    assert len(body["Data"]["Code"]) == 4
