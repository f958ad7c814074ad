"""
What the operator's use cases do underneath: accounts, tokens, pattern decisions, credit,
message lists, sender lines and the free-text permission, scheduled messages, each checked.

The operator reaches these through services/desk.py, which checks who acts and writes the
audit log; the CLI's reads (lists) call them directly. I/O only through its store ports
(ports/store.py). New patterns are made in one place, the gateway's `create_account_pattern`.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from quickotp.domain import keys
from quickotp.domain.digits import ascii_digits
from quickotp.domain.errors import AmountInvalid, ExpiryInPast, InvalidInput, Subject
from quickotp.domain.lines import SHARED_NAMES, line_problem
from quickotp.domain.models import Account, CreditChange, Message, Pattern, PatternState, Token
from quickotp.domain.text import text_problem
from quickotp.ports.store import AccountStore, LineStore, ScheduleStore
from quickotp.services.guard import Policy

log = logging.getLogger(__name__)

MAX_CREDIT = 10**15  # rial: an amount or a balance past it is a typo (and past a float's precision)
# The years a date the gateway takes may fall in: past them a day's end overflows
# datetime, or its Persian year cannot be shown (a token's expiry, the panel's dates).
FIRST_YEAR, LAST_YEAR = 1971, 2999

API_METHODS = (
    "SendQuickOTP",
    "VerifyQuickOTP",
    "AccountStatus",
    "GetDelivery",
    "GetDeliveries",
    "PatternCodeCreate",
    "PatternCodeList",
    "RelayMessageDeliveryCreate",
    "RelayMessageDeliveryList",
    "RelayMessageDeliverySetActive",
    "SendSimple",
    "SendWithBackupLine",
    "SendOTP",
    "SendWithPattern",
    "SendWithPatternOWN",
)


def checked_networks(allowed_ips: Sequence[str]) -> list[str]:
    """A token's allowed networks in canonical CIDR form; InvalidInput for one that is not."""
    networks = []
    for net in allowed_ips:
        try:
            networks.append(str(ipaddress.ip_network(net.strip(), strict=False)))
        except ValueError:
            raise InvalidInput(
                f"{net!r} is not an IP network (CIDR)", subject=Subject.NETWORK
            ) from None
    return networks


def checked_methods(allowed_methods: Sequence[str]) -> list[str]:
    """A token's allowed API methods, lower-cased; InvalidInput for an unknown one."""
    known = {m.lower() for m in API_METHODS}
    methods = [m.strip().lower() for m in allowed_methods]
    unknown = [m for m in methods if m not in known]
    if unknown:
        raise InvalidInput(
            f"unknown method {unknown[0]!r}: one of {', '.join(API_METHODS)}",
            subject=Subject.API_METHOD,
        )
    return methods


def checked_expiry(expires_at: datetime | None) -> datetime | None:
    """A token's expiry as given; InvalidInput without a time zone or outside 1971..2999."""
    if expires_at is None:
        return None
    if expires_at.tzinfo is None:
        raise InvalidInput(
            "an expiry needs a time zone (e.g. 2027-01-01T00:00:00+03:30)", subject=Subject.EXPIRY
        )
    if not FIRST_YEAR <= expires_at.year <= LAST_YEAR:
        raise InvalidInput(
            f"an expiry is a time in the years {FIRST_YEAR} to {LAST_YEAR}", subject=Subject.EXPIRY
        )
    return expires_at


@dataclass(frozen=True)
class IssuedToken:
    """A new token: `secret` is shown once and never stored."""

    token: Token
    secret: str


def checked_line(line: str) -> str:
    """A sender line as the operator typed it (digits of any script); InvalidInput if unusable."""
    line = ascii_digits(line).strip()
    if problem := line_problem(line):
        raise InvalidInput(problem, subject=Subject.LINE)
    if line.lower() in SHARED_NAMES:
        raise InvalidInput(
            f"{line!r} names the shared lines (QUICKOTP_SHARED_LINES)", subject=Subject.LINE_SHARED
        )
    return line


