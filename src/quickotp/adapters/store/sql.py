"""
The Store on SQL: one implementation for SQLite and PostgreSQL, in SQLAlchemy Core.

Every write that a caller waits on is one transaction; the hot ones (accepting OTPs,
recording submits and delivery reports) take a batch so a group committer can share one
commit among many requests.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from functools import partial
from typing import Any, Protocol, TypeVar

import orjson
from sqlalchemy import case, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from quickotp.adapters.store.engine import Engines
from quickotp.adapters.store.raw import Tx, marks, write_transaction
from quickotp.adapters.store.rows import (
    ACCOUNT_FIELDS,
    account_from,
    masked_message,
    message_from,
    pattern_from,
    token_from,
    verification_from,
)
from quickotp.adapters.store.schema import (
    OUTBOX_CHANNEL,
    account_settings,
    accounts,
    credit_changes,
    messages,
    patterns,
    tokens,
    verifications,
)
from quickotp.adapters.store.webhooks import enqueue_reported
from quickotp.domain import otp
from quickotp.domain.delivery import DeliveryReport, DeliveryState
from quickotp.domain.errors import Conflict, InvalidInput, NotFound, PatternLimitReached
from quickotp.domain.models import (
    Account,
    Claimed,
    GiveUp,
    Message,
    MessageStatus,
    NewMessage,
    Pattern,
    PatternState,
    Retry,
    Submitted,
    Token,
    Verification,
    VerificationStatus,
)

T = TypeVar("T")

RECONCILE_BATCH = 500  # parked reports matched in one transaction


class WriteTransactions(Protocol):
    """How the store runs a batch of hot statements in one write transaction (raw.py)."""

    async def __call__(self, engines: Engines, work: Callable[[Tx], Awaitable[T]]) -> T: ...


# What a delivery report does to a message that an upstream has taken.
_STATUS_FOR_REPORT = {
    DeliveryState.DELIVERED: MessageStatus.DELIVERED,
    DeliveryState.UNDELIVERED: MessageStatus.UNDELIVERED,
    DeliveryState.EXPIRED: MessageStatus.UNDELIVERED,
    DeliveryState.REJECTED: MessageStatus.UNDELIVERED,
}
# Final states a late or repeated report must not undo.
_FINAL = (MessageStatus.DELIVERED, MessageStatus.UNDELIVERED)


class SqlStore:
    """Accounts, tokens, patterns, messages and verifications in one SQL database."""

    def __init__(
        self,
        engines: Engines,
        *,
        reconcile_batch: int = RECONCILE_BATCH,
        transactions: WriteTransactions = write_transaction,
    ) -> None:
        """
        `reconcile_batch`: parked reports matched in one transaction; `transactions` runs
        the hot path's write transactions (accept, claim, outcomes and reports, reconcile).
        """
        self.engines = engines
        self.reconcile_batch = reconcile_batch
        self._transactions = transactions
        self._postgres = engines.dialect == "postgresql"

    # accounts -------------------------------------------------------------------------

    async def create_account(
        self, *, name: str, credit: int, unlimited: bool, sender: str, now: datetime
    ) -> Account:
        async with self.engines.write.begin() as conn:
            taken = await conn.scalar(select(accounts.c.id).where(accounts.c.name == name))
            if taken is not None:
                raise Conflict(f"an account named {name!r} exists already")
            new_id = await conn.scalar(
                insert(accounts)
                .values(
                    name=name,
                    credit=credit,
                    unlimited=unlimited,
                    sender=sender,
                    active=True,
                    created_at=now,
                )
                .returning(accounts.c.id)
            )
            if credit:
                await conn.execute(
                    insert(credit_changes).values(
                        account_id=new_id, amount=credit, reason="opening credit", created_at=now
                    )
                )
            return await self._account(conn, int(new_id))

    async def get_account(self, account_id: int) -> Account:
        async with self.engines.read.connect() as conn:
            return await self._account(conn, account_id)

    async def list_accounts(self) -> list[Account]:
        async with self.engines.read.connect() as conn:
            rows = await conn.execute(select(accounts).order_by(accounts.c.id))
            return [account_from(row) for row in rows]

    async def lowest_credits(self, limit: int) -> list[Account]:
        """The `limit` active, limited accounts with the least credit, least first."""
        query = (
            select(accounts)
            .where(accounts.c.active, ~accounts.c.unlimited)
            .order_by(accounts.c.credit, accounts.c.id)
            .limit(limit)
        )
        async with self.engines.read.connect() as conn:
            return [account_from(row) for row in await conn.execute(query)]

    async def add_credit(
        self, account_id: int, amount: int, reason: str, now: datetime, *, ceiling: int
    ) -> Account:
        """Add `amount`; InvalidInput (nothing stored) when the credit would pass `ceiling`."""
        async with self.engines.write.begin() as conn:
            await self._account(conn, account_id)
            done = await conn.execute(
                update(accounts)
                .where(accounts.c.id == account_id, accounts.c.credit + amount <= ceiling)
                .values(credit=accounts.c.credit + amount)
            )
            if done.rowcount != 1:  # one statement: two adds at once cannot both pass it
                raise InvalidInput(f"a credit is at most {ceiling:,} rial")
            await conn.execute(
                insert(credit_changes).values(
                    account_id=account_id, amount=amount, reason=reason, created_at=now
                )
            )
            return await self._account(conn, account_id)

    async def set_account_active(self, account_id: int, active: bool) -> Account:
        async with self.engines.write.begin() as conn:
            await self._account(conn, account_id)
            await conn.execute(
                update(accounts).where(accounts.c.id == account_id).values(active=active)
            )
            return await self._account(conn, account_id)

    async def _account(self, conn: AsyncConnection, account_id: int) -> Account:
        row = (await conn.execute(select(accounts).where(accounts.c.id == account_id))).first()
        if row is None:
            raise NotFound(f"no account {account_id}")
        return account_from(row)

    # tokens ---------------------------------------------------------------------------

    async def create_token(
        self,
        *,
        account_id: int,
        digest: bytes,
        label: str,
        expires_at: datetime | None,
        allowed_ips: Sequence[str],
        allowed_methods: Sequence[str],
        now: datetime,
    ) -> Token:
        async with self.engines.write.begin() as conn:
            await self._account(conn, account_id)
            new_id = await conn.scalar(
                insert(tokens)
                .values(
                    account_id=account_id,
                    digest=digest,
                    label=label,
                    active=True,
                    expires_at=expires_at,
                    allowed_ips=" ".join(allowed_ips),
                    allowed_methods=" ".join(allowed_methods),
                    created_at=now,
                )
                .returning(tokens.c.id)
            )
            row = (await conn.execute(select(tokens).where(tokens.c.id == new_id))).one()
            return token_from(row)

    async def find_token(self, digest: bytes) -> tuple[Token, Account] | None:
        """The token with this keyed hash and its account, or None."""
        query = (
            select(tokens, *(column.label(f"acct__{column.name}") for column in accounts.c))
            .join(accounts, accounts.c.id == tokens.c.account_id)
            .where(tokens.c.digest == digest)
        )
        async with self.engines.read.connect() as conn:
            row = (await conn.execute(query)).first()
        if row is None:
            return None
        fields = row._mapping
        account = Account(**{name: fields[f"acct__{name}"] for name in ACCOUNT_FIELDS})
        return token_from(row), account

    async def set_token_active(self, token_id: int, active: bool) -> None:
        async with self.engines.write.begin() as conn:
            done = await conn.execute(
                update(tokens).where(tokens.c.id == token_id).values(active=active)
            )
            if done.rowcount == 0:
                raise NotFound(f"no token {token_id}")

    # patterns -------------------------------------------------------------------------

    async def create_pattern(
        self,
        *,
        account_id: int,
        text: str,
        is_otp: bool,
        number_patterns: Sequence[str],
        description: str,
        now: datetime,
        max_pending: int | None = None,
    ) -> Pattern:
        async with self.engines.write.begin() as conn:
            if max_pending is None:
                await self._account(conn, account_id)
            else:
                # The account's row locked (SQLite: the writer holds every row), so two
                # submissions at once cannot both pass a count taken before either wrote.
                locked = select(accounts.c.id).where(accounts.c.id == account_id)
                if await conn.scalar(locked.with_for_update()) is None:
                    raise NotFound(f"no account {account_id}")
                pending = await conn.scalar(
                    select(func.count())
                    .select_from(patterns)
                    .where(
                        patterns.c.account_id == account_id,
                        patterns.c.state == PatternState.PENDING,
                    )
                )
                if (pending or 0) >= max_pending:
                    raise PatternLimitReached(
                        f"{pending} patterns of this account await approval: at most {max_pending}"
                    )
            new_id = await conn.scalar(
                insert(patterns)
                .values(
                    account_id=account_id,
                    text=text,
                    is_otp=is_otp,
                    number_patterns=" ".join(number_patterns),
                    state=PatternState.PENDING,
                    reason="",
                    description=description,
                    created_at=now,
                )
                .returning(patterns.c.id)
            )
            return await self._pattern(conn, int(new_id))

    async def get_pattern(self, pattern_id: int) -> Pattern:
        async with self.engines.read.connect() as conn:
            return await self._pattern(conn, pattern_id)

    async def list_patterns(self, account_id: int | None = None) -> list[Pattern]:
        query = select(patterns).order_by(patterns.c.id)
        if account_id is not None:
            query = query.where(patterns.c.account_id == account_id)
        async with self.engines.read.connect() as conn:
            return [pattern_from(row) for row in await conn.execute(query)]

    async def pattern_text_taken(self, account_id: int, text: str) -> bool:
        query = select(patterns.c.id).where(
            patterns.c.account_id == account_id, patterns.c.text == text
        )
        async with self.engines.read.connect() as conn:
            return (await conn.scalar(query)) is not None

    async def decide_pattern(
        self, pattern_id: int, state: PatternState, reason: str, now: datetime
    ) -> Pattern:
        async with self.engines.write.begin() as conn:
            await self._pattern(conn, pattern_id)
            await conn.execute(
                update(patterns)
                .where(patterns.c.id == pattern_id)
                .values(state=state, reason=reason, decided_at=now)
            )
            return await self._pattern(conn, pattern_id)

    async def otp_pattern(self, account_id: int) -> Pattern | None:
        """The account's newest approved OTP pattern, if it has one."""
        query = (
            select(patterns)
            .where(
                patterns.c.account_id == account_id,
                patterns.c.is_otp.is_(True),
                patterns.c.state == PatternState.APPROVED,
            )
            .order_by(patterns.c.decided_at.desc(), patterns.c.id.desc())
            .limit(1)
        )
        async with self.engines.read.connect() as conn:
            row = (await conn.execute(query)).first()
        return None if row is None else pattern_from(row)

    async def _pattern(self, conn: AsyncConnection, pattern_id: int) -> Pattern:
        row = (await conn.execute(select(patterns).where(patterns.c.id == pattern_id))).first()
        if row is None:
            raise NotFound(f"no pattern {pattern_id}")
        return pattern_from(row)

    # accepting OTPs -------------------------------------------------------------------

    async def accept(self, batch: Sequence[NewMessage], now: datetime) -> list[int | None]:
        """
        Store each message with its verification and charge its account, in one transaction.

        Returns, per item, the new message id, or None where the account's credit did not
        cover it (that item is not stored). Items are charged in order.
        """

        async def work(tx: Tx) -> list[int | None]:
            balances = await _balances(tx, sorted({item.account_id for item in batch}))
            spent: dict[int, int] = defaultdict(int)
            taken: list[NewMessage] = []
            for item in batch:
                credit, unlimited = balances[item.account_id]
                if unlimited or credit - spent[item.account_id] >= item.cost:
                    spent[item.account_id] += 0 if unlimited else item.cost
                    taken.append(item)
            await tx.executemany(
                "UPDATE accounts SET credit = credit - ? WHERE id = ?",
                [(amount, account_id) for account_id, amount in spent.items() if amount],
            )
            ids = await tx.new_ids("messages", len(taken)) if taken else []
            if taken:
                await tx.executemany(
                    _INSERT_MESSAGE,
                    [
                        _message_row(tx, item, message_id, charged=not balances[item.account_id][1])
                        for item, message_id in zip(taken, ids, strict=True)
                    ],
                )
                await _link_verifications(tx, taken, ids)
                stamp = tx.time(now)
                await tx.executemany(
                    "UPDATE tokens SET last_used_at = ? WHERE id = ?",
                    [(stamp, token_id) for token_id in sorted(_token_ids(taken))],
                )
                if tx.postgres and any(item.lease_until is None for item in taken):
                    # Wakes dispatchers in every process, at commit (leased ones are held).
                    await tx.execute("SELECT pg_notify(?, '')", OUTBOX_CHANNEL)
            by_item = dict(zip(map(id, taken), ids, strict=True))
            return [by_item.get(id(item)) for item in batch]

        return await self._transactions(self.engines, work)

    # verifications --------------------------------------------------------------------

    async def get_verification(self, account_id: int, verification_id: str) -> Verification | None:
        """The account's verification with this id; another account's is simply absent."""
        query = select(verifications).where(
            verifications.c.id == verification_id, verifications.c.account_id == account_id
        )
        async with self.engines.read.connect() as conn:
            row = (await conn.execute(query)).first()
        return None if row is None else verification_from(row)

    async def latest_verification(self, account_id: int, mobile: str) -> Verification | None:
        """The account's newest verification for `mobile` (E.164 digits), if any."""
        query = (
            select(verifications)
            .where(verifications.c.account_id == account_id, verifications.c.mobile == mobile)
            .order_by(verifications.c.created_at.desc(), verifications.c.message_id.desc())
            .limit(1)
        )
        async with self.engines.read.connect() as conn:
            row = (await conn.execute(query)).first()
        return None if row is None else verification_from(row)

    async def approve_verification(self, verification_id: str, now: datetime) -> bool:
        """
        Pending, unexpired and with attempts left -> approved, in one conditional UPDATE:
        of any number of concurrent calls, at most one returns True.
        """
        async with self.engines.write.begin() as conn:
            done = await conn.execute(
                update(verifications)
                .where(verifications.c.id == verification_id, *_checkable(now))
                .values(status=VerificationStatus.APPROVED, code_sealed=None, updated_at=now)
            )
        return done.rowcount == 1

    async def spend_attempt(self, verification_id: str, now: datetime) -> int | None:
        """
        Count one wrong code against a checkable verification, in one conditional UPDATE:
        the attempts left after it (at 0 it becomes max_attempts_reached), or None when
        the verification was not checkable.
        """
        async with self.engines.write.begin() as conn:
            row = (
                await conn.execute(
                    update(verifications)
                    .where(verifications.c.id == verification_id, *_checkable(now))
                    .values(
                        attempts_left=verifications.c.attempts_left - 1,
                        status=case(
                            (
                                verifications.c.attempts_left <= 1,
                                VerificationStatus.MAX_ATTEMPTS_REACHED.value,
                            ),
                            else_=VerificationStatus.PENDING.value,
                        ),
                        code_sealed=case(
                            (verifications.c.attempts_left <= 1, None),
                            else_=verifications.c.code_sealed,
                        ),
                        updated_at=now,
                    )
                    .returning(verifications.c.attempts_left)
                )
            ).first()
        return None if row is None else int(row.attempts_left)

    async def close_verification(
        self, verification_id: str, status: VerificationStatus, now: datetime
    ) -> bool:
        """A pending verification -> `status` (canceled, expired); False if it was not pending."""
        async with self.engines.write.begin() as conn:
            done = await conn.execute(
                update(verifications)
                .where(
                    verifications.c.id == verification_id,
                    verifications.c.status == VerificationStatus.PENDING,
                )
                .values(status=status, code_sealed=None, updated_at=now)
            )
        return done.rowcount == 1

    # per-account settings -------------------------------------------------------------

    async def get_account_settings(self, account_id: int) -> dict[str, Any]:
        """The account's own settings (fraud-guard overrides); {} when it has none."""
        query = select(account_settings.c.settings).where(
            account_settings.c.account_id == account_id
        )
        async with self.engines.read.connect() as conn:
            text = await conn.scalar(query)
        if not text:
            return {}
        loaded = orjson.loads(text)
        return loaded if isinstance(loaded, dict) else {}

    async def set_account_settings(
        self, account_id: int, settings: Mapping[str, Any], now: datetime
    ) -> None:
        """Replace the account's own settings."""
        text = orjson.dumps(dict(settings)).decode()
        async with self.engines.write.begin() as conn:
            await self._account(conn, account_id)
            done = await conn.execute(
                update(account_settings)
                .where(account_settings.c.account_id == account_id)
                .values(settings=text, updated_at=now)
            )
            if done.rowcount == 0:
                await conn.execute(
                    insert(account_settings).values(
                        account_id=account_id, settings=text, updated_at=now
                    )
                )

    # reading messages -----------------------------------------------------------------

    async def get_messages(self, account_id: int, ids: Sequence[int]) -> dict[int, Message]:
        """The account's messages among `ids`; another account's ids are simply absent."""
        query = select(messages).where(
            messages.c.account_id == account_id, messages.c.id.in_(list(ids))
        )
        async with self.engines.read.connect() as conn:
            return {row.id: message_from(row) for row in await conn.execute(query)}

    async def list_messages(self, account_id: int | None, limit: int) -> list[Message]:
        """The newest messages, codes masked (a code not yet handed on is masked here)."""
        query = select(messages).order_by(messages.c.id.desc()).limit(limit)
        if account_id is not None:
            query = query.where(messages.c.account_id == account_id)
        async with self.engines.read.connect() as conn:
            return [masked_message(row) for row in await conn.execute(query)]

    async def message_by_ref(self, account_id: int, ref: str) -> Message | None:
        """The account's message stored for the request `ref` (see NewMessage.ref)."""
        query = select(messages).where(messages.c.account_id == account_id, messages.c.ref == ref)
        async with self.engines.read.connect() as conn:
            row = (await conn.execute(query.limit(1))).first()
        return None if row is None else message_from(row)

    # dispatching ----------------------------------------------------------------------

    async def next_due(self) -> datetime | None:
        """
        When the earliest queued message falls due (a scheduled send, or a retry), if any:
        the dispatcher sleeps until then. One step down ix_messages_due.
        """
        async with self.engines.read.connect() as conn:
            found: datetime | None = await conn.scalar(NEXT_DUE)
        return found

    async def claim(self, now: datetime, lease: timedelta, limit: int) -> list[Claimed]:
        """
        Lease up to `limit` due messages to this dispatcher, oldest first.

        Due: queued and past its next attempt time, or sending under a lease that ran out
        (its dispatcher died). The latter may have reached the upstream already, so it is
        marked a possible duplicate. Attempts count up here, before anything is sent.
        """
        lock = " FOR UPDATE SKIP LOCKED" if self._postgres else ""

        async def work(tx: Tx) -> list[Claimed]:
            rows = await tx.fetch(
                CLAIM_DUE.format(lock=lock),
                MessageStatus.SENDING.value,
                tx.time(now + lease),
                MessageStatus.SENDING.value,
                MessageStatus.QUEUED.value,
                tx.time(now),
                MessageStatus.SENDING.value,
                tx.time(now),
                limit,
            )
            return [_claimed(tx, row) for row in rows]

        claimed = await self._transactions(self.engines, work)  # one per batch of sends
        return sorted(claimed, key=lambda c: c.message.id)

    async def record(
        self,
        outcomes: Sequence[Submitted | Retry | GiveUp] = (),
        reports: Sequence[DeliveryReport] = (),
        *,
        now: datetime,
    ) -> list[tuple[int, DeliveryReport]]:
        """
        What the dispatcher's attempts came to, then the delivery reports that came in, in
        one transaction: outcomes first, so that a report which came after its submit's
        answer finds its message (a report recorded before its outcome would have to be
        parked and applied again with the outcome: twice the dispatcher's database work).
        Returns the reports applied to a message (not parked), with its id.
        """

        async def work(tx: Tx) -> list[tuple[int, DeliveryReport]]:
            if outcomes:
                await _record_outcomes(tx, outcomes)
            return await _record_reports(tx, reports, now) if reports else []

        return await self._transactions(self.engines, work)

    async def reconcile_reports(self, now: datetime, keep: timedelta) -> int:
        """
        Match parked reports whose submit has since been recorded, and drop those older
        than `keep`. Covers the race in which a report and its submit commit side by side.
        Returns how many reports were matched.

        Through the hot path's writer, `reconcile_batch` reports a transaction: on SQLite a
        checkout of the writer connection from the pool waits for the hot path's run to end,
        a few hundred milliseconds under load (`bench/e2e_smpp.py`).
        """
        matched = 0
        while True:
            batch = partial(_reconcile, now=now, keep=keep, limit=self.reconcile_batch)
            done = await self._transactions(self.engines, batch)
            matched += done
            if done < self.reconcile_batch:
                return matched


