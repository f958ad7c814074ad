"""sign-in limits per key and known sign-in addresses; the approval queue's index

Revision ID: 0050
Revises: 0030

The failed sign-ins table gives way to counters that are read and written in one
transaction (users.py says why); its rows are short-lived counts, so nothing is carried
over.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import quickotp.adapters.store.schema

revision: str = "0050"
down_revision: str | None = "0030"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sign_in_limits",
        sa.Column("key", sa.String(length=320), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column(
            "last_at", quickotp.adapters.store.schema.UtcDateTime(timezone=True), nullable=False
        ),
        sa.Column(
            "locked_until", quickotp.adapters.store.schema.UtcDateTime(timezone=True), nullable=True
        ),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_sign_in_limits")),
    )
    with op.batch_alter_table("sign_in_limits", schema=None) as batch_op:
        batch_op.create_index("ix_sign_in_limits_last_at", ["last_at"], unique=False)
    op.create_table(
        "sign_in_addresses",
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column(
            "last_at", quickotp.adapters.store.schema.UtcDateTime(timezone=True), nullable=False
        ),
        sa.PrimaryKeyConstraint("email", "address", name=op.f("pk_sign_in_addresses")),
    )
    with op.batch_alter_table("sign_in_failures", schema=None) as batch_op:
        batch_op.drop_index("ix_sign_in_failures_ip")
        batch_op.drop_index("ix_sign_in_failures_email")
    op.drop_table("sign_in_failures")
    with op.batch_alter_table("patterns", schema=None) as batch_op:
        batch_op.create_index("ix_patterns_state", ["state", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("patterns", schema=None) as batch_op:
        batch_op.drop_index("ix_patterns_state")
    op.create_table(
        "sign_in_failures",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("ip", sa.String(length=45), nullable=True),
        sa.Column("at", quickotp.adapters.store.schema.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sign_in_failures")),
    )
    with op.batch_alter_table("sign_in_failures", schema=None) as batch_op:
        batch_op.create_index("ix_sign_in_failures_email", ["email", "at"], unique=False)
        batch_op.create_index("ix_sign_in_failures_ip", ["ip", "at"], unique=False)
    op.drop_table("sign_in_addresses")
    with op.batch_alter_table("sign_in_limits", schema=None) as batch_op:
        batch_op.drop_index("ix_sign_in_limits_last_at")
    op.drop_table("sign_in_limits")
