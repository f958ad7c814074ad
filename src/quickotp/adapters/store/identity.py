"""
The panel's people on SQL: users, their sessions, sign-in limits, invitations and the
operator's audit log. Each method is one transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Row
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from quickotp.adapters.store.accounts import insert_account, require_account
from quickotp.adapters.store.engine import Engines
from quickotp.adapters.store.raw import Tx, marks, write_transaction
from quickotp.adapters.store.rows import record
from quickotp.adapters.store.schema import (
    audit_log,
    invitations,
    panel_drafts,
    sessions,
    sign_in_addresses,
    sign_in_limits,
    users,
)
from quickotp.domain.errors import Conflict, InvitationInvalid, NotFound, Subject
from quickotp.domain.models import AuditEntry, Invitation, Role, SignInCount, SignInRule, User


class IdentitySqlStore:
    """Users, sessions, invitations and the audit log in the gateway's database."""

    def __init__(self, engines: Engines) -> None:
        self.engines = engines

    # users ------------------------------------------------------------------------------

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
    ) -> User:
        """
        A new user; with `new_account`, a new empty account of that name too, in the same
        transaction. Conflict when the email (or the account name) is taken.
        """
        async with self.engines.write.begin() as conn:
            return await self._create_user(
                conn,
                email=email,
                password_hash=password_hash,
                role=role,
                account_id=account_id,
                new_account=new_account,
                sender=sender,
                locale=locale,
                now=now,
            )

    async def _create_user(
        self,
        conn: AsyncConnection,
        *,
        email: str,
        password_hash: str,
        role: Role,
        account_id: int | None,
        new_account: str | None,
        sender: str,
        locale: str,
        now: datetime,
    ) -> User:
        if await conn.scalar(select(users.c.id).where(users.c.email == email)) is not None:
            raise Conflict("a user with this email exists already", subject=Subject.EMAIL_TAKEN)
        if new_account is not None:
            account_id = await insert_account(
                conn, name=new_account, credit=0, unlimited=False, sender=sender, now=now
            )
        elif account_id is not None:
            await require_account(conn, account_id)
        try:
            new_id = await conn.scalar(
                insert(users)
                .values(
                    email=email,
                    password_hash=password_hash,
                    role=role,
                    account_id=account_id,
                    active=True,
                    locale=locale,
                    created_at=now,
                )
                .returning(users.c.id)
            )
        except IntegrityError:  # a concurrent sign-up took the email between check and insert
            raise Conflict(
                "a user with this email exists already", subject=Subject.EMAIL_TAKEN
            ) from None
        return await self._user(conn, int(new_id))

    async def get_user(self, user_id: int) -> User:
        async with self.engines.read.connect() as conn:
            return await self._user(conn, user_id)

    async def user_by_email(self, email: str) -> tuple[User, str] | None:
        """The user with this (lower-cased) email and their password hash, or None."""
        async with self.engines.read.connect() as conn:
            row = (await conn.execute(select(users).where(users.c.email == email))).first()
        return None if row is None else (_user(row), row.password_hash)

    async def list_users(self, account_id: int | None = None) -> list[User]:
        """The users of one account, or (None) every user, oldest first."""
        query = select(users).order_by(users.c.id)
        if account_id is not None:
            query = query.where(users.c.account_id == account_id)
        async with self.engines.read.connect() as conn:
            return [_user(row) for row in await conn.execute(query)]

    async def set_user_active(self, user_id: int, active: bool) -> User:
        """Switch a user on or off; switching off ends every session of theirs at once."""
        async with self.engines.write.begin() as conn:
            await self._user(conn, user_id)
            await conn.execute(update(users).where(users.c.id == user_id).values(active=active))
            if not active:
                await conn.execute(delete(sessions).where(sessions.c.user_id == user_id))
            return await self._user(conn, user_id)

    async def set_password_hash(
        self, user_id: int, password_hash: str, *, keep_session: bytes | None
    ) -> None:
        """A new password hash; every session but `keep_session` (a digest) ends."""
        async with self.engines.write.begin() as conn:
            await self._user(conn, user_id)
            await conn.execute(
                update(users).where(users.c.id == user_id).values(password_hash=password_hash)
            )
            ended = delete(sessions).where(sessions.c.user_id == user_id)
            if keep_session is not None:
                ended = ended.where(sessions.c.digest != keep_session)
            await conn.execute(ended)

    async def rehash_password(self, user_id: int, password_hash: str) -> None:
        """Store a stronger hash of the same password (sessions stay)."""
        async with self.engines.write.begin() as conn:
            await conn.execute(
                update(users).where(users.c.id == user_id).values(password_hash=password_hash)
            )

    async def set_locale(self, user_id: int, locale: str) -> None:
        async with self.engines.write.begin() as conn:
            await conn.execute(update(users).where(users.c.id == user_id).values(locale=locale))

    async def _user(self, conn: AsyncConnection, user_id: int) -> User:
        row = (await conn.execute(select(users).where(users.c.id == user_id))).first()
        if row is None:
            raise NotFound(f"no user {user_id}")
        return _user(row)

    # sessions ---------------------------------------------------------------------------

    async def create_session(
        self, *, digest: bytes, user_id: int, now: datetime, expires_at: datetime
    ) -> None:
        """A new session; expired sessions of anyone are swept away on the way."""
        async with self.engines.write.begin() as conn:
            await conn.execute(delete(sessions).where(sessions.c.expires_at <= now))
            await conn.execute(
                insert(sessions).values(
                    digest=digest, user_id=user_id, created_at=now, expires_at=expires_at
                )
            )
            await conn.execute(
                update(users).where(users.c.id == user_id).values(last_sign_in_at=now)
            )

    async def keep_draft(
        self, *, digest: bytes, owner: bytes, sealed: bytes, now: datetime, expires_at: datetime
    ) -> None:
        """Keep a draft; expired drafts of anyone are swept away on the way."""
        async with self.engines.write.begin() as conn:
            await conn.execute(delete(panel_drafts).where(panel_drafts.c.expires_at <= now))
            await conn.execute(
                insert(panel_drafts).values(
                    digest=digest, owner=owner, sealed=sealed, expires_at=expires_at
                )
            )

    async def take_draft(self, *, digest: bytes, owner: bytes, now: datetime) -> bytes | None:
        """A live draft of this owner, removed as it is read (it is given back once), or None."""
        found = (
            (panel_drafts.c.digest == digest)
            & (panel_drafts.c.owner == owner)
            & (panel_drafts.c.expires_at > now)
        )
        async with self.engines.write.begin() as conn:
            row = (await conn.execute(select(panel_drafts.c.sealed).where(found))).first()
            if row is None:
                return None
            gone = await conn.execute(delete(panel_drafts).where(found))
        # Two readers at once: only the one whose DELETE took the row gets it.
        return bytes(row.sealed) if gone.rowcount == 1 else None

    async def session_user(self, digest: bytes, now: datetime) -> User | None:
        """The active user of a live session, or None."""
        query = (
            select(users)
            .join(sessions, sessions.c.user_id == users.c.id)
            .where(
                sessions.c.digest == digest,
                sessions.c.expires_at > now,
                users.c.active.is_(True),
            )
        )
        async with self.engines.read.connect() as conn:
            row = (await conn.execute(query)).first()
        return None if row is None else _user(row)

    async def delete_session(self, digest: bytes) -> None:
        async with self.engines.write.begin() as conn:
            await conn.execute(delete(sessions).where(sessions.c.digest == digest))

    # sign-in limits ---------------------------------------------------------------------

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
        Record, then decide, in one transaction: the rules' rows are locked (SQLite: the
        writer's BEGIN IMMEDIATE; PostgreSQL: one SELECT ... ORDER BY key FOR UPDATE, so
        every transaction takes them in the same order and none deadlocks) from their read
        to their write, so attempts sent at once are counted one after another and none is
        decided on a count that misses another. A transaction before it refuses what is
        locked already (so a stream of refused attempts makes no rows) and makes the rows
        that are missing. On the driver, in one hop to SQLite's thread each (store/raw.py):
        under a flood of sign-ins, a dozen SQLAlchemy statements a transaction held SQLite's
        one writer, and every SendQuickOTP behind it, for tens of milliseconds each
        (`bench/flood.py`).
        """

        async def prepare(tx: Tx) -> list[SignInRule]:
            applying = list(rules)
            if any(rule.unknown_only for rule in rules) and address:
                known = await tx.fetch(
                    "SELECT 1 FROM sign_in_addresses"
                    " WHERE email = ? AND address = ? AND last_at >= ?",
                    email,
                    address,
                    tx.time(known_since),
                )
                if known:
                    applying = [rule for rule in rules if not rule.unknown_only]
            keys = sorted(rule.key for rule in applying)
            for count in await _counts(tx, keys, lock=False):
                _refuse_if_locked(count, now)
            for key in keys:
                await tx.execute(
                    "INSERT INTO sign_in_limits (key, failures, last_at, locked_until)"
                    " VALUES (?, 0, ?, NULL) ON CONFLICT (key) DO NOTHING",
                    key,
                    tx.time(now),
                )
            return applying

        async def count(tx: Tx, applying: list[SignInRule]) -> SignInCount:
            found = {c.key: c for c in await _counts(tx, [r.key for r in applying], lock=True)}
            for held in found.values():
                _refuse_if_locked(held, now)  # locked by an attempt counted meanwhile
            for rule in sorted(applying, key=lambda rule: rule.key):
                current = found.get(rule.key)  # None: swept since it was made
                locked_until: datetime | None = None
                if current is None or _idle(current, now, window):
                    failures = 1
                else:
                    failures, locked_until = current.failures + 1, current.locked_until
                if failures >= rule.limit:
                    locked_until = now + _lock(rule, failures)
                await tx.execute(
                    "INSERT INTO sign_in_limits (key, failures, last_at, locked_until)"
                    " VALUES (?, ?, ?, ?) ON CONFLICT (key) DO UPDATE SET"
                    " failures = excluded.failures, last_at = excluded.last_at,"
                    " locked_until = excluded.locked_until",
                    rule.key,
                    failures,
                    tx.time(now),
                    tx.time(locked_until),
                )
            return SignInCount(keys=tuple(rule.key for rule in applying))

        try:
            applying = await write_transaction(self.engines, prepare)
            return await write_transaction(self.engines, lambda tx: count(tx, applying))
        except _Locked as locked:  # the transaction is rolled back: nothing was counted
            return SignInCount(wait=locked.seconds)

    async def uncount_sign_in(self, keys: Sequence[str]) -> None:
        async with self.engines.write.begin() as conn:
            await _uncount(conn, keys)

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
        async with self.engines.write.begin() as conn:
            # Key by key in key order, as count_sign_in locks them: neither waits on the other.
            for key in sorted({*uncounted, cleared}):
                if key == cleared:
                    await conn.execute(delete(sign_in_limits).where(sign_in_limits.c.key == key))
                else:
                    await _uncount(conn, [key])
            if address:
                dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
                await conn.execute(
                    dialect.insert(sign_in_addresses)
                    .values(email=email, address=address, last_at=now)
                    .on_conflict_do_update(
                        index_elements=["email", "address"], set_={"last_at": now}
                    )
                )
            await conn.execute(
                delete(sign_in_addresses).where(
                    sign_in_addresses.c.email == email, sign_in_addresses.c.last_at < known_since
                )
            )

    async def sweep_sign_in_limits(self, *, now: datetime, window: timedelta) -> None:
        """
        Drop the counts idle past `window` whose wait has passed. In a transaction of its
        own, holding no other row: a sweep that waited on a row an attempt holds while that
        attempt waits on one of the sweep's would deadlock.
        """
        async with self.engines.write.begin() as conn:
            await conn.execute(
                delete(sign_in_limits).where(
                    sign_in_limits.c.last_at < now - window,
                    (sign_in_limits.c.locked_until.is_(None))
                    | (sign_in_limits.c.locked_until <= now),
                )
            )

    # invitations ------------------------------------------------------------------------

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
    ) -> Invitation:
        async with self.engines.write.begin() as conn:
            if account_id is not None:
                await require_account(conn, account_id)
            new_id = await conn.scalar(
                insert(invitations)
                .values(
                    digest=digest,
                    email=email,
                    role=role,
                    account_id=account_id,
                    created_by=created_by,
                    created_at=now,
                    expires_at=expires_at,
                )
                .returning(invitations.c.id)
            )
            row = (await conn.execute(select(invitations).where(invitations.c.id == new_id))).one()
            return _invitation(row)

    async def find_invitation(self, digest: bytes, now: datetime) -> Invitation | None:
        """The unused, unexpired invitation behind this digest, or None."""
        query = select(invitations).where(
            invitations.c.digest == digest,
            invitations.c.used_at.is_(None),
            invitations.c.expires_at > now,
        )
        async with self.engines.read.connect() as conn:
            row = (await conn.execute(query)).first()
        return None if row is None else _invitation(row)

    async def list_invitations(self) -> list[Invitation]:
        async with self.engines.read.connect() as conn:
            rows = await conn.execute(select(invitations).order_by(invitations.c.id.desc()))
            return [_invitation(row) for row in rows]

    async def accept_invitation(
        self,
        *,
        digest: bytes,
        password_hash: str,
        new_account: str | None,
        sender: str,
        locale: str,
        now: datetime,
    ) -> User:
        """
        Use the invitation (once: a second use raises InvitationInvalid) and make its user,
        in one transaction. `new_account` names the account a USER invitation without one
        makes.
        """
        async with self.engines.write.begin() as conn:
            row = (
                await conn.execute(
                    update(invitations)
                    .where(
                        invitations.c.digest == digest,
                        invitations.c.used_at.is_(None),
                        invitations.c.expires_at > now,
                    )
                    .values(used_at=now)
                    .returning(*invitations.c)
                )
            ).first()
            if row is None:
                raise InvitationInvalid("this invitation is unknown, used or expired")
            invitation = _invitation(row)
            makes_account = invitation.role is Role.USER and invitation.account_id is None
            return await self._create_user(
                conn,
                email=invitation.email,
                password_hash=password_hash,
                role=invitation.role,
                account_id=invitation.account_id,
                new_account=new_account if makes_account else None,
                sender=sender,
                locale=locale,
                now=now,
            )

    # the audit log ----------------------------------------------------------------------

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
    ) -> None:
        async with self.engines.write.begin() as conn:
            await conn.execute(
                insert(audit_log).values(
                    actor_id=actor_id,
                    actor=actor,
                    action=action,
                    target=target,
                    detail=detail,
                    ip=ip,
                    created_at=now,
                )
            )

    async def list_audit(self, *, before: int | None, limit: int) -> list[AuditEntry]:
        """The newest entries first; `before` pages back from an entry id."""
        query = select(audit_log).order_by(audit_log.c.id.desc()).limit(limit)
        if before is not None:
            query = query.where(audit_log.c.id < before)
        async with self.engines.read.connect() as conn:
            return [_audit(row) for row in await conn.execute(query)]


class _Locked(Exception):
    """A sign-in limit is locked: leave the transaction (rolling back) with the wait."""

    def __init__(self, seconds: float) -> None:
        super().__init__(seconds)
        self.seconds = seconds


@dataclass(frozen=True)
class _Count:
    """A sign_in_limits row as read in a count's transaction."""

    key: str
    failures: int
    last_at: datetime
    locked_until: datetime | None


