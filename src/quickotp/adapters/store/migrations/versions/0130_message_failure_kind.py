"""messages.failure_kind: the kind of a message's last failure, as a stable code

Revision ID: 0130
Revises: 0110
Create Date: 2026-12-06

The dispatcher stores a FailureKind code (refused, unavailable, uncertain, expired, other)
beside the route's own words in messages.error, and the panel tells a customer why a message
was not sent from the code alone. Every message the migration finds with words and no code
gets the kind its words name, read here once: the error class the dispatcher writes ahead
of the route's words (`TransportRejected: ...`, `gave up after 6 attempts: LineRefused: ...`),
a refusal named anywhere in them first; words that name no class are `other`.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0130"
down_revision: str | None = "0110"
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
# What the dispatcher writes of a message whose validity ended before any attempt.
_ENDED = "its validity ended before sending"


def upgrade() -> None:
    op.add_column("messages", sa.Column("failure_kind", sa.String(length=16), nullable=True))
    # Case-sensitive substring tests on both databases (LIKE ignores case on SQLite).
    found = (
        "instr(error, :{0}) > 0"
        if op.get_context().dialect.name == "sqlite"
        else ("strpos(error, :{0}) > 0")
    )
    cases = " ".join(f"WHEN {found.format(f'name{n}')} THEN :kind{n}" for n in range(len(_NAMED)))
    values: dict[str, str] = {}
    for n, (name, kind) in enumerate(_NAMED):
        values[f"name{n}"] = name
        values[f"kind{n}"] = kind
    op.get_bind().execute(
        sa.text(
            f"UPDATE messages SET failure_kind = CASE {cases}"
            " WHEN error = :ended THEN 'expired' ELSE 'other' END"
            " WHERE error IS NOT NULL AND failure_kind IS NULL"
        ),
        {**values, "ended": _ENDED},
    )


def downgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_column("failure_kind")
