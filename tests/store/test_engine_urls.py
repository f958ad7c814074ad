"""The database URLs `quickotp` accepts, and the clear refusals of those it cannot use."""

from __future__ import annotations

import pytest

from quickotp.adapters.store.engine import async_url
from quickotp.domain.errors import ConfigurationError


@pytest.mark.parametrize(
    ("given", "driver", "database"),
    [
        ("sqlite:///quickotp.db", "sqlite+aiosqlite", "quickotp.db"),
        ("sqlite:////var/lib/quickotp/q.db", "sqlite+aiosqlite", "/var/lib/quickotp/q.db"),
        ("postgresql://quickotp@127.0.0.1:5432/test", "postgresql+asyncpg", "test"),
    ],
)
def test_a_usable_url_gets_its_async_driver(given: str, driver: str, database: str) -> None:
    url = async_url(given)

    assert url.drivername == driver
    assert url.database == database


@pytest.mark.parametrize(
    "given",
    ["sqlite://", "sqlite:///:memory:", "sqlite:///file:q?mode=memory&uri=true"],
)
def test_an_in_memory_sqlite_database_is_refused(given: str) -> None:
    with pytest.raises(ConfigurationError, match="in-memory SQLite database"):
        async_url(given)


@pytest.mark.parametrize(
    ("given", "says"),
    [
        ("mysql://root@127.0.0.1/test", "unsupported database 'mysql'"),
        ("not a url", "is not a database URL"),
    ],
)
def test_other_urls_are_refused_with_what_is_wrong(given: str, says: str) -> None:
    with pytest.raises(ConfigurationError, match=says):
        async_url(given)
