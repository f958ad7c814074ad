"""messages by account and time; codes out of the texts of messages never sent

Revision ID: 0030
Revises: 0020
Create Date: 2026-12-06 10:30:00.000000

`ix_messages_account_created` serves Statistics and GetMessages, which read one account's
messages in a time window. Messages that failed or expired before the store masked their
text when giving up still hold their code in clear with the `code` column cleared: their
texts are masked here, the code found where the OTP pattern puts `%code%` (every message
of this schema was sent with an OTP pattern), or, where the text no longer matches its
pattern, every run of 4 to 8 digits masked.
"""

import re
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0030"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BATCH = 1000
_CODE = re.compile(r"[0-9]{4,8}")

_messages = sa.table(
    "messages",
    sa.column("id", sa.BigInteger),
    sa.column("pattern_id", sa.BigInteger),
    sa.column("text", sa.Text),
    sa.column("code", sa.String),
    sa.column("status", sa.String),
)
_patterns = sa.table("patterns", sa.column("id", sa.BigInteger), sa.column("text", sa.Text))


def _masked(text: str, pattern: str | None) -> str:
    """`text` with the code that `pattern`'s %code% stood for replaced by asterisks."""
    if pattern is not None and "%code%" in pattern:
        shape = "([0-9]{4,8})".join(re.escape(part) for part in pattern.split("%code%"))
        found = re.fullmatch(shape, text, flags=re.DOTALL)
        if found is not None:
            chars = list(text)
            for group in range(1, (found.lastindex or 0) + 1):
                start, end = found.span(group)
                chars[start:end] = "*" * (end - start)
            return "".join(chars)
    return _CODE.sub(lambda m: "*" * len(m.group(0)), text)


def upgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.create_index(
            "ix_messages_account_created", ["account_id", "created_at", "id"], unique=False
        )
    connection = op.get_bind()
    after = 0
    while True:
        rows = connection.execute(
            sa.select(_messages.c.id, _messages.c.text, _patterns.c.text.label("pattern"))
            .select_from(_messages.outerjoin(_patterns, _patterns.c.id == _messages.c.pattern_id))
            .where(
                _messages.c.id > after,
                _messages.c.status.in_(("failed", "expired")),
                _messages.c.code.is_(None),
            )
            .order_by(_messages.c.id)
            .limit(_BATCH)
        ).all()
        if not rows:
            return
        for row in rows:
            masked = _masked(row.text, row.pattern)
            if masked != row.text:
                connection.execute(
                    sa.update(_messages).where(_messages.c.id == row.id).values(text=masked)
                )
        after = rows[-1].id


def downgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_index("ix_messages_account_created")
