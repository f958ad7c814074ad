"""
The Store on SQL: one implementation for SQLite and PostgreSQL, made of one part a seam,
each in its own module: accounts and their settings (accounts.py), tokens (tokens.py),
patterns (patterns.py), the accept of new messages (accept.py), verifications
(verifications.py), message reads (messages.py) and the outbox (outbox.py).

Every write that a caller waits on is one transaction; the hot ones (accepting OTPs,
recording submits and delivery reports) take a batch so a group committer can share one
commit among many requests, and run on the driver (raw.py); the rest are SQLAlchemy Core.
"""

from __future__ import annotations

from quickotp.adapters.store.accept import AcceptSql
from quickotp.adapters.store.accounts import AccountSql
from quickotp.adapters.store.engine import Engines
from quickotp.adapters.store.messages import MessageSql
from quickotp.adapters.store.outbox import RECONCILE_BATCH, OutboxSql
from quickotp.adapters.store.patterns import PatternSql
from quickotp.adapters.store.raw import write_transaction
from quickotp.adapters.store.statements import WriteTransactions
from quickotp.adapters.store.tokens import TokenSql
from quickotp.adapters.store.verifications import VerificationSql


class SqlStore(AccountSql, TokenSql, PatternSql, AcceptSql, VerificationSql, MessageSql, OutboxSql):
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
