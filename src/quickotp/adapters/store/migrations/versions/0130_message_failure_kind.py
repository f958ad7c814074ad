"""messages.failure_kind: the kind of a message's last failure, as a stable code

Revision ID: 0130
Revises: 0120
Create Date: 2026-12-06

The dispatcher, and an operator's cancel, store a FailureKind code (refused, unavailable,
uncertain, expired, canceled, other) beside the words of messages.error, and the panel tells
a customer why a message was not sent from the code alone. Every message the migration
finds with words gets the kind they name, read here once: the error class the dispatcher
writes ahead of the route's words (`TransportRejected: ...`, `gave up after 6 attempts:
LineRefused: ...`), a refusal named anywhere in them first; the dispatcher's or a cancel's
own words; `other` for words that name none of these.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0130"
down_revision: str | None = "0120"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The kind each error class's name stands for, in the order they are looked for: a refusal
# first, and DeliveryUncertain before TransportUnavailable, whose subclass it is.
_NAMED = (
    ("TransportRejected:", "refused"),
    ("LineRefused:", "refused"),
    ("DeliveryUncertain:", "uncertain"),
    ("TransportUnavailable:", "unavailable"),
)
# Whole words that name no class: the dispatcher's for a message whose validity ended before
# any attempt, and an operator's cancel's.
_WORDS = (
    ("its validity ended before sending", "expired"),
    ("canceled by the operator before it was sent", "canceled"),
)


def upgrade() -> None:
    op.add_column("messages", sa.Column("failure_kind", sa.String(length=16), nullable=True))
    # Case-sensitive substring tests on both databases (LIKE ignores case on SQLite).
    sqlite = op.get_context().dialect.name == "sqlite"
    holds = "instr(error, :{}) > 0" if sqlite else "strpos(error, :{}) > 0"
    cases: list[str] = []
    values: dict[str, str] = {}
    for n, (name, kind) in enumerate(_NAMED):
        cases.append(f"WHEN {holds.format(f'name{n}')} THEN :kind{n}")
        values |= {f"name{n}": name, f"kind{n}": kind}
    for n, (words, kind) in enumerate(_WORDS):
        cases.append(f"WHEN error = :words{n} THEN :said{n}")
        values |= {f"words{n}": words, f"said{n}": kind}
    op.get_bind().execute(
        sa.text(
            f"UPDATE messages SET failure_kind = CASE {' '.join(cases)} ELSE 'other' END"
            " WHERE error IS NOT NULL"
        ),
        values,
    )


def downgrade() -> None:
    # ALTER TABLE ... DROP COLUMN on SQLite too (3.35 and newer), not a batch: a batch copies
    # `messages` into a new table, which drops the triggers of its trigram index (0120).
    op.drop_column("messages", "failure_kind")
