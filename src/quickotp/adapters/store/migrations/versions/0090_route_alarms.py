"""route alarms; routes switched on and off from the panel; webhook attempts' times

Revision ID: 0090
Revises: 0080
Create Date: 2026-12-14

`route_alarms` keeps each spell of a route being down or failing (at most one open a route),
so an alarm outlives the process that raised it. `routes.enabled` lets the panel switch a
route off without forgetting it (every stored route stays on), `routes.updated_at` says when
the panel last changed it. `webhook_deliveries.last_attempt_at` is when a report's last
POST ended, for the account's Webhooks page (None for the reports posted before).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from quickotp.adapters.store.schema import UtcDateTime

revision: str = "0090"
down_revision: str | None = "0080"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "routes", sa.Column("enabled", sa.Boolean(), nullable=False, server_default=sa.true())
    )
    op.add_column("routes", sa.Column("updated_at", UtcDateTime(timezone=True), nullable=True))
    op.create_table(
        "route_alarms",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("route", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("opened_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("cleared_at", UtcDateTime(timezone=True), nullable=True),
        sa.Column("notice", sa.Text(), nullable=False, server_default=""),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_route_alarms")),
    )
    op.create_index(
        "ix_route_alarms_open",
        "route_alarms",
        ["route"],
        unique=True,
        sqlite_where=sa.text("cleared_at IS NULL"),
        postgresql_where=sa.text("cleared_at IS NULL"),
    )
    op.create_index("ix_route_alarms_opened", "route_alarms", ["opened_at"], unique=False)
    op.add_column(
        "webhook_deliveries",
        sa.Column("last_attempt_at", UtcDateTime(timezone=True), nullable=True),
    )


def downgrade() -> None:
    with op.batch_alter_table("webhook_deliveries", schema=None) as batch_op:
        batch_op.drop_column("last_attempt_at")
    op.drop_index("ix_route_alarms_opened", table_name="route_alarms")
    op.drop_index("ix_route_alarms_open", table_name="route_alarms")
    op.drop_table("route_alarms")
    with op.batch_alter_table("routes", schema=None) as batch_op:
        batch_op.drop_column("updated_at")
        batch_op.drop_column("enabled")