def _checkable(now: datetime) -> tuple[Any, ...]:
    return (
        verifications.c.status == VerificationStatus.PENDING,
        verifications.c.attempts_left > 0,
        verifications.c.expires_at > now,
    )


# the hot statements, on the driver (store/raw.py says why) ---------------------------------

_MESSAGE_COLUMNS = (
    "id, account_id, token_id, pattern_id, mobile, sender, text, code, encoding, parts, cost,"
    " charged, status, attempts, possible_duplicate, next_attempt_at, expires_at, created_at,"
    " transport, submitted_at, reported_at, lease_until, not_before, backup_sender, ref"
)
_INSERT_MESSAGE = f"INSERT INTO messages ({_MESSAGE_COLUMNS}) VALUES ({marks(25)})"
_INSERT_VERIFICATION = (
    "INSERT INTO verifications (id, account_id, message_id, mobile, code_digest, status,"
    " attempts_left, expires_at, created_at, updated_at, code_sealed, sandbox, metadata)"
    f" VALUES ({marks(13)})"
)
_CLAIMED_COLUMNS = (
    "id, account_id, mobile, sender, text, encoding, parts, cost, status, attempts,"
    " possible_duplicate, expires_at, created_at, submitted_at, reported_at, transport,"
    " provider_message_id, error, code, backup_sender"
)
_PENDING = VerificationStatus.PENDING.value
_CANCELED = VerificationStatus.CANCELED.value
# The hot path's lookups by provider id, by transport first: the index's leading column.
# Without it the lookup read the whole index, and every report batch slowed as the table grew
# (tests/store/test_query_plans.py keeps these on their indexes).
REPORTED_MESSAGES = (
    "SELECT id, provider_message_id FROM messages"
    " WHERE transport = ? AND provider_message_id IN ({ids})"
)
MATCHED_ORPHANS = (
    "SELECT o.id, o.state, o.reported_at, m.id FROM orphan_reports o"
    " JOIN messages m ON m.transport = o.transport"
    " AND m.provider_message_id = o.provider_message_id"
    " ORDER BY o.reported_at, o.id LIMIT ?{lock}"
)
# When the earliest queued message falls due: one step down ix_messages_due.
NEXT_DUE = select(func.min(messages.c.next_attempt_at)).where(
    messages.c.status == MessageStatus.QUEUED.value
)
# A claim: due messages (queued and past their next attempt, which a scheduled message's send
# time is) or lapsed leases, along ix_messages_due (tests/store/test_query_plans.py).
CLAIM_DUE = (
    "UPDATE messages SET status = ?, lease_until = ?, attempts = attempts + 1,"
    " possible_duplicate = (possible_duplicate OR status = ?)"
    " WHERE id IN (SELECT id FROM messages"
    "  WHERE (status = ? AND next_attempt_at <= ?) OR (status = ? AND lease_until < ?)"
    "  ORDER BY next_attempt_at, id LIMIT ?{lock})"
    f" RETURNING {_CLAIMED_COLUMNS}"
)
PARKED_REPORTS = (
    "SELECT id, transport, provider_message_id, state, reported_at FROM orphan_reports"
    " WHERE transport = ? AND provider_message_id IN ({ids})"
)
_APPLY_REPORT = (
    "UPDATE messages SET status = ?, reported_at = ? WHERE id = ? AND status <> ? AND status <> ?"
)


