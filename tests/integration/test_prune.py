"""Retention reaches every table that grows with each alert."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from tests.ledger_support import inbox_of
from trading.ledger.db import Database
from trading.ledger.models import InboxRecord, PaperSubmission
from trading.ledger.prune import prune


def test_old_paper_submission_records_are_pruned_and_recent_ones_kept(
    sqlite_database: Database,
) -> None:
    now = datetime.now(UTC)
    with sqlite_database.write() as session:
        session.add(PaperSubmission(reference="tvb.old.entry", pid=1, at=now - timedelta(days=40)))
        session.add(PaperSubmission(reference="tvb.new.entry", pid=1, at=now - timedelta(days=1)))
    prune(sqlite_database, inbox=inbox_of(sqlite_database), now=now, retention=timedelta(days=30))
    with sqlite_database.read() as session:
        left = session.scalars(select(PaperSubmission.reference)).all()
        assert session.scalar(select(func.count()).select_from(PaperSubmission)) == 1
    assert left == ["tvb.new.entry"]


def test_inbox_receipts_go_once_released_and_handed_over_or_expired(
    sqlite_database: Database,
) -> None:
    inbox = inbox_of(sqlite_database)
    now = datetime.now(UTC)
    long_ago = now - timedelta(days=40)

    def receipt(key: str, *, status: str = "accepted", **fields: object) -> InboxRecord:
        values: dict[str, object] = {
            "key": key,
            "dedup_key": key,
            "alert_id": key,
            "key_kind": "explicit",
            "body_digest": "d",
            "body": "{}",
            "body_format": "json",
            "parsed": "{}",
            "source_address": "127.0.0.1",
            "symbol": "AAPL",
            "action": "buy",
            "received_at": long_ago,
            "alert_time": long_ago,
            "expires_at": long_ago + timedelta(minutes=2),
            "dedup_until": long_ago + timedelta(days=1),
            "status": status,
            "handed_over_at": long_ago,
            **fields,
        }
        return InboxRecord(**values)

    with inbox.write() as session:
        session.add(receipt("handed-over"))
        session.add(receipt("late-on-arrival", status="expired", handed_over_at=None))
        session.add(receipt("never-swept", handed_over_at=None))
        session.add(receipt("still-claimed", dedup_until=now + timedelta(days=1)))
        session.add(receipt("recent", received_at=now - timedelta(days=1)))
    report = prune(sqlite_database, inbox=inbox, now=now, retention=timedelta(days=30))
    with inbox.read() as session:
        left = set(session.scalars(select(InboxRecord.key)))
    assert left == {"never-swept", "still-claimed", "recent"}
    assert report.receipts == 2 and report.released_keys == 4
