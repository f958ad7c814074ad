"""Calling one /rest method the ways Amoot's clients do, for the tests beside this file."""

from __future__ import annotations

from typing import Any

import httpx

# How a request carries its parameters and its token: Amoot's C# samples (a form POST, the
# raw token in Authorization), its PHP samples (a GET, Token in the query), a JSON body
# with lower-case names and Bearer, and a form with Token in it. "json-token" is Amoot's
# Node sample: a JSON body with the names as written and Token beside them; "json-raw" is
# its Python sample: that body with the raw token in Authorization.
FORMS = ("csharp", "php", "json", "form-token")


async def call(
    client: httpx.AsyncClient, method: str, token: str, form: str = "csharp", **params: Any
) -> Any:
    """The parsed answer, asserting HTTP 200 (every outcome is 200 on this surface)."""
    url = f"/rest/{method}"
    if form == "csharp":
        response = await client.post(url, headers={"Authorization": token}, data=params)
    elif form == "php":
        response = await client.get(url, params={"Token": token, **params})
    elif form == "json":
        body = {name.lower(): value for name, value in params.items()}
        response = await client.post(url, headers={"Authorization": f"Bearer {token}"}, json=body)
    elif form == "form-token":
        response = await client.post(url, data={"Token": token, **params})
    elif form == "json-token":
        response = await client.post(url, json={"Token": token, **params})
    elif form == "json-raw":
        response = await client.post(url, headers={"Authorization": token}, json=params)
    else:
        raise ValueError(form)
    assert response.status_code == 200
    return response.json()


async def with_pattern(
    client: httpx.AsyncClient, method: str, token: str, pattern: int, values: Any, **params: Any
) -> Any:
    """One pattern method (SendWithPattern, its OWN twin, CalculatePatternMessagePrice): the
    pattern's id and its values, to 9120000000 unless `Mobile` says, as `call` sends them."""
    params.setdefault("Mobile", "9120000000")
    return await call(
        client, method, token, PatternCodeID=str(pattern), PatternValues=values, **params
    )