async def _balances(tx: Tx, account_ids: Sequence[int]) -> dict[int, tuple[int, bool]]:
    lock = " FOR UPDATE" if tx.postgres else ""  # SQLite: BEGIN IMMEDIATE locked it all
    rows = await tx.fetch(
        f"SELECT id, credit, unlimited FROM accounts WHERE id IN ({marks(len(account_ids))}){lock}",
        *account_ids,
    )
    return {row[0]: (row[1], bool(row[2])) for row in rows}


def _message_row(tx: Tx, item: NewMessage, message_id: int, *, charged: bool) -> tuple[Any, ...]:
    created = tx.time(item.created_at)
    if item.sandbox:  # a test number's message: delivered at once, by no transport
        status, code, transport, submitted, reported = (
            MessageStatus.DELIVERED.value,
            None,
            "sandbox",
            created,
            created,
        )
    else:
        status, code, transport, submitted, reported = (
            MessageStatus.QUEUED.value if item.lease_until is None else MessageStatus.SENDING.value,
            item.code,
            None,
            None,
            None,
        )
    return (
        message_id,
        item.account_id,
        item.token_id,
        item.pattern_id,
        item.mobile,
        item.sender,
        item.text,
        code,
        item.encoding,
        item.parts,
        item.cost,
        item.cost if charged else 0,
        status,
        0 if item.lease_until is None else 1,  # a leased message is on its first attempt
        False,
        created if item.not_before is None else tx.time(item.not_before),  # next_attempt_at
        tx.time(item.expires_at),
        created,
        transport,
        submitted,
        reported,
        tx.time(item.lease_until),
        tx.time(item.not_before),
        item.backup_sender,
        item.ref,
    )


