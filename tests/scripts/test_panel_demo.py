"""
scripts/panel_demo.py, the demo behind scripts/screenshots: seeded into a fresh SQLite file,
it holds together as a real gateway's data would (no screenshot is compared here).
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from panel_demo import DAYS, ROUTE, Demo, seed

from quickotp.bootstrap import build_runtime
from quickotp.domain.models import Role
from tests.conftest import TEST_SECRET, make_settings

SMSC_PORT = 2775  # only written into the route: nothing connects during the test


@dataclass(frozen=True)
class Seeded:
    demo: Demo
    url: str
    db: sqlite3.Connection
    began: datetime
    ended: datetime

    def rows(self, sql: str, *args: object) -> list[Any]:
        return self.db.execute(sql, args).fetchall()

    def count(self, sql: str, *args: object) -> int:
        value = self.rows(sql, *args)[0][0]
        assert isinstance(value, int), value
        return value


def _time(value: object) -> datetime:
    return datetime.fromisoformat(str(value)).replace(tzinfo=UTC)


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seeded]:
    database = tmp_path_factory.mktemp("demo") / "quickotp.db"
    url = f"sqlite:///{database}"
    began = datetime.now(UTC)
    demo = asyncio.run(seed(url, TEST_SECRET, SMSC_PORT))
    ended = datetime.now(UTC)
    db = sqlite3.connect(Path(database))
    try:
        yield Seeded(demo, url, db, began, ended)
    finally:
        db.close()


def test_every_send_was_accepted_and_stored(seeded: Seeded) -> None:
    """No send was refused (guard, credit, lines): the demo is the one planned."""
    assert seeded.demo.refused == 0
    assert seeded.count("SELECT count(*) FROM messages") == seeded.demo.messages
    assert 400 <= seeded.demo.messages <= 700


def test_messages_span_the_weeks_and_the_last_hour(seeded: Seeded) -> None:
    """Traffic on nearly every day of the weeks, for both accounts, and in the last hour."""
    first = seeded.began - timedelta(days=DAYS, minutes=1)
    created = [_time(t) for (t,) in seeded.rows("SELECT created_at FROM messages")]
    assert all(first <= t <= seeded.ended for t in created)
    assert len({t.date() for t in created}) >= DAYS - 1
    for account in seeded.demo.accounts:
        last_day = seeded.count(
            "SELECT count(*) FROM messages WHERE account_id = ? AND created_at >= ?",
            account,
            (seeded.began - timedelta(days=1)).strftime("%Y-%m-%d %H:%M:%S"),
        )
        assert last_day > 0
    last_hour = seeded.count(
        "SELECT count(*) FROM messages WHERE transport = ? AND created_at >= ?",
        ROUTE,
        (seeded.began - timedelta(hours=1)).strftime("%Y-%m-%d %H:%M:%S"),
    )
    assert last_hour >= 3


def test_each_message_moves_forward_in_time(seeded: Seeded) -> None:
    """Accepted, then handed over, then reported; each after its account was made."""
    for created, submitted, reported, opened in seeded.rows(
        "SELECT m.created_at, m.submitted_at, m.reported_at, a.created_at"
        " FROM messages m JOIN accounts a ON a.id = m.account_id"
    ):
        assert _time(opened) < _time(created)
        if submitted is not None:
            assert _time(created) <= _time(submitted)
        if reported is not None:
            assert submitted is not None
            assert _time(submitted) <= _time(reported)


def test_the_states_a_dashboard_shows_are_all_there(seeded: Seeded) -> None:
    """Delivered, undelivered, failed, in flight and scheduled messages; codes verified,
    locked out and left pending, in plausible shares."""
    statuses = dict(seeded.rows("SELECT status, count(*) FROM messages GROUP BY status"))
    assert {"delivered", "undelivered", "failed", "sent", "queued"} <= set(statuses)
    assert statuses["delivered"] > 0.8 * seeded.demo.messages
    verifications = dict(seeded.rows("SELECT status, count(*) FROM verifications GROUP BY 1"))
    assert {"approved", "pending", "max_attempts_reached"} <= set(verifications)
    assert 0.6 < verifications["approved"] / sum(verifications.values()) < 0.95
    failed = seeded.rows("SELECT charged, error FROM messages WHERE status = 'failed'")
    assert all(charged == 0 and "ESME_RINVDSTADR" in str(error) for charged, error in failed)


def test_codes_are_masked_once_sent(seeded: Seeded) -> None:
    """No code a customer got is readable in the stored texts."""
    for text, code in seeded.rows(
        "SELECT m.text, m.code FROM messages m JOIN verifications v ON v.message_id = m.id"
        " WHERE m.submitted_at IS NOT NULL"
    ):
        assert code is None or str(code) not in str(text)
        assert re.search(r"\*{5,6}", str(text))


def test_credit_is_what_was_paid_less_what_was_charged(seeded: Seeded) -> None:
    """Each account's balance: its credit changes, less the charges its messages kept."""
    for account, credit, paid, charged in seeded.rows(
        "SELECT a.id, a.credit,"
        " (SELECT sum(amount) FROM credit_changes c WHERE c.account_id = a.id),"
        " (SELECT sum(charged) FROM messages m WHERE m.account_id = a.id)"
        " FROM accounts a"
    ):
        assert credit == paid - charged, account
        assert credit > 0


def test_the_demo_message_is_a_verified_code_of_the_first_account(seeded: Seeded) -> None:
    """The message page's screenshot shows a delivered code that was verified."""
    account, status, verification = seeded.rows(
        "SELECT m.account_id, m.status, v.status FROM messages m"
        " JOIN verifications v ON v.message_id = m.id WHERE m.id = ?",
        seeded.demo.message_id,
    )[0]
    assert (account, status, verification) == (seeded.demo.accounts[0], "delivered", "approved")


def test_patterns_people_and_invitations_in_every_state(seeded: Seeded) -> None:
    """Approved, waiting and rejected patterns; an active and a disabled user; invitations
    used, open and expired: what the approvals, accounts and people pages list."""
    patterns = dict(seeded.rows("SELECT state, count(*) FROM patterns GROUP BY state"))
    assert patterns == {"approved": 4, "pending": 2, "rejected": 1}
    users = seeded.rows("SELECT role, active FROM users")
    assert (Role.OPERATOR.value, 1) in users
    assert (Role.USER.value, 0) in users  # the intern the operator switched off
    now = datetime.now(UTC)
    invitations = seeded.rows("SELECT used_at, expires_at FROM invitations")
    assert any(used is not None for used, _ in invitations)
    assert any(used is None and _time(expires) > now for used, expires in invitations)
    assert any(used is None and _time(expires) < now for used, expires in invitations)


def test_people_sign_in_and_the_route_is_the_simulators(seeded: Seeded) -> None:
    """The demo's operator and user sign in with the passwords it gives; its route binds
    to the SMSC port it was given."""

    async def check() -> None:
        runtime = build_runtime(make_settings(seeded.url), dispatch=False, admit=False)
        try:
            for person in (seeded.demo.operator, seeded.demo.user):
                signed_in = await runtime.users.sign_in(
                    email=person.email, password=person.password, ip="127.0.0.1"
                )
                assert signed_in.user.role is person.role
            (route,) = await runtime.route_book.listing()
            assert (route.name, route.kind) == (ROUTE, "smpp")
            assert f"@127.0.0.1:{SMSC_PORT}" in route.shown
        finally:
            await runtime.aclose()

    asyncio.run(check())
