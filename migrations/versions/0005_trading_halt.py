"""trading halt: the kill switch's state; a plan's drift from the strategy's position

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
    with op.batch_alter_table("plans", schema=None) as batch_op:
        batch_op.add_column(sa.Column("drift", trading.ledger.types.ExactDecimal(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("plans", schema=None) as batch_op:
        batch_op.drop_column("drift")
    op.drop_table("trading_halt")