def _verification_row(tx: Tx, item: NewMessage, message_id: int) -> tuple[Any, ...]:
    created = tx.time(item.created_at)
    return (
        item.verification_id,
        item.account_id,
        message_id,
        item.mobile,
        item.code_digest,
        _PENDING,
        item.attempts_left,
        tx.time(item.expires_at),
        created,
        created,  # updated_at
        item.code_sealed,
        item.sandbox,
        item.metadata,
    )


async def _link_verifications(tx: Tx, items: Sequence[NewMessage], ids: Sequence[int]) -> None:
    """
    A new verification per message that carries a code, canceling the number's pending one
    from the same account; a re-send of the same code points its pending verification at
    the new message. Messages without a verification (free text, plain patterns) are skipped.
    """
    pairs = [
        (item, message_id)
        for item, message_id in zip(items, ids, strict=True)
        if item.verification_id is not None
    ]
    await tx.executemany(
        "UPDATE verifications SET message_id = ?, updated_at = ? WHERE id = ? AND status = ?",
        [
            (message_id, tx.time(item.created_at), item.resend_of, _PENDING)
            for item, message_id in pairs
            if item.resend_of
        ],
    )
    fresh = [(item, message_id) for item, message_id in pairs if not item.resend_of]
    if not fresh:
        return
    now = tx.time(max(item.created_at for item, _ in fresh))
    await tx.executemany(
        "UPDATE verifications SET status = ?, code_sealed = NULL, updated_at = ?"
        " WHERE account_id = ? AND mobile = ? AND status = ?",
        [
            (_CANCELED, now, account_id, mobile, _PENDING)
            for account_id, mobile in sorted({(item.account_id, item.mobile) for item, _ in fresh})
        ],
    )
    await tx.executemany(
        _INSERT_VERIFICATION,
        [_verification_row(tx, item, message_id) for item, message_id in fresh],
    )
    # Two sends to one number in one batch: the later one wins, as if they came apart.
    last = {(item.account_id, item.mobile): item.verification_id for item, _ in fresh}
    replaced = [
        item.verification_id
        for item, _ in fresh
        if item.verification_id is not None
        and last[(item.account_id, item.mobile)] != item.verification_id
    ]
    if replaced:
        await tx.execute(
            "UPDATE verifications SET status = ?, code_sealed = NULL"
            f" WHERE id IN ({marks(len(replaced))})",
            _CANCELED,
            *replaced,
        )


