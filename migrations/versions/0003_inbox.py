"""inbox: the webhook's receipts of accepted alerts, in a database of their own

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-09 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import trading.ledger.types

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "inbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("dedup_key", sa.String(length=200), nullable=True),
        sa.Column("alert_id", sa.String(length=200), nullable=False),
        sa.Column("key_kind", sa.String(length=10), nullable=False),
        sa.Column("body_digest", sa.String(length=64), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("body_format", sa.String(length=20), nullable=False),
        sa.Column("parsed", sa.Text(), nullable=False),
        sa.Column("source_address", sa.String(length=64), nullable=False),
        sa.Column("symbol", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=10), nullable=False),
        sa.Column("received_at", trading.ledger.types.UTCDateTime(), nullable=False),
        sa.Column("alert_time", trading.ledger.types.UTCDateTime(), nullable=False),
        sa.Column("expires_at", trading.ledger.types.UTCDateTime(), nullable=False),
        sa.Column("dedup_until", trading.ledger.types.UTCDateTime(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("handed_over_at", trading.ledger.types.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("dedup_key"),
        sa.UniqueConstraint("key"),
    )
    with op.batch_alter_table("inbox", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_inbox_alert_id"), ["alert_id"], unique=False)
        batch_op.create_index("ix_inbox_pending", ["handed_over_at", "received_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("inbox", schema=None) as batch_op:
        batch_op.drop_index("ix_inbox_pending")
        batch_op.drop_index(batch_op.f("ix_inbox_alert_id"))
    op.drop_table("inbox")
