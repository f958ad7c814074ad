"""
The password rule: 10 to 200 characters, at least 5 different ones, and not one of the most
common passwords (the list shipped in the package); the panel's forms say so.
"""

from __future__ import annotations

import pytest

from quickotp.bootstrap import Runtime
from quickotp.domain.errors import PasswordRejected
from quickotp.services.users import MIN_PASSWORD, checked_password, common_passwords
from tests.panel.conftest import PASSWORD, Browser

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize(
    "password",
    [
        " " * 10,  # blank
        "\t \u3000" * 4,  # blank in other ways
        "a" * 12,
        "ab" * 6,
        "1212121212",
        "abcdabcdabcd",  # four different characters
        "qwertyuiop",  # common
        "QwertyUiop",  # common, in any case
        "password123",
        "1q2w3e4r5t",
        "123456789a",
    ],
)
def test_blank_repetitive_and_common_passwords_are_refused(password: str) -> None:
    """Whitespace, too few different characters, and the common list are all refused."""
    with pytest.raises(PasswordRejected):
        checked_password(password)


@pytest.mark.parametrize("password", [PASSWORD, "kite 7 harbour", "  spaced out  "])
def test_other_passwords_are_kept_as_given(password: str) -> None:
    """A password that passes is kept exactly as typed (spaces and case included)."""
    assert checked_password(password) == password


def test_the_shipped_list_is_read() -> None:
    """The package's list holds lowercase entries, the shortest as long as a password may be."""
    found = common_passwords()

    assert len(found) > 1000
    assert all(entry == entry.lower() for entry in found)
    assert min(len(entry) for entry in found) >= MIN_PASSWORD
    assert "qwertyuiop" in found


async def test_sign_up_refuses_ten_spaces_and_says_the_rule(
    browser: Browser, runtime: Runtime
) -> None:
    """The sign-up form states the rule, and a blank password gets it back as the refusal."""
    form = await browser.get("/panel/sign-up")
    response = await browser.post(
        "/panel/sign-up",
        {"email": "blank@shop.test", "password": " " * 10, "account_name": "Blank"},
    )

    assert "5 of them different; not a common password" in form.text
    assert response.status_code == 422
    assert "5 of them different; not a common one" in response.text
    assert await runtime.admin.list_accounts() == []


async def test_a_common_new_password_is_refused(browser: Browser) -> None:
    """Changing to a common password is refused like signing up with one."""
    await browser.post(
        "/panel/sign-up",
        {"email": "owner@shop.test", "password": PASSWORD, "account_name": "Shop"},
    )

    response = await browser.post(
        "/panel/settings",
        {"password": PASSWORD, "new_password": "1234567890", "repeat_password": "1234567890"},
    )

    assert response.status_code == 422
    assert "not a common one" in response.text