async def _record_outcomes(tx: Tx, outcomes: Sequence[Submitted | Retry | GiveUp]) -> None:
    """Write what the dispatcher's attempts came to."""
    submitted = [o for o in outcomes if isinstance(o, Submitted)]
    retries = [o for o in outcomes if isinstance(o, Retry)]
    # One executemany per batch on the driver: see store/raw.py.
    await tx.executemany(
        "UPDATE messages SET status = ?, transport = ?, provider_message_id = ?,"
        " submitted_at = ?, lease_until = NULL, text = ?, code = NULL, error = NULL"
        " WHERE id = ?",
        [
            (
                MessageStatus.SENT.value,
                o.receipt.transport,
                o.receipt.provider_message_id,
                tx.time(o.at),
                o.masked_text,
                o.message_id,
            )
            for o in submitted
        ],
    )
    # Sent on the backup line (rare): the message records the line it went out on.
    await tx.executemany(
        "UPDATE messages SET sender = ? WHERE id = ?",
        [(o.sender, o.message_id) for o in submitted if o.sender is not None],
    )
    if submitted:
        await _apply_early_reports(tx, submitted)
    await tx.executemany(
        "UPDATE messages SET status = ?, next_attempt_at = ?, lease_until = NULL,"
        " error = ?, possible_duplicate = (possible_duplicate OR ?) WHERE id = ?",
        [
            (
                MessageStatus.QUEUED.value,
                tx.time(r.at),
                r.error,
                r.possible_duplicate,
                r.message_id,
            )
            for r in retries
        ],
    )
    for outcome in outcomes:
        if isinstance(outcome, GiveUp):
            await _give_up(tx, outcome)


