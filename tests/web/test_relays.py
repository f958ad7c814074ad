"""The RelayMessageDelivery methods: Create, List, SetActive and Delete, in Amoot's shapes."""

from __future__ import annotations

import httpx
import pytest

from quickotp.adapters.store.webhooks import MAX_RELAY_URLS
from quickotp.bootstrap import Runtime
from tests.conftest import Seeded, seed
from tests.web.wire import FORMS, call

pytestmark = pytest.mark.anyio

URL = "https://shop.example/dlr"


async def create(rest: httpx.AsyncClient, token: str, url: str = URL) -> int:
    body = await call(rest, "RelayMessageDeliveryCreate", token, URLAddress=url)
    assert body["Status"] == "Success"
    relay_id: int = body["RelayMessageDeliveryID"]
    return relay_id


@pytest.mark.parametrize("form", FORMS)
async def test_create_answers_the_new_id(
    rest: httpx.AsyncClient, seeded: Seeded, form: str
) -> None:
    """Create answers Amoot's {Status, RelayMessageDeliveryID}; List shows the URL."""
    body = await call(rest, "RelayMessageDeliveryCreate", seeded.token, form, URLAddress=URL)
    listed = await call(rest, "RelayMessageDeliveryList", seeded.token, form)

    assert list(body) == ["Status", "RelayMessageDeliveryID"]
    assert body["Status"] == "Success"
    [item] = listed["Data"]
    assert list(item) == ["ID", "Active", "RegDateTime", "URLAddress"]
    assert (item["ID"], item["Active"], item["URLAddress"]) == (
        body["RelayMessageDeliveryID"],
        True,
        URL,
    )


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("name", ["RelayMessageDeliveryID", "ID"])
async def test_set_active_reads_amoots_parameter_name(
    rest: httpx.AsyncClient, seeded: Seeded, form: str, name: str
) -> None:
    """SetActive reads RelayMessageDeliveryID (Amoot's samples), or ID; it answers a bare Status."""
    relay_id = await create(rest, seeded.token)

    off = await call(
        rest,
        "RelayMessageDeliverySetActive",
        seeded.token,
        form,
        **{name: str(relay_id), "Active": "False"},  # C#'s bool.ToString()
    )
    listed = await call(rest, "RelayMessageDeliveryList", seeded.token)
    on = await call(
        rest,
        "RelayMessageDeliverySetActive",
        seeded.token,
        form,
        **{name: str(relay_id), "Active": "true"},
    )

    assert off == "Success"
    assert listed["Data"][0]["Active"] is False
    assert on == "Success"


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"RelayMessageDeliveryID": "0", "Active": "true"}, "RelayMessageDeliveryID_Invalid"),
        ({"RelayMessageDeliveryID": "abc", "Active": "true"}, "RelayMessageDeliveryID_Invalid"),
        ({"Active": "true"}, "RelayMessageDeliveryID_Invalid"),
        ({"RelayMessageDeliveryID": "999999", "Active": "true"}, "RelayMessageDeliveryID_Invalid"),
        ({"RelayMessageDeliveryID": "{id}", "Active": "maybe"}, "Failed"),
    ],
)
async def test_set_active_refusals_are_bare_statuses(
    rest: httpx.AsyncClient, seeded: Seeded, params: dict[str, str], status: str
) -> None:
    """A refusal is the bare Status too."""
    relay_id = await create(rest, seeded.token)
    sent = {k: v.replace("{id}", str(relay_id)) for k, v in params.items()}

    assert await call(rest, "RelayMessageDeliverySetActive", seeded.token, **sent) == status


async def test_a_token_refusal_is_a_bare_status(rest: httpx.AsyncClient) -> None:
    """Even before the account is known, SetActive and Delete answer a bare Status."""
    for method in ("RelayMessageDeliverySetActive", "RelayMessageDeliveryDelete"):
        assert await call(rest, method, "", RelayMessageDeliveryID="1") == "Token_Invalid"