@dataclass
class Admin:
    store: AccountStore
    token_key: bytes
    clock: Callable[[], datetime]
    token_urlsafe: Callable[[int], str]
    lines: LineStore | None = None
    schedule: ScheduleStore | None = None

    async def create_account(
        self, *, name: str, credit: int = 0, unlimited: bool = False, sender: str = "10001"
    ) -> Account:
        name = name.strip()
        if not name or len(name) > 100:
            raise InvalidInput(
                "an account name is 1 to 100 characters", subject=Subject.ACCOUNT_NAME
            )
        if problem := text_problem(name):
            raise InvalidInput(
                f"an account name cannot be used: {problem}", subject=Subject.ACCOUNT_NAME
            )
        if not 0 <= credit <= MAX_CREDIT:
            raise InvalidInput(
                f"a credit is from 0 to {MAX_CREDIT:,} rial",
                subject=Subject.CREDIT_RANGE,
                high=MAX_CREDIT,
            )
        sender = sender.strip()
        if not sender or len(sender) > 20:
            raise InvalidInput("a sender line is 1 to 20 characters", subject=Subject.LINE)
        if problem := text_problem(sender):
            raise InvalidInput(f"a sender line cannot be used: {problem}", subject=Subject.LINE)
        if sender.lower() in SHARED_NAMES:
            raise InvalidInput(
                f"{sender!r} names the shared lines (QUICKOTP_SHARED_LINES)",
                subject=Subject.LINE_SHARED,
            )
        account = await self.store.create_account(
            name=name, credit=credit, unlimited=unlimited, sender=sender, now=self.clock()
        )
        log.info("created account %d", account.id)
        return account

    async def issue_token(
        self,
        *,
        account_id: int,
        label: str = "",
        expires_at: datetime | None = None,
        allowed_ips: Sequence[str] = (),
        allowed_methods: Sequence[str] = (),
    ) -> IssuedToken:
        networks = checked_networks(allowed_ips)
        methods = checked_methods(allowed_methods)
        expires_at = checked_expiry(expires_at)
        if expires_at is not None and expires_at <= self.clock():
            raise ExpiryInPast("the expiry has passed already: the token would never work")
        secret = keys.new_token(self.token_urlsafe)
        token = await self.store.create_token(
            account_id=account_id,
            digest=keys.token_digest(self.token_key, secret),
            prefix=keys.token_prefix(secret),
            label=label.strip()[:100],
            expires_at=expires_at,
            allowed_ips=networks,
            allowed_methods=methods,
            now=self.clock(),
        )
        log.info("issued token %d for account %d", token.id, account_id)
        return IssuedToken(token, secret)

    async def approve_pattern(self, pattern_id: int) -> Pattern:
        pattern = await self.store.decide_pattern(
            pattern_id, PatternState.APPROVED, "", self.clock()
        )
        log.info("approved pattern %d", pattern_id)
        return pattern

    async def reject_pattern(self, pattern_id: int, reason: str) -> Pattern:
        reason = reason.strip()
        if not reason:
            raise InvalidInput("a rejection needs a reason", subject=Subject.REJECTION_REASON)
        pattern = await self.store.decide_pattern(
            pattern_id, PatternState.REJECTED, reason, self.clock()
        )
        log.info("rejected pattern %d", pattern_id)
        return pattern

    async def add_credit(
        self, account_id: int, amount: int, reason: str = "top-up"
    ) -> tuple[Account, CreditChange]:
        """
        Add `amount` rial (negative: take); the account after it, and the ledger's line.
        InvalidInput for zero, for more than MAX_CREDIT either way, or when the balance
        would pass MAX_CREDIT; CreditOverdrawn when it would go below zero by more than the
        account's overdraft; nothing is stored then. A blank reason is recorded as "top-up"
        (the panel's field may be left empty).
        """
        reason = reason.strip() or "top-up"
        if amount == 0:
            raise AmountInvalid("the amount must not be zero")
        if abs(amount) > MAX_CREDIT:
            raise AmountInvalid(f"an amount is at most {MAX_CREDIT:,} rial either way")
        return await self.store.add_credit(
            account_id, amount, reason, self.clock(), ceiling=MAX_CREDIT
        )

    async def set_overdraft(self, account_id: int, overdraft: int) -> Account:
        """How far below zero the operator may take the credit (0: not at all)."""
        if not 0 <= overdraft <= MAX_CREDIT:
            raise AmountInvalid(f"an overdraft is from 0 to {MAX_CREDIT:,} rial")
        account = await self.store.set_overdraft(account_id, overdraft)
        log.info("account %d may go %d rial below zero", account_id, overdraft)
        return account

    async def set_account_active(self, account_id: int, active: bool) -> Account:
        account = await self.store.set_account_active(account_id, active)
        log.info("account %d %s", account_id, "enabled" if active else "disabled")
        return account

    async def list_accounts(self) -> list[Account]:
        return await self.store.list_accounts()

    async def list_messages(self, account_id: int | None, limit: int = 50) -> list[Message]:
        if not 1 <= limit <= 10_000:
            raise InvalidInput("limit must be from 1 to 10000", subject=Subject.LIST_SIZE)
        return await self.store.list_messages(account_id, limit)

    async def set_limits(self, account_id: int, overrides: Mapping[str, Any]) -> dict[str, Any]:
        """
        Replace the account's own fraud-guard settings (any Policy field; the rest follow
        the global defaults). InvalidInput names the first unusable one; nothing is stored.
        """
        Policy().with_overrides(overrides)
        settings = dict(overrides)
        await self.store.set_account_settings(account_id, settings, self.clock())
        log.info("account %d has new limits: %s", account_id, ", ".join(sorted(settings)) or "none")
        return settings

    async def limits(self, account_id: int) -> dict[str, Any]:
        """The account's own fraud-guard settings ({} when it follows the defaults)."""
        await self.store.get_account(account_id)
        return await self.store.get_account_settings(account_id)

    # sender lines and free text ----------------------------------------------------------

    def _lines(self) -> LineStore:
        if self.lines is None:
            raise RuntimeError("Admin was built without a LineStore")
        return self.lines

    async def account_lines(self, account_id: int) -> list[str]:
        """The account's sender lines, its default one first."""
        return await self._lines().lines(account_id)

    async def add_line(self, account_id: int, line: str) -> list[str]:
        """Give the account another sender line; Conflict when it has it already."""
        found = await self._lines().add_line(account_id, checked_line(line), self.clock())
        log.info("account %d has a new line", account_id)
        return found

    async def remove_line(self, account_id: int, line: str) -> list[str]:
        """Take a line from the account; its default line (accounts.sender) stays (InvalidInput)."""
        found = await self._lines().remove_line(account_id, ascii_digits(line).strip())
        log.info("account %d gave up a line", account_id)
        return found

    async def set_free_text(self, account_id: int, allowed: bool) -> Account:
        """Let the account send text of its own (SendSimple, SendOTP), or only patterns."""
        account = await self._lines().set_free_text(account_id, allowed)
        log.info("account %d may%s send free text", account_id, "" if allowed else " not")
        return account

    # scheduled messages ------------------------------------------------------------------

    def _schedule(self) -> ScheduleStore:
        if self.schedule is None:
            raise RuntimeError("Admin was built without a ScheduleStore")
        return self.schedule

    async def scheduled(self, account_id: int | None, limit: int = 100) -> list[Message]:
        """Scheduled messages no dispatcher has taken yet, soonest first."""
        if not 1 <= limit <= 10_000:
            raise InvalidInput("limit must be from 1 to 10000", subject=Subject.LIST_SIZE)
        return await self._schedule().scheduled(account_id, limit)

    async def cancel_message(self, message_id: int) -> Message:
        """Cancel a message before it goes out; its charge returns (Conflict once taken)."""
        message = await self._schedule().cancel(message_id, self.clock())
        log.info("canceled message %d", message_id)
        return message
