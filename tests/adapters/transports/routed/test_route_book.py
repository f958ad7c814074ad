"""The routes table: URLs sealed at rest, shown without credentials, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from quickotp.adapters.store.routes import RouteBook, seal, unseal
from quickotp.adapters.store.schema import routes
from quickotp.bootstrap import Runtime
from quickotp.cli import main
from quickotp.domain.errors import ConfigurationError, Conflict, NotFound
from quickotp.domain.routing import checked_route
from tests.conftest import TEST_SECRET

pytestmark = pytest.mark.anyio

NOW = datetime(2026, 1, 1, tzinfo=UTC)
URL = "smpp://shop:s3cr3t-pass@10.0.0.5:2775?window=20"


def test_sealing_round_trips_and_binds_the_name() -> None:
    """What is sealed opens with the same key and name, and with nothing else."""
    sealed = seal(b"k" * 32, "main", URL)

    assert unseal(b"k" * 32, "main", sealed) == URL
    assert b"s3cr3t" not in sealed
    with pytest.raises(ConfigurationError):
        unseal(b"j" * 32, "main", sealed)
    with pytest.raises(ConfigurationError):
        unseal(b"k" * 32, "other", sealed)
    with pytest.raises(ConfigurationError):
        unseal(b"k" * 32, "main", sealed[:-1] + bytes([sealed[-1] ^ 1]))


async def test_a_route_is_stored_sealed_and_loaded_whole(runtime: Runtime) -> None:
    """The password is not in the database in clear; load() gives the URL back, listing() not."""
    shown = "smpp://shop:***@10.0.0.5:2775?window=20"
    route = checked_route(
        name="main", kind="smpp", url=URL, shown=shown, prefixes=["98912"], priority=5
    )

    await runtime.route_book.add(route, NOW)

    async with runtime.engines.read.connect() as conn:
        row = (await conn.execute(select(routes))).one()
    assert b"s3cr3t" not in row.url_sealed
    assert "s3cr3t" not in row.shown
    assert await runtime.route_book.load() == [route]
    [listed] = await runtime.route_book.listing()
    assert (listed.url, listed.shown, listed.prefixes) == ("", route.shown, ("98912",))


async def test_names_are_unique_and_removal_needs_a_route(runtime: Runtime) -> None:
    """A taken name is a Conflict; removing an unknown route is NotFound."""
    route = checked_route(name="main", kind="amoot", url="amoot://t@h", shown="amoot://***@h")
    await runtime.route_book.add(route, NOW)

    with pytest.raises(Conflict):
        await runtime.route_book.add(route, NOW)
    await runtime.route_book.remove("main")
    with pytest.raises(NotFound):
        await runtime.route_book.remove("main")


async def test_another_secret_key_cannot_open_the_routes(runtime: Runtime) -> None:
    """A route sealed under one QUICKOTP_SECRET_KEY does not load under another."""
    route = checked_route(name="main", kind="amoot", url="amoot://t@h", shown="amoot://***@h")
    await runtime.route_book.add(route, NOW)

    with pytest.raises(ConfigurationError, match="SECRET_KEY"):
        await RouteBook(runtime.engines, b"another key" * 3).load()


def run(
    capsys: pytest.CaptureFixture[str], env: dict[str, str], *argv: str
) -> tuple[int, str, str]:
    code = main(list(argv), env)
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_routes_add_list_remove(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The operator's commands: the secret never printed, errors one line with an exit code."""
    env = {
        "QUICKOTP_SECRET_KEY": TEST_SECRET,
        "QUICKOTP_DATABASE_URL": f"sqlite:///{tmp_path / 'q.db'}",
    }
    assert run(capsys, env, "migrate")[0] == 0

    add = ["routes", "add", "main", "--url", URL, "--prefix", "98912", "--priority", "1"]
    code, out, _ = run(capsys, env, *add, "--line", "3000123", "--json")
    assert code == 0
    assert json.loads(out) == {
        "name": "main",
        "kind": "smpp",
        "url": "smpp://shop:***@10.0.0.5:2775?window=20",
        "prefixes": ["98912"],
        "accounts": [],
        "priority": 1,
        "lines": ["3000123"],
        "enabled": True,
    }
    kavenegar = "kavenegar://KEY123@api.kavenegar.com?template=otp"
    code, out, _ = run(capsys, env, "routes", "add", "kv", "--url", kavenegar)
    assert code == 0
    assert "KEY123" not in out
    code, out, _ = run(capsys, env, "routes", "list")
    assert (code, out.count("\n")) == (0, 2)
    assert "s3cr3t" not in out
    assert "KEY123" not in out

    assert run(capsys, env, "routes", "add", "main", "--url", URL)[0] == 4  # taken
    code, _, err = run(capsys, env, "routes", "add", "x", "--url", "smpp://shop@h")
    assert (code, err.count("\n")) == (2, 1)
    code, _, err = run(capsys, env, "routes", "add", "x", "--url", "http://h")
    assert code == 2
    assert run(capsys, env, "routes", "add", "x", "--url", URL, "--account", "99")[0] == 3
    assert run(capsys, env, "routes", "remove", "kv")[0] == 0
    assert run(capsys, env, "routes", "remove", "kv")[0] == 3
    code, out, _ = run(capsys, env, "routes", "list", "--json")
    assert [r["name"] for r in json.loads(out)] == ["main"]


async def test_a_route_is_replaced_sealed_anew_and_switched_off_and_on(runtime: Runtime) -> None:
    """replace() seals the new URL; a switched-off route is loaded (marked off) and listed."""
    first = checked_route(name="main", kind="smpp", url=URL, shown="smpp://shop:***@10.0.0.5")
    await runtime.route_book.add(first, NOW)
    new_url = URL.replace("s3cr3t-pass", "n3w-pass")
    changed = checked_route(name="main", kind="smpp", url=new_url, shown=first.shown, priority=3)

    await runtime.route_book.replace(changed, NOW)
    await runtime.route_book.set_enabled("main", False, NOW)

    async with runtime.engines.read.connect() as conn:
        row = (await conn.execute(select(routes))).one()
    assert b"n3w-pass" not in row.url_sealed
    assert row.updated_at == NOW
    [loaded] = await runtime.route_book.load()
    assert (loaded.url, loaded.priority, loaded.enabled) == (new_url, 3, False)
    assert await runtime.route_book.get("main") == loaded
    assert [r.enabled for r in await runtime.route_book.listing()] == [False]
    with pytest.raises(NotFound):
        await runtime.route_book.get("other")
    with pytest.raises(NotFound):
        await runtime.route_book.replace(
            checked_route(name="other", kind="smpp", url=URL, shown=""), NOW
        )
    with pytest.raises(NotFound):
        await runtime.route_book.set_enabled("other", True, NOW)
