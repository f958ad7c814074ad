"""accounts.overdraft and panel_drafts

Revision ID: 0070
Revises: 0060
Create Date: 2026-12-20

accounts.overdraft: how far below zero the operator may take an account's credit (0, the
default: not at all). panel_drafts: what a panel page keeps between two requests (a new
token's secret until the page after the redirect shows it, a form's fields while its
sender signs in again), sealed and short-lived.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from quickotp.adapters.store.schema import UtcDateTime

revision: str = "0070"
down_revision: str | None = "0060"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A plain ADD COLUMN: a batch would copy the accounts table on SQLite, and dropping a
    # table that others refer to fails once it holds rows.
    op.add_column(
        "accounts",
        sa.Column("overdraft", sa.BigInteger(), nullable=False, server_default=sa.text("0")),
    )
    op.create_table(
        "panel_drafts",
        sa.Column("digest", sa.LargeBinary(length=32), nullable=False),
        sa.Column("owner", sa.LargeBinary(length=32), nullable=False),
        sa.Column("sealed", sa.LargeBinary(), nullable=False),
        sa.Column("expires_at", UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("digest", name=op.f("pk_panel_drafts")),
    )
    op.create_index(
        op.f("ix_panel_drafts_expires_at"), "panel_drafts", ["expires_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_panel_drafts_expires_at"), table_name="panel_drafts")
    op.drop_table("panel_drafts")
    with op.batch_alter_table("accounts") as batch:
        batch.drop_column("overdraft")
