"""
Accepting messages in SQL: each new message with its verification, its account charged, a
batch in one write transaction on the driver (raw.py says why), so a group committer can
share one commit among many requests.

Rows are written by column name (statements.insert_rows): a message's or a verification's
columns and values come from one mapping, never two lists kept in step by hand.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from quickotp.adapters.store.engine import Engines
from quickotp.adapters.store.raw import Tx, among
from quickotp.adapters.store.schema import OUTBOX_CHANNEL
from quickotp.adapters.store.statements import WriteTransactions, insert_rows
from quickotp.domain.models import MessageStatus, NewMessage, VerificationStatus

_PENDING = VerificationStatus.PENDING.value
_CANCELED = VerificationStatus.CANCELED.value


class AcceptSql:
    """The accept of SqlStore (sql.py)."""

    engines: Engines
    _transactions: WriteTransactions

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
                await insert_rows(
                    tx,
                    "messages",
                    [
                        _message_row(tx, item, message_id, charged=not balances[item.account_id][1])
                        for item, message_id in zip(taken, ids, strict=True)
                    ],
                )
                await _link_verifications(tx, taken, ids)
                stamp = tx.time(now)
                await tx.executemany(
                    "UPDATE tokens SET last_used_at = ?, last_address = ? WHERE id = ?",
                    [(stamp, address, token_id) for token_id, address in _token_uses(taken)],
                )
                if tx.postgres and any(item.lease_until is None for item in taken):
                    # Wakes dispatchers in every process, at commit (leased ones are held).
                    await tx.execute("SELECT pg_notify(?, '')", OUTBOX_CHANNEL)
            by_item = dict(zip(map(id, taken), ids, strict=True))
            return [by_item.get(id(item)) for item in batch]

        return await self._transactions(self.engines, work)


async def _balances(tx: Tx, account_ids: Sequence[int]) -> dict[int, tuple[int, bool]]:
    lock = " FOR UPDATE" if tx.postgres else ""  # SQLite: BEGIN IMMEDIATE locked it all
    ids, args = among(tx, account_ids)
    rows = await tx.fetch(f"SELECT id, credit, unlimited FROM accounts WHERE id {ids}{lock}", *args)
    return {account_id: (credit, bool(unlimited)) for account_id, credit, unlimited in rows}


def _message_row(tx: Tx, item: NewMessage, message_id: int, *, charged: bool) -> dict[str, Any]:
    """The `messages` row of a new message, by column."""
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
    return {
        "id": message_id,
        "account_id": item.account_id,
        "token_id": item.token_id,
        "pattern_id": item.pattern_id,
        "mobile": item.mobile,
        "sender": item.sender,
        "text": item.text,
        "code": code,
        "encoding": item.encoding,
        "parts": item.parts,
        "cost": item.cost,
        "charged": item.cost if charged else 0,
        "status": status,
        "attempts": 0 if item.lease_until is None else 1,  # leased: on its first attempt
        "possible_duplicate": False,
        "next_attempt_at": created if item.not_before is None else tx.time(item.not_before),
        "expires_at": tx.time(item.expires_at),
        "created_at": created,
        "transport": transport,
        "submitted_at": submitted,
        "reported_at": reported,
        "lease_until": tx.time(item.lease_until),
        "not_before": tx.time(item.not_before),
        "backup_sender": item.backup_sender,
        "ref": item.ref,
    }


def _verification_row(tx: Tx, item: NewMessage, message_id: int) -> dict[str, Any]:
    """The `verifications` row of a new message's code, by column."""
    created = tx.time(item.created_at)
    return {
        "id": item.verification_id,
        "account_id": item.account_id,
        "message_id": message_id,
        "mobile": item.mobile,
        "code_digest": item.code_digest,
        "status": _PENDING,
        "attempts_left": item.attempts_left,
        "expires_at": tx.time(item.expires_at),
        "created_at": created,
        "updated_at": created,
        "code_sealed": item.code_sealed,
        "sandbox": item.sandbox,
        "metadata": item.metadata,
    }


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
    await insert_rows(
        tx,
        "verifications",
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
        which, args = among(tx, replaced)
        await tx.execute(
            f"UPDATE verifications SET status = ?, code_sealed = NULL WHERE id {which}",
            _CANCELED,
            *args,
        )


def _token_uses(items: Sequence[NewMessage]) -> list[tuple[int, str | None]]:
    """Each token of a batch with the address of its last send in it, by token id."""
    last: dict[int, str | None] = {}
    for item in items:
        if item.token_id is not None:
            last[item.token_id] = item.address
    return sorted(last.items())
