"""Admin's own checks, which the CLI and the panel both go through."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any, cast

import pytest

from quickotp.domain.errors import InvalidInput
from quickotp.ports.store import AccountStore
from quickotp.services.admin import Admin, checked_expiry


class _NoStore:
    """A store that must not be reached: the input is refused before."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"the store was called ({name})")


def _admin() -> Admin:
    return Admin(
        cast(AccountStore, _NoStore()), b"k" * 32, lambda: datetime.now(UTC), lambda n: "x" * n
    )


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("name", "credit"), [("n\x1b[31m", 0), ("\udcff", 0), ("a", 10**15 + 1), ("a", -1)]
)
async def test_create_account_refuses_control_characters_and_huge_credit(
    name: str, credit: int
) -> None:
    """Control characters, surrogates and credit past 10^15 rial never reach the store."""
    with pytest.raises(InvalidInput):
        await _admin().create_account(name=name, credit=credit)


@pytest.mark.anyio
@pytest.mark.parametrize("amount", [10**15 + 1, -(10**15) - 1, 2**63 - 1])
async def test_add_credit_refuses_amounts_past_the_bound(amount: int) -> None:
    """|amount| above 10^15 rial is InvalidInput before the store is asked."""
    with pytest.raises(InvalidInput, match="either way"):
        await _admin().add_credit(1, amount)


@pytest.mark.parametrize(
    "moment",
    [
        datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=-12))),
        datetime(1970, 12, 31, tzinfo=UTC),
        datetime(3000, 1, 1, tzinfo=UTC),
        datetime(9999, 12, 31, tzinfo=UTC),
    ],
)
def test_expiries_outside_1971_to_2999_are_refused(moment: datetime) -> None:
    """Years the panel's Persian calendar cannot show are InvalidInput."""
    with pytest.raises(InvalidInput, match="1971 to 2999"):
        checked_expiry(moment)


def test_usable_expiries_pass() -> None:
    """None (never) and a time in range pass unchanged."""
    moment = datetime(2999, 12, 31, tzinfo=UTC)
    assert checked_expiry(moment) is moment
    assert checked_expiry(None) is None
