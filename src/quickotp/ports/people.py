"""
The panel's side of the database: people, sessions, failed sign-ins, invitations and the
audit log; the panel's own reads and small writes; what the fraud guard and the webhook
worker report for the panel.
"""

from __future__ import annotations

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
        Token,
        TrafficRow,
        User,
        Webhook,
        WebhookDelivery,
    )


class IdentityStore(Protocol):
    """
    The panel's people: users, sessions, failed sign-ins, invitations, the audit log.

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

    async def get_user(self, user_id: int) -> User: ...

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

    async def record_sign_in_failure(self, email: str, ip: str | None, now: datetime) -> None: ...

    async def sign_in_failures(
        self, email: str, ip: str | None, since: datetime
    ) -> tuple[int, int, datetime | None]: ...

    async def clear_sign_in_failures(self, email: str, older_than: datetime) -> None: ...

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

    async def patterns_in_state(self, state: PatternState) -> list[Pattern]: ...


class GuardStats(Protocol):
    """What the fraud guard refused (by reason) and alarmed on (by kind). Never raises."""

    def refusals(self) -> dict[str, int]: ...

    def alarms(self) -> dict[str, int]: ...


class DeliveryLog(Protocol):
    """The delivery-report webhook posts of messages, with their attempts, newest first."""

    async def deliveries(
        self, account_id: int | None, *, message_id: int | None = None, limit: int = 50
    ) -> list[WebhookDelivery]: ...
