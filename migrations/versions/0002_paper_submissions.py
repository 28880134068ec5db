"""paper submissions: every call that reached the paper broker's submit

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import trading.ledger.types

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "paper_submissions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(length=64), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("at", trading.ledger.types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("paper_submissions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_paper_submissions_reference"), ["reference"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("paper_submissions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_paper_submissions_reference"))
    op.drop_table("paper_submissions")
