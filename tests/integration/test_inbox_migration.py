"""Upgrading a ledger that held the deduplication claims itself: both databases are
migrated, and claims still inside their window move to the inbox, so a repeat sent
across the upgrade is still a duplicate."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import select

from tests.ledger_support import inbox_of
from tests.support import ROOT, migrate, sqlite_url
from trading.ledger.db import get_database
from trading.ledger.models import AlertRecord, InboxRecord


def upgrade_to(url: str, revision: str) -> None:
    config = Config(str(ROOT / "migrations" / "alembic.ini"))
    config.set_main_option("sqlalchemy.url", url)
    command.upgrade(config, revision)


def legacy_alert(key: str, *, received_at: datetime, claim_until: datetime) -> Any:
    """An alert row as the schema of that time had it (only the columns it had then)."""
    return AlertRecord.__table__.insert().values(
        key=key,
        dedup_key=key,
        alert_id=key,
        key_kind="explicit",
        body_digest="digest",
        body="{}",
        body_format="json",
        parsed="{}",
        source_address="127.0.0.1",
        symbol="AAPL",
        action="buy",
        received_at=received_at,
        alert_time=received_at,
        expires_at=received_at + timedelta(minutes=2),
        dedup_until=claim_until,
        status="done",
        attempts=1,
        updated_at=received_at,
    )


def test_live_ledger_claims_move_to_the_inbox_on_upgrade(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path)
    upgrade_to(url, "0002")
    ledger = get_database(url)
    now = datetime.now(UTC)
    with ledger.write() as session:
        session.execute(legacy_alert("live", received_at=now, claim_until=now + timedelta(hours=1)))
        session.execute(
            legacy_alert("lapsed", received_at=now, claim_until=now - timedelta(hours=1))
        )
    migrate(url)
    migrate(url)  # running it again adds nothing
    with inbox_of(ledger).read() as session:
        moved = [
            (r.key, r.dedup_key, r.handed_over_at is not None)
            for r in session.scalars(select(InboxRecord))
        ]
    assert moved == [("live", "live", True)]
