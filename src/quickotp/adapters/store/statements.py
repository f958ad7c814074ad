"""
What the stores' hot statements on the driver (raw.py) share: how a store runs its write
transactions, and INSERTs whose column list and values come from one mapping per row, so
the two cannot fall out of step.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, Protocol, TypeVar

from quickotp.adapters.store.engine import Engines
from quickotp.adapters.store.raw import Tx, marks

T = TypeVar("T")


class WriteTransactions(Protocol):
    """How a store runs a batch of hot statements in one write transaction (raw.py's)."""

    async def __call__(self, engines: Engines, work: Callable[[Tx], Awaitable[T]]) -> T: ...


async def insert_rows(tx: Tx, table: str, rows: Sequence[Mapping[str, Any]]) -> None:
    """
    INSERT `rows` into `table` in one executemany. Each row maps column names to values and
    all are made by one dict display, so they name the same columns in the same order: the
    first row's names are the statement's columns, and each row's values go in that order.
    (Reading each value by name instead costs the accept path about 2 us a message more.)
    """
    if not rows:
        return
    columns = tuple(rows[0])
    sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks(len(columns))})"
    await tx.executemany(sql, [tuple(row.values()) for row in rows])