async def _counts(tx: Tx, keys: Sequence[str], *, lock: bool) -> list[_Count]:
    """The rows of `keys`, in key order; `lock`: locked in that order (PostgreSQL)."""
    if not keys:
        return []
    rows = await tx.fetch(
        "SELECT key, failures, last_at, locked_until FROM sign_in_limits"
        f" WHERE key IN ({marks(len(keys))}) ORDER BY key"
        + (" FOR UPDATE" if lock and tx.postgres else ""),
        *keys,
    )
    return [
        _Count(key, failures, tx.read_time(last_at), tx.read_time(until) if until else None)
        for key, failures, last_at, until in rows
    ]


def _refuse_if_locked(count: _Count, now: datetime) -> None:
    if count.locked_until is not None and count.locked_until > now:
        raise _Locked(max(1.0, (count.locked_until - now).total_seconds()))


def _idle(count: _Count, now: datetime, window: timedelta) -> bool:
    """No failure for `window` and no lock in force: the count starts again."""
    return count.last_at < now - window and (
        count.locked_until is None or count.locked_until <= now
    )


def _lock(rule: SignInRule, failures: int) -> timedelta:
    """The rule's wait after its `failures`th failure: doubling from first_lock, capped."""
    doublings = min(failures - rule.limit, 30)
    lock: timedelta = rule.first_lock * 2**doublings
    return min(rule.longest_lock, lock)


async def _uncount(conn: AsyncConnection, keys: Sequence[str]) -> None:
    """One count back for each key, in key order (the order count_sign_in locks them in)."""
    for key in sorted(keys):
        await conn.execute(
            update(sign_in_limits)
            .where(sign_in_limits.c.key == key, sign_in_limits.c.failures > 0)
            .values(failures=sign_in_limits.c.failures - 1)
        )


def _user(row: Row[Any]) -> User:
    return record(User, row, role=Role(row.role))


def _invitation(row: Row[Any]) -> Invitation:
    return record(Invitation, row, role=Role(row.role))


def _audit(row: Row[Any]) -> AuditEntry:
    return record(AuditEntry, row)
