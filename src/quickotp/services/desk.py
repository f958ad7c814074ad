"""
The operator's desk in the panel: the approval queue, accounts and their users, credit,
sender lines and free text, scheduled messages, invitations, routes, traffic and the audit
log.

Every method checks that the actor is an operator (NotAllowed otherwise), and every action
that changes something is written to the audit log with who did it and from where.
I/O only through the ports; the clock comes in from the composition root.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, tzinfo
from typing import Any

from quickotp.domain.delivery import RouteState
from quickotp.domain.errors import NotAllowed
from quickotp.domain.models import (
    Account,
    AccountSummary,
    Actor,
    AuditEntry,
    CreditChange,
    Invitation,
    Message,
    MessagePage,
    MessageQuery,
    MessageRecord,
    MessageStatus,
    Pattern,
    PatternState,
    Role,
    User,
    WebhookDelivery,
)
from quickotp.ports.people import DeliveryLog, GuardStats, IdentityStore, PanelStore
from quickotp.ports.store import AccountStore
from quickotp.ports.transport import RouteMonitor
from quickotp.services.admin import Admin
from quickotp.services.cache import TtlCache
from quickotp.services.guard import Guard
from quickotp.services.users import IssuedInvitation, Users
from quickotp.services.workspace import FIGURES_SECONDS, Traffic, traffic

log = logging.getLogger(__name__)

AUDIT_PAGE = 100
SCHEDULED_SHOWN = 100  # scheduled messages an account's page lists
QUEUE_PAGE = 50
ROUTE_WINDOW = timedelta(hours=1)


@dataclass(frozen=True)
class QueuedPattern:
    pattern: Pattern
    account: Account


@dataclass(frozen=True)
class QueuePage:
    """One page of the approval queue, how many wait in all, and where the next page starts."""

    items: list[QueuedPattern]
    waiting: int
    after: int | None  # the last id on this page when more may follow, else None


@dataclass(frozen=True)
class AccountFile:
    """Everything the operator's page of one account shows."""

    account: Account
    users: list[User]
    patterns: list[Pattern]
    credit_changes: list[CreditChange]
    recent: MessagePage
    lines: list[str] = field(default_factory=list)  # its sender lines, the default first
    scheduled: list[Message] = field(default_factory=list)  # waiting for their send time


@dataclass(frozen=True)
class Route:
    """A route's live state beside what the database says it carried of late."""

    state: RouteState
    counts: dict[MessageStatus, int] = field(default_factory=dict)


@dataclass(frozen=True)
class GuardReport:
    """The fraud guard at a glance: what it refused and alarmed on, and its limits."""

    refusals: dict[str, int]  # by reason, this process since it started
    alarms: dict[str, int]  # pumping alarms by kind, likewise
    defaults: dict[str, str]  # every limit's global value
    accounts: list[tuple[Account, dict[str, Any]]]  # accounts with limits of their own


