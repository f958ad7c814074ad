"""sender lines, the free-text permission, scheduled sends, backup lines, route lines

Revision ID: 0020
Revises: 0002
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import quickotp.adapters.store.schema

revision: str = "0020"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    # Plain ALTER TABLE ... ADD COLUMN, never a batch copy: on SQLite a batch re-creates the
    # table, and dropping a table that others refer to fails once it holds rows.
    op.add_column(
        "accounts",
        sa.Column("free_text", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.create_table(
        "account_lines",
        sa.Column("id", _ID, nullable=False),
        sa.Column("account_id", _ID, nullable=False),
        sa.Column("line", sa.String(length=20), nullable=False),
        sa.Column(
            "created_at", quickotp.adapters.store.schema.UtcDateTime(timezone=True), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_account_lines_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_account_lines")),
        sa.UniqueConstraint("account_id", "line", name="uq_account_lines_account_line"),
    )
    op.add_column(
        "messages",
        sa.Column(
            "not_before", quickotp.adapters.store.schema.UtcDateTime(timezone=True), nullable=True
        ),
    )
    op.add_column("messages", sa.Column("backup_sender", sa.String(length=20), nullable=True))
    op.add_column("messages", sa.Column("ref", sa.String(length=32), nullable=True))
    op.create_index(
        "ix_messages_ref",
        "messages",
        ["account_id", "ref"],
        unique=False,
        sqlite_where=sa.text("ref IS NOT NULL"),
        postgresql_where=sa.text("ref IS NOT NULL"),
    )
    op.add_column("routes", sa.Column("lines", sa.Text(), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("routes", schema=None) as batch_op:
        batch_op.drop_column("lines")
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_index("ix_messages_ref")
        batch_op.drop_column("ref")
        batch_op.drop_column("backup_sender")
        batch_op.drop_column("not_before")
    op.drop_table("account_lines")
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.drop_column("free_text")
