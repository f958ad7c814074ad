"""sender lines, the free-text permission, scheduled sends, backup lines, route lines

Revision ID: 0020
Revises: 0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import quickotp.store.schema

revision: str = "0020"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("free_text", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    op.create_table(
        "account_lines",
        sa.Column("id", _ID, nullable=False),
        sa.Column("account_id", _ID, nullable=False),
        sa.Column("line", sa.String(length=20), nullable=False),
        sa.Column("created_at", quickotp.store.schema.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_account_lines_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_account_lines")),
        sa.UniqueConstraint("account_id", "line", name="uq_account_lines_account_line"),
    )
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("not_before", quickotp.store.schema.UtcDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("backup_sender", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("ref", sa.String(length=32), nullable=True))
        batch_op.create_index(
            "ix_messages_ref",
            ["account_id", "ref"],
            unique=False,
            sqlite_where=sa.text("ref IS NOT NULL"),
            postgresql_where=sa.text("ref IS NOT NULL"),
        )
    with op.batch_alter_table("routes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("lines", sa.Text(), nullable=False, server_default=""))


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
