"""
The panel's side of the database: people, sessions, failed sign-ins, invitations and the
audit log; the panel's own reads and small writes; what the fraud guard and the webhook
worker report for the panel.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Literal, Protocol

if TYPE_CHECKING:
    from quickotp.domain.models import (
        Account,
        AccountSummary,
        AuditEntry,
        CreditChange,
        Invitation,
        MessagePage,
        MessageQuery,
        MessageRecord,
        MessageStatus,
        Pattern,
        PatternState,
        Role,
        SignInCount,
        SignInRule,
        Token,
        TrafficRow,
        User,
        Webhook,
        WebhookDelivery,
    )


class IdentityStore(Protocol):
    """
    The panel's people: users, sessions, sign-in limits, invitations, the audit log.

    Lookups of a missing user or account by id raise NotFound; a taken email or account
    name raises Conflict; a used, unknown or expired invitation raises InvitationInvalid.
    Each write is one transaction.
    """

    async def create_user(
        self,
        *,
        email: str,
        password_hash: str,
        role: Role,
        account_id: int | None,
        new_account: str | None,
        sender: str,
        locale: str,
        now: datetime,
    ) -> User: ...

    async def user_by_email(self, email: str) -> tuple[User, str] | None: ...

    async def list_users(self, account_id: int | None = None) -> list[User]: ...

    async def set_user_active(self, user_id: int, active: bool) -> User: ...

    async def set_password_hash(
        self, user_id: int, password_hash: str, *, keep_session: bytes | None
    ) -> None: ...

    async def rehash_password(self, user_id: int, password_hash: str) -> None: ...

    async def set_locale(self, user_id: int, locale: str) -> None: ...

    async def create_session(
        self, *, digest: bytes, user_id: int, now: datetime, expires_at: datetime
    ) -> None: ...

    async def session_user(self, digest: bytes, now: datetime) -> User | None: ...

    async def delete_session(self, digest: bytes) -> None: ...

    async def count_sign_in(
        self,
        rules: Sequence[SignInRule],
        *,
        email: str,
        address: str,
        known_since: datetime,
        now: datetime,
        window: timedelta,
    ) -> SignInCount:
        """
        One sign-in attempt, counted as a failure under every rule before its password is
        checked, all in one transaction; or, when a rule is locked, nothing counted and
        the seconds to wait. A rule with `unknown_only` is skipped when the email signed in
        from `address` since `known_since`. A rule's count starts again once it has had
        no failure for `window` and its lock has passed.
        """
        ...

    async def uncount_sign_in(self, keys: Sequence[str]) -> None:
        """Take back one count of each key (the password was never checked)."""
        ...

    async def signed_in_from(
        self,
        *,
        email: str,
        address: str,
        cleared: str,
        uncounted: Sequence[str],
        now: datetime,
        known_since: datetime,
    ) -> None:
        """
        The email signed in from `address`: the address is known from now on, the key
        `cleared` starts again from nothing, each of `uncounted` takes back its count, and
        the email's addresses not seen since `known_since` are forgotten.
        """
        ...

    async def sweep_sign_in_limits(self, *, now: datetime, window: timedelta) -> None:
        """Drop the counts idle past `window` whose wait has passed."""
        ...

    async def create_invitation(
        self,
        *,
        digest: bytes,
        email: str,
        role: Role,
        account_id: int | None,
        created_by: int | None,
        now: datetime,
        expires_at: datetime,
    ) -> Invitation: ...

    async def find_invitation(self, digest: bytes, now: datetime) -> Invitation | None: ...

    async def list_invitations(self) -> list[Invitation]: ...

    async def accept_invitation(
        self,
        *,
        digest: bytes,
        password_hash: str,
        new_account: str | None,
        sender: str,
        locale: str,
        now: datetime,
    ) -> User: ...

    async def add_audit(
        self,
        *,
        actor_id: int | None,
        actor: str,
        action: str,
        target: str,
        detail: str,
        ip: str | None,
        now: datetime,
    ) -> None: ...

    async def list_audit(self, *, before: int | None, limit: int) -> list[AuditEntry]: ...


class PanelStore(Protocol):
    """
    What the panel reads beyond the Store, and its small writes. Methods that take an
    `account_id` see only that account's rows: another's raise NotFound, like a missing one.
    """

    async def list_tokens(self, account_id: int) -> list[Token]: ...

    async def get_token(self, account_id: int, token_id: int) -> Token: ...

    async def update_token(
        self,
        account_id: int,
        token_id: int,
        *,
        label: str,
        expires_at: datetime | None,
        allowed_ips: list[str],
        allowed_methods: list[str],
    ) -> Token: ...

    async def set_token_active(self, account_id: int, token_id: int, active: bool) -> Token: ...

    async def delete_token(self, account_id: int, token_id: int, now: datetime) -> None: ...

    async def search_messages(self, account_id: int | None, query: MessageQuery) -> MessagePage: ...

    async def message_record(self, account_id: int | None, message_id: int) -> MessageRecord: ...

    async def traffic(
        self,
        account_id: int | None,
        *,
        since: datetime,
        bucket: Literal["hour", "day"],
        offset: timedelta,
    ) -> list[TrafficRow]: ...

    async def verification_counts(
        self, account_id: int | None, *, since: datetime
    ) -> dict[str, int]: ...

    async def usage(self, account_id: int, *, since: datetime) -> tuple[int, int, int]: ...

    async def transport_counts(self, *, since: datetime) -> dict[str, dict[MessageStatus, int]]: ...

    async def credit_changes(self, account_id: int, limit: int) -> list[CreditChange]: ...

    async def get_webhook(self, account_id: int) -> Webhook | None: ...

    async def set_webhook(
        self, account_id: int, url: str, secret: str, now: datetime
    ) -> Webhook: ...

    async def set_account_unlimited(self, account_id: int, unlimited: bool) -> Account: ...

    async def account_summaries(self, *, since: datetime) -> list[AccountSummary]: ...

    async def patterns_in_state(
        self, state: PatternState, *, after: int | None, limit: int
    ) -> tuple[list[Pattern], int]:
        """
        Every account's patterns in `state`, oldest first: at most `limit` with ids past
        `after` (a keyset page), and how many are in the state in all.
        """
        ...


class GuardStats(Protocol):
    """What the fraud guard refused (by reason) and alarmed on (by kind). Never raises."""

    def refusals(self) -> dict[str, int]: ...

    def alarms(self) -> dict[str, int]: ...


class DeliveryLog(Protocol):
    """The delivery-report webhook posts of messages, with their attempts, newest first."""

    async def deliveries(
        self, account_id: int | None, *, message_id: int | None = None, limit: int = 50
    ) -> list[WebhookDelivery]: ...