@pytest.mark.parametrize(
    ("form", "status"),
    [
        ({}, "URLAddress_Empty"),
        ({"URLAddress": "  "}, "URLAddress_Empty"),
        ({"URLAddress": "ftp://shop.example/x"}, "Failed"),
        ({"URLAddress": "https://shop.example/a\x00b"}, "Failed"),
        ({"URLAddress": "https://shop.example:99999/"}, "Failed"),
        ({"URLAddress": "http://[::1"}, "Failed"),
        ({"URLAddress": URL}, "URLAddress_Duplicate"),
    ],
)
async def test_create_refusals(
    rest: httpx.AsyncClient, seeded: Seeded, form: dict[str, str], status: str
) -> None:
    """An empty, unusable or repeated URL: its Status, and RelayMessageDeliveryID 0."""
    await create(rest, seeded.token)

    body = await call(rest, "RelayMessageDeliveryCreate", seeded.token, **form)

    assert body == {"Status": status, "RelayMessageDeliveryID": 0}


async def test_a_switched_off_url_is_still_a_duplicate(
    rest: httpx.AsyncClient, seeded: Seeded
) -> None:
    """The account keeps an inactive URL: Create of it again is a duplicate (SetActive it)."""
    relay_id = await create(rest, seeded.token)
    await call(
        rest,
        "RelayMessageDeliverySetActive",
        seeded.token,
        RelayMessageDeliveryID=str(relay_id),
        Active="false",
    )

    body = await call(rest, "RelayMessageDeliveryCreate", seeded.token, URLAddress=URL)

    assert body == {"Status": "URLAddress_Duplicate", "RelayMessageDeliveryID": 0}


async def test_the_cap_is_its_own_status_and_delete_frees_a_place(
    rest: httpx.AsyncClient, seeded: Seeded
) -> None:
    """Past 10 URLs (switched off ones count) a new URL is URLAddress_LimitReached, not a
    duplicate; deleting one makes room."""
    ids = [await create(rest, seeded.token, f"{URL}/{n}") for n in range(MAX_RELAY_URLS)]
    await call(
        rest,
        "RelayMessageDeliverySetActive",
        seeded.token,
        RelayMessageDeliveryID=str(ids[0]),
        Active="false",
    )

    full = await call(rest, "RelayMessageDeliveryCreate", seeded.token, URLAddress=f"{URL}/new")
    deleted = await call(
        rest, "RelayMessageDeliveryDelete", seeded.token, RelayMessageDeliveryID=str(ids[0])
    )
    again = await call(rest, "RelayMessageDeliveryCreate", seeded.token, URLAddress=f"{URL}/new")
    listed = await call(rest, "RelayMessageDeliveryList", seeded.token)

    assert full == {"Status": "URLAddress_LimitReached", "RelayMessageDeliveryID": 0}
    assert deleted == "Success"
    assert again["Status"] == "Success"
    assert ids[0] not in [item["ID"] for item in listed["Data"]]
    assert len(listed["Data"]) == MAX_RELAY_URLS


@pytest.mark.parametrize("form", FORMS)
async def test_delete_forgets_the_url(rest: httpx.AsyncClient, seeded: Seeded, form: str) -> None:
    """RelayMessageDeliveryDelete removes the URL; a second delete finds nothing."""
    relay_id = await create(rest, seeded.token)

    first = await call(
        rest, "RelayMessageDeliveryDelete", seeded.token, form, RelayMessageDeliveryID=str(relay_id)
    )
    second = await call(
        rest, "RelayMessageDeliveryDelete", seeded.token, form, RelayMessageDeliveryID=str(relay_id)
    )
    listed = await call(rest, "RelayMessageDeliveryList", seeded.token)

    assert (first, second) == ("Success", "RelayMessageDeliveryID_Invalid")
    assert listed == {"Status": "Success", "Data": []}


async def test_another_accounts_url_cannot_be_switched_or_deleted(
    rest: httpx.AsyncClient, runtime: Runtime, seeded: Seeded
) -> None:
    """Another account's id answers as one that does not exist, and the URL stays as it was."""
    other = await seed(runtime, name="other")
    theirs = await create(rest, other.token, "https://o.example/")

    switched = await call(
        rest,
        "RelayMessageDeliverySetActive",
        seeded.token,
        RelayMessageDeliveryID=str(theirs),
        Active="false",
    )
    deleted = await call(
        rest, "RelayMessageDeliveryDelete", seeded.token, RelayMessageDeliveryID=str(theirs)
    )
    listed = await call(rest, "RelayMessageDeliveryList", other.token)

    assert (switched, deleted) == ("RelayMessageDeliveryID_Invalid",) * 2
    assert [(item["ID"], item["Active"]) for item in listed["Data"]] == [(theirs, True)]