@dataclass
class OperatorDesk:
    store: AccountStore
    panel: PanelStore
    deliveries: DeliveryLog
    identity: IdentityStore
    admin: Admin
    users: Users
    monitor: RouteMonitor
    guard_stats: GuardStats
    guard: Guard | None  # None: the gateway runs without a fraud guard
    clock: Callable[[], datetime]
    zone: tzinfo
    # Every account's sums over up to 30 days, kept a minute a period (workspace.py says why).
    figures: TtlCache[str, Traffic] = field(
        default_factory=lambda: TtlCache(FIGURES_SECONDS, max_size=16)
    )

    # the approval queue -----------------------------------------------------------------

    async def queue(self, actor: Actor, *, after: int | None = None) -> QueuePage:
        """Patterns waiting for a decision, oldest first, a page at a time, with their accounts."""
        _operator(actor)
        pending, waiting = await self.panel.patterns_in_state(
            PatternState.PENDING, after=after, limit=QUEUE_PAGE
        )
        accounts = {i: await self.store.get_account(i) for i in {p.account_id for p in pending}}
        return QueuePage(
            [QueuedPattern(p, accounts[p.account_id]) for p in pending],
            waiting,
            pending[-1].id if len(pending) == QUEUE_PAGE else None,
        )

    async def approve_pattern(self, actor: Actor, pattern_id: int) -> Pattern:
        _operator(actor)
        pattern = await self.admin.approve_pattern(pattern_id)
        await self._audit(actor, "pattern.approve", f"pattern:{pattern_id}")
        return pattern

    async def reject_pattern(self, actor: Actor, pattern_id: int, reason: str) -> Pattern:
        _operator(actor)
        pattern = await self.admin.reject_pattern(pattern_id, reason)
        await self._audit(actor, "pattern.reject", f"pattern:{pattern_id}", reason.strip())
        return pattern

    # accounts ---------------------------------------------------------------------------

    async def accounts(self, actor: Actor) -> list[AccountSummary]:
        _operator(actor)
        return await self.panel.account_summaries(since=self.clock() - timedelta(hours=24))

    async def account(self, actor: Actor, account_id: int) -> AccountFile:
        _operator(actor)
        return AccountFile(
            account=await self.store.get_account(account_id),
            users=await self.identity.list_users(account_id),
            patterns=list(reversed(await self.store.list_patterns(account_id))),
            credit_changes=await self.panel.credit_changes(account_id, 20),
            recent=await self.panel.search_messages(account_id, MessageQuery(limit=20)),
            lines=await self.admin.account_lines(account_id),
            scheduled=await self.admin.scheduled(account_id, SCHEDULED_SHOWN),
        )

    async def set_free_text(self, actor: Actor, account_id: int, allowed: bool) -> Account:
        _operator(actor)
        account = await self.admin.set_free_text(account_id, allowed)
        action = "account.free_text_on" if allowed else "account.free_text_off"
        await self._audit(actor, action, f"account:{account_id}")
        return account

    async def add_line(self, actor: Actor, account_id: int, line: str) -> list[str]:
        _operator(actor)
        found = await self.admin.add_line(account_id, line)
        await self._audit(actor, "line.add", f"account:{account_id}", found[-1])
        return found

    async def remove_line(self, actor: Actor, account_id: int, line: str) -> list[str]:
        _operator(actor)
        found = await self.admin.remove_line(account_id, line)
        await self._audit(actor, "line.remove", f"account:{account_id}", line.strip()[:20])
        return found

    async def cancel_message(self, actor: Actor, message_id: int) -> Message:
        """Cancel a scheduled message before a dispatcher takes it; its charge returns."""
        _operator(actor)
        message = await self.admin.cancel_message(message_id)
        await self._audit(actor, "message.cancel", f"message:{message_id}")
        return message

    async def add_credit(self, actor: Actor, account_id: int, amount: int, reason: str) -> Account:
        _operator(actor)
        reason = " ".join(reason.split())[:200] or "top-up"
        account = await self.admin.add_credit(account_id, amount, reason)
        await self._audit(actor, "credit.add", f"account:{account_id}", f"{amount:+d} ({reason})")
        return account

    async def set_unlimited(self, actor: Actor, account_id: int, unlimited: bool) -> Account:
        _operator(actor)
        account = await self.panel.set_account_unlimited(account_id, unlimited)
        await self._audit(
            actor, "account.unlimited" if unlimited else "account.limited", f"account:{account_id}"
        )
        return account

    async def limits(self, actor: Actor, account_id: int) -> dict[str, Any]:
        """The account's own fraud-guard limits ({}: it follows the global ones)."""
        _operator(actor)
        return await self.admin.limits(account_id)

    async def set_limits(
        self, actor: Actor, account_id: int, overrides: Mapping[str, str]
    ) -> dict[str, Any]:
        """Replace the account's own limits; InvalidInput names the first unusable one."""
        _operator(actor)
        await self.store.get_account(account_id)
        limits = await self.admin.set_limits(account_id, overrides)
        if self.guard is not None:
            self.guard.forget(account_id)
        # Names only: a blocklist or test numbers are not for the audit log.
        await self._audit(
            actor, "account.limits", f"account:{account_id}", ", ".join(sorted(limits)) or "-"
        )
        return limits

    def limit_defaults(self) -> dict[str, str]:
        """Every limit the guard knows, with its global value, as the forms show them."""
        if self.guard is None:
            return {}
        return {name: _shown(value) for name, value in asdict(self.guard.defaults).items()}

    async def guard_report(self, actor: Actor) -> GuardReport:
        _operator(actor)
        accounts = []
        for account in await self.store.list_accounts():
            own = await self.admin.limits(account.id)
            if own:
                accounts.append((account, own))
        return GuardReport(
            refusals=self.guard_stats.refusals(),
            alarms=self.guard_stats.alarms(),
            defaults=self.limit_defaults(),
            accounts=accounts,
        )

    async def set_account_active(self, actor: Actor, account_id: int, active: bool) -> Account:
        _operator(actor)
        account = await self.admin.set_account_active(account_id, active)
        await self._audit(
            actor, "account.enable" if active else "account.disable", f"account:{account_id}"
        )
        return account

    async def set_user_active(self, actor: Actor, user_id: int, active: bool) -> User:
        """Switch a user on or off; off ends their sessions at once. Not oneself."""
        _operator(actor)
        if user_id == actor.user.id:
            raise NotAllowed("an operator cannot switch themselves off")
        user = await self.identity.set_user_active(user_id, active)
        await self._audit(actor, "user.enable" if active else "user.disable", f"user:{user_id}")
        return user

    async def operators(self, actor: Actor) -> list[User]:
        _operator(actor)
        return [u for u in await self.identity.list_users() if u.role is Role.OPERATOR]

    # invitations ------------------------------------------------------------------------

    async def invitations(self, actor: Actor) -> list[Invitation]:
        _operator(actor)
        return await self.identity.list_invitations()

    async def invite(
        self, actor: Actor, *, email: str, role: Role, account_id: int | None
    ) -> IssuedInvitation:
        """An invitation; its link secret is in the answer only."""
        _operator(actor)
        issued = await self.users.invite(
            email=email, role=role, account_id=account_id, invited_by=actor.user.id
        )
        invitation = issued.invitation
        await self._audit(
            actor,
            "invitation.create",
            f"invitation:{invitation.id}",
            f"{invitation.role} {invitation.email}"
            + (f" to account {invitation.account_id}" if invitation.account_id else ""),
        )
        return issued

    # routes, traffic, messages and the audit log ----------------------------------------

    async def routes(self, actor: Actor) -> list[Route]:
        """Each route's live state, and what every transport carried in the last hour."""
        _operator(actor)
        counts = await self.panel.transport_counts(since=self.clock() - ROUTE_WINDOW)
        counts.pop("", None)  # messages no transport has taken yet
        routes = [Route(state, counts.pop(state.name, {})) for state in self.monitor.routes()]
        # Transports that carried messages but are not running in this process.
        routes += [Route(RouteState(name, up=None), by) for name, by in counts.items()]
        return routes

    async def message(self, actor: Actor, message_id: int) -> MessageRecord:
        _operator(actor)
        return await self.panel.message_record(None, message_id)

    async def webhook_posts(self, actor: Actor, message_id: int) -> list[WebhookDelivery]:
        _operator(actor)
        return await self.deliveries.deliveries(None, message_id=message_id)

    async def traffic(self, actor: Actor, period: str) -> Traffic:
        _operator(actor)
        found = await self.figures.get(
            period, lambda: traffic(self.panel, None, period, self.clock(), self.zone)
        )
        return found

    async def audit(self, actor: Actor, *, before: int | None = None) -> list[AuditEntry]:
        _operator(actor)
        return await self.identity.list_audit(before=before, limit=AUDIT_PAGE)

    async def note_cli(self, action: str, target: str, detail: str = "") -> None:
        """Write an operator action done at the command line to the audit log."""
        await self.identity.add_audit(
            actor_id=None,
            actor="cli",
            action=action,
            target=target,
            detail=detail,
            ip=None,
            now=self.clock(),
        )

    async def _audit(self, actor: Actor, action: str, target: str, detail: str = "") -> None:
        await self.identity.add_audit(
            actor_id=actor.user.id,
            actor=actor.user.email,
            action=action,
            target=target,
            detail=detail,
            ip=actor.ip,
            now=self.clock(),
        )
        log.info("operator %d: %s %s", actor.user.id, action, target)


def _shown(value: Any) -> str:
    """A limit's value as a form shows it: lists comma-joined, pairs as number:code."""
    if isinstance(value, tuple):
        return ",".join(":".join(v) if isinstance(v, tuple) else str(v) for v in value)
    return str(value)


def _operator(actor: Actor) -> None:
    if actor.user.role is not Role.OPERATOR:
        raise NotAllowed(f"user {actor.user.id} is not an operator")
