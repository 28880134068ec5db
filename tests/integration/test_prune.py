"""Retention reaches every table that grows with each alert."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from trading.ledger.db import Database
from trading.ledger.models import PaperSubmission
from trading.ledger.prune import prune


def test_old_paper_submission_records_are_pruned_and_recent_ones_kept(
    sqlite_database: Database,
) -> None:
    now = datetime.now(UTC)
    with sqlite_database.write() as session:
        session.add(PaperSubmission(reference="tvb.old.entry", pid=1, at=now - timedelta(days=40)))
        session.add(PaperSubmission(reference="tvb.new.entry", pid=1, at=now - timedelta(days=1)))
    prune(sqlite_database, now=now, retention=timedelta(days=30))
    with sqlite_database.read() as session:
        left = session.scalars(select(PaperSubmission.reference)).all()
        assert session.scalar(select(func.count()).select_from(PaperSubmission)) == 1
    assert left == ["tvb.new.entry"]
