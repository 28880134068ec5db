"""risk: the kill switch's state, the day's starting value, a plan's drift

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 17:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import trading.ledger.types

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "trading_halt",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("halted", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("since", trading.ledger.types.UTCDateTime(), nullable=True),
        sa.Column("by", sa.String(length=40), nullable=True),
        sa.Column("updated_at", trading.ledger.types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "risk_days",
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("start_net_liquidation", trading.ledger.types.ExactDecimal(), nullable=False),
        sa.Column("at", trading.ledger.types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("day"),
    )
    with op.batch_alter_table("orders", schema=None) as batch_op:
        # The risk rules count the orders of the last minute on every opening.
        batch_op.create_index(batch_op.f("ix_orders_created_at"), ["created_at"])
    with op.batch_alter_table("plans", schema=None) as batch_op:
        batch_op.add_column(sa.Column("drift", trading.ledger.types.ExactDecimal(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_orders_created_at"))
    with op.batch_alter_table("plans", schema=None) as batch_op:
        batch_op.drop_column("drift")
    op.drop_table("risk_days")
    op.drop_table("trading_halt")
