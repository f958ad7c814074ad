"""route alarm notices kept in the database

Revision ID: 0110
Revises: 0100
Create Date: 2026-12-06

`route_alarm_notices` holds each notice of a route alarm (opened, changed, cleared) owed to
QUICKOTP_ROUTE_ALARM_URL until it is posted or given up, so a notice owed when a process
stops is posted by the next one.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from quickotp.adapters.store.schema import UtcDateTime

revision: str = "0110"
down_revision: str | None = "0100"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "route_alarm_notices",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("alarm_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("step", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("lease_until", UtcDateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("done_at", UtcDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["alarm_id"],
            ["route_alarms.id"],
            name=op.f("fk_route_alarm_notices_alarm_id_route_alarms"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_route_alarm_notices")),
    )
    op.create_index(
        "ix_route_alarm_notices_due",
        "route_alarm_notices",
        ["state", "next_attempt_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_route_alarm_notices_due", table_name="route_alarm_notices")
    op.drop_table("route_alarm_notices")
