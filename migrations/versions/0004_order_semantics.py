"""order semantics: staged plans, order types and brackets, instrument locks, strategies

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03 16:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import trading.ledger.types

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_DECIMAL = trading.ledger.types.ExactDecimal
_TIME = trading.ledger.types.UTCDateTime


def _order_type_columns(table: str, tif_nullable: bool) -> None:
    with op.batch_alter_table(table, schema=None) as batch_op:
        batch_op.alter_column(
            "order_type",
            existing_type=sa.String(length=10),
            type_=sa.String(length=16),
            existing_nullable=False,
        )
        batch_op.add_column(sa.Column("stop_price", _DECIMAL(), nullable=True))
        batch_op.add_column(sa.Column("trail_amount", _DECIMAL(), nullable=True))
        batch_op.add_column(sa.Column("trail_percent", _DECIMAL(), nullable=True))
        batch_op.add_column(
            sa.Column(
                "time_in_force",
                sa.String(length=4),
                nullable=tif_nullable,
                server_default=None if tif_nullable else "day",
            )
        )
        batch_op.add_column(
            sa.Column("outside_rth", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(sa.Column("oca_group", sa.String(length=64), nullable=True))


def upgrade() -> None:
    _order_type_columns("orders", tif_nullable=True)
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.add_column(sa.Column("parent_leg", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("instrument_id", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("strategy", sa.String(length=64), nullable=True))
        batch_op.create_index(batch_op.f("ix_orders_instrument_id"), ["instrument_id"])
        batch_op.create_index(batch_op.f("ix_orders_strategy"), ["strategy"])

    _order_type_columns("paper_orders", tif_nullable=False)
    with op.batch_alter_table("paper_orders", schema=None) as batch_op:
        batch_op.add_column(sa.Column("parent_reference", sa.String(length=64), nullable=True))
        batch_op.add_column(
            sa.Column("triggered", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(sa.Column("trail_extreme", _DECIMAL(), nullable=True))
        batch_op.create_index(batch_op.f("ix_paper_orders_oca_group"), ["oca_group"])

    with op.batch_alter_table("plans", schema=None) as batch_op:
        batch_op.add_column(sa.Column("stage", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("target_position", _DECIMAL(), nullable=True))
        batch_op.add_column(sa.Column("instrument_id", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("strategy", sa.String(length=64), nullable=True))

    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("waiting_on", sa.String(length=100), nullable=True))
        batch_op.create_index(batch_op.f("ix_alerts_waiting_on"), ["waiting_on"])

    op.create_table(
        "instrument_locks",
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("holder", sa.String(length=200), nullable=True),
        sa.Column("until", _TIME(), nullable=True),
        sa.Column("last_alert_time", _TIME(), nullable=True),
        sa.Column("last_alert_key", sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint("name"),
    )


def downgrade() -> None:
    op.drop_table("instrument_locks")
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_alerts_waiting_on"))
        batch_op.drop_column("waiting_on")
    with op.batch_alter_table("plans", schema=None) as batch_op:
        for name in ("strategy", "instrument_id", "target_position", "stage"):
            batch_op.drop_column(name)
    with op.batch_alter_table("paper_orders", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_paper_orders_oca_group"))
        for name in ("trail_extreme", "triggered", "parent_reference"):
            batch_op.drop_column(name)
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_orders_strategy"))
        batch_op.drop_index(batch_op.f("ix_orders_instrument_id"))
        for name in ("strategy", "instrument_id", "parent_leg"):
            batch_op.drop_column(name)
    for table in ("orders", "paper_orders"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            for name in (
                "oca_group",
                "outside_rth",
                "time_in_force",
                "trail_percent",
                "trail_amount",
                "stop_price",
            ):
                batch_op.drop_column(name)
            batch_op.alter_column(
                "order_type",
                existing_type=sa.String(length=16),
                type_=sa.String(length=10),
                existing_nullable=False,
            )