async def _record_reports(
    tx: Tx, reports: Sequence[DeliveryReport], now: datetime
) -> list[tuple[int, DeliveryReport]]:
    """
    Apply delivery reports to their messages. A report that overtook its submit's answer
    finds no message yet: it is parked and applied when the submit is recorded. Returns the
    reports applied, with their messages' ids.
    """
    found: dict[tuple[str, str], int] = {}
    keys = ((r.transport, r.provider_message_id) for r in reports)
    for transport, provider_ids in _by_transport(keys).items():
        for message_id, provider_id in await tx.fetch(
            REPORTED_MESSAGES.format(ids=marks(len(provider_ids))), transport, *provider_ids
        ):
            found[(transport, provider_id)] = message_id
    matched = []
    parked = []
    for report in reports:
        message_id = found.get((report.transport, report.provider_message_id))
        if message_id is None:
            parked.append(report)
        elif report.state in _STATUS_FOR_REPORT:
            matched.append((message_id, report))
    await tx.executemany(
        _APPLY_REPORT,
        [
            (
                _STATUS_FOR_REPORT[report.state].value,
                tx.time(report.at),
                message_id,
                *_FINAL,
            )
            for message_id, report in matched
        ],
    )
    # A report applied is a webhook owed to the client, in this transaction.
    await enqueue_reported(tx, [message_id for message_id, _ in matched], now)
    await tx.executemany(
        "INSERT INTO orphan_reports"
        " (transport, provider_message_id, state, reported_at, received_at)"
        " VALUES (?, ?, ?, ?, ?)",
        [
            (r.transport, r.provider_message_id, r.state.value, tx.time(r.at), tx.time(now))
            for r in parked
        ],
    )
    return matched


