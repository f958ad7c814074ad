"""accounts.otp_pattern_id: the OTP pattern an account chose to send its codes with

Revision ID: 0100
Revises: 0090
Create Date: 2026-12-22

None, the value of every account the migration finds: the account's newest approved OTP
pattern sends its codes until the account chooses one.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0100"
down_revision: str | None = "0090"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A plain ADD COLUMN: a batch would copy the accounts table on SQLite, and dropping a
    # table that others refer to fails once it holds rows.
    op.add_column(
        "accounts",
        sa.Column(
            "otp_pattern_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=True,
        ),
    )


def downgrade() -> None:
    with op.batch_alter_table("accounts") as batch:
        batch.drop_column("otp_pattern_id")
