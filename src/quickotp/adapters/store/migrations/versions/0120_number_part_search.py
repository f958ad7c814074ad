"""a trigram index of the messages' numbers, and an index of pending verifications

Revision ID: 0120
Revises: 0110
Create Date: 2026-12-06

The message log finds a part of a number in every message: on PostgreSQL through a GIN
index of the numbers' trigrams (pg_trgm), on SQLite through an FTS5 table with the trigram
tokenizer (SQLite 3.34 or newer). Its content is read from `messages`, so it holds only the
index; a running gateway adds new messages to it in batches (adapters/store/number_index.py),
up to the id that `messages_mobile_progress` keeps, and a search reads the messages past that
id directly. Triggers take an indexed message out when it is deleted and follow a change of
its number. The upgrade indexes the messages already there. On PostgreSQL,
`ix_verifications_pending` holds the verifications still pending, the rare outcome the log
filters by (SQLite's planner finds them as fast among the account's newest messages, and
there every accept would pay for the index).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0120"
down_revision: str | None = "0110"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The FTS5 table reads its content from `messages` (by rowid = messages.id). The index is
# written in batches (adapters/store/number_index.py), so the triggers act on indexed messages
# only: an FTS5 'delete' of a row it never indexed would corrupt it.
INDEXED = "(SELECT indexed_to FROM messages_mobile_progress)"
SQLITE_NUMBER_SEARCH = (
    "CREATE VIRTUAL TABLE messages_mobile USING fts5("
    "mobile, content='messages', content_rowid='id', tokenize='trigram')",
    "CREATE TABLE messages_mobile_progress (indexed_to INTEGER NOT NULL)",
    f"CREATE TRIGGER messages_mobile_delete AFTER DELETE ON messages WHEN old.id <= {INDEXED}"
    " BEGIN INSERT INTO messages_mobile (messages_mobile, rowid, mobile)"
    " VALUES ('delete', old.id, old.mobile); END",
    "CREATE TRIGGER messages_mobile_update AFTER UPDATE OF id, mobile ON messages"
    f" WHEN old.id <= {INDEXED} BEGIN"
    " INSERT INTO messages_mobile (messages_mobile, rowid, mobile)"
    " VALUES ('delete', old.id, old.mobile);"
    " INSERT INTO messages_mobile (rowid, mobile) VALUES (new.id, new.mobile); END",
)


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.execute(
            "CREATE INDEX ix_messages_mobile_trigrams ON messages USING gin (mobile gin_trgm_ops)"
        )
        op.create_index(
            "ix_verifications_pending",
            "verifications",
            ["account_id", "message_id"],
            unique=False,
            postgresql_where=sa.text("status = 'pending'"),
        )
    else:
        for statement in SQLITE_NUMBER_SEARCH:
            op.execute(statement)
        op.execute("INSERT INTO messages_mobile (messages_mobile) VALUES ('rebuild')")
        op.execute(
            "INSERT INTO messages_mobile_progress (indexed_to)"
            " SELECT COALESCE(MAX(id), 0) FROM messages"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index("ix_verifications_pending", table_name="verifications")
        op.execute("DROP INDEX ix_messages_mobile_trigrams")
    else:
        for trigger in ("delete", "update"):
            op.execute(f"DROP TRIGGER messages_mobile_{trigger}")
        op.execute("DROP TABLE messages_mobile_progress")
        op.execute("DROP TABLE messages_mobile")