def _by_transport(keys: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
    """(transport, provider id) pairs as each transport's ids, sorted, for IN-list lookups."""
    grouped: dict[str, list[str]] = defaultdict(list)
    for transport, provider_id in sorted(set(keys)):
        grouped[transport].append(provider_id)
    return grouped


async def _reconcile(tx: Tx, *, now: datetime, keep: timedelta, limit: int) -> int:
    """One batch of `reconcile_reports`, `limit` at most: how many parked reports it matched."""
    # On PostgreSQL every dispatcher sweeps: each takes the parked reports no other holds.
    lock = " FOR UPDATE OF o SKIP LOCKED" if tx.postgres else ""
    matched = await tx.fetch(MATCHED_ORPHANS.format(lock=lock), limit)
    await _apply_parked(tx, [(o, m, state, tx.read_time(at)) for o, state, at, m in matched], now)
    await tx.execute("DELETE FROM orphan_reports WHERE received_at < ?", tx.time(now - keep))
    return len(matched)


async def _apply_parked(
    tx: Tx, parked: Sequence[tuple[int, int, str, datetime]], owed_at: datetime
) -> None:
    """
    Parked reports, as (orphan id, message id, state, reported at), applied to their
    messages in the order they were reported, owed as webhooks from `owed_at`, unparked.
    """
    if not parked:
        return
    in_order = sorted(parked, key=lambda p: p[3])
    for _, message_id, state, at in in_order:
        await _apply_report(tx, message_id, DeliveryState(state), at)
    await enqueue_reported(tx, [p[1] for p in in_order], owed_at)
    await tx.execute(
        f"DELETE FROM orphan_reports WHERE id IN ({marks(len(parked))})", *(p[0] for p in parked)
    )


async def _apply_early_reports(tx: Tx, submitted: Sequence[Submitted]) -> None:
    """Reports that overtook their submit were parked: apply them now. Usually none."""
    by_key = {(o.receipt.transport, o.receipt.provider_message_id): o for o in submitted}
    early = [
        row
        for transport, provider_ids in _by_transport(by_key).items()
        for row in await tx.fetch(  # by transport first: see _record_reports
            PARKED_REPORTS.format(ids=marks(len(provider_ids))),
            transport,
            *provider_ids,
        )
    ]
    parked = [
        (orphan_id, by_key[(transport, provider_id)].message_id, state, tx.read_time(at))
        for orphan_id, transport, provider_id, state, at in early
    ]
    if parked:  # webhooks owed as of the latest report applied
        await _apply_parked(tx, parked, max(p[3] for p in parked))


async def _apply_report(tx: Tx, message_id: int, state: DeliveryState, at: datetime) -> None:
    status = _STATUS_FOR_REPORT.get(state)
    if status is None:  # an intermediate report: nothing final to record
        return
    await tx.execute(_APPLY_REPORT, status.value, tx.time(at), message_id, *_FINAL)


async def _give_up(tx: Tx, outcome: GiveUp) -> None:
    """
    A message that will not be sent: final, its code masked in its text and dropped (the
    code is kept only to mask it, so a final message without it must already be masked),
    its charge refunded.
    """
    lock = " FOR UPDATE" if tx.postgres else ""
    rows = await tx.fetch(
        "SELECT account_id, charged, text, code FROM messages"
        f" WHERE id = ? AND status IN (?, ?){lock}",
        outcome.message_id,
        MessageStatus.QUEUED.value,
        MessageStatus.SENDING.value,
    )
    if not rows:  # already final: a repeated outcome changes nothing
        return
    [(account_id, charged, text, code)] = rows
    # The code leaves the row, so it leaves the text too: with the code column gone, nothing
    # could mask it when the message is read later (panel, GetMessage).
    await tx.execute(
        "UPDATE messages SET status = ?, lease_until = NULL, text = ?, code = NULL, error = ?,"
        " charged = 0 WHERE id = ?",
        outcome.status.value,
        otp.mask(text, code) if code else text,
        outcome.error,
        outcome.message_id,
    )
    if charged:
        await tx.execute(
            "UPDATE accounts SET credit = credit + ? WHERE id = ?", charged, account_id
        )


def _token_ids(items: Sequence[NewMessage]) -> set[int]:
    return {item.token_id for item in items if item.token_id is not None}


def _claimed(tx: Tx, row: tuple[Any, ...]) -> Claimed:
    """A row of _CLAIMED_COLUMNS."""

    def moment(value: Any) -> datetime | None:
        return None if value is None else tx.read_time(value)

    expires_at, created_at = tx.read_time(row[11]), tx.read_time(row[12])
    message = Message(
        id=row[0],
        account_id=row[1],
        mobile=row[2],
        sender=row[3],
        text=row[4],
        encoding=row[5],
        parts=row[6],
        cost=row[7],
        status=MessageStatus(row[8]),
        attempts=row[9],
        possible_duplicate=bool(row[10]),
        expires_at=expires_at,
        created_at=created_at,
        submitted_at=moment(row[13]),
        reported_at=moment(row[14]),
        transport=row[15],
        provider_message_id=row[16],
        error=row[17],
        backup_sender=row[19],
    )
    return Claimed(message, row[18])
