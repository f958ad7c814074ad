"""tokens' shown prefix and last address; the message log's search indexes

Revision ID: 0080
Revises: 0075

A token keeps the first characters of its secret (`qotp_ab12`), which the panel shows so a
person can tell tokens apart, and the address of its last send. The message log and the
operator's search read a page at a time, newest first by (created_at, id): each filter has
an index in that order, so a page is an index range read, never a scan or a sort of the
table.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0080"
down_revision: str | None = "0075"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = {
    "ix_messages_created": ["created_at", "id"],
    "ix_messages_status_created": ["status", "created_at", "id"],
    "ix_messages_account_status": ["account_id", "status", "created_at", "id"],
    "ix_messages_mobile": ["mobile", "created_at", "id"],
    "ix_messages_token": ["token_id", "created_at", "id"],
}


def upgrade() -> None:
    with op.batch_alter_table("tokens", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("prefix", sa.String(length=12), server_default="", nullable=False)
        )
        batch_op.add_column(sa.Column("last_address", sa.String(length=45), nullable=True))
    with op.batch_alter_table("messages", schema=None) as batch_op:
        for name, columns in INDEXES.items():
            batch_op.create_index(name, columns, unique=False)


def downgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        for name in reversed(INDEXES):
            batch_op.drop_index(name)
    with op.batch_alter_table("tokens", schema=None) as batch_op:
        batch_op.drop_column("last_address")
        batch_op.drop_column("prefix")
