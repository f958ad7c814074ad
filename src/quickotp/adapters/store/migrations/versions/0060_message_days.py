"""message_days: the daily counts pruned messages leave behind

Revision ID: 0060
Revises: 0050
Create Date: 2026-12-10

`quickotp prune` and the hourly retention of `serve`/`dispatch` delete finished messages;
before they go, their counts per (account, day, transport, status, verification status) are
added here, so the panel's traffic figures and Statistics survive the prune.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from quickotp.adapters.store.schema import UtcDateTime

revision: str = "0060"
down_revision: str | None = "0050"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "message_days",
        sa.Column(
            "account_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("day", UtcDateTime(timezone=True), nullable=False),
        sa.Column("transport", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("verification", sa.String(length=24), nullable=False),
        sa.Column("messages", sa.BigInteger(), nullable=False),
        sa.Column("parts", sa.BigInteger(), nullable=False),
        sa.Column("charged", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_message_days_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint(
            "account_id", "day", "transport", "status", "verification", name=op.f("pk_message_days")
        ),
    )


def downgrade() -> None:
    op.drop_table("message_days")
