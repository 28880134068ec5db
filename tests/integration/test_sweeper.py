"""The sweeper: accepted-but-never-enqueued and abandoned alerts are picked up again;
over-age ones are recorded expired and never re-enqueued. Alerts no worker took yet are
inbox receipts: the sweeper copies them into the ledger and marks them handed over."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from tests.integration.test_processing import accept, processor, state
from tests.ledger_support import inbox_of, take
from trading.ledger.alerts import find_alert
from trading.ledger.db import Database
from trading.ledger.models import AlertRecord, InboxRecord
from trading.sweeper import SweepReport, sweep


def sweep_at(database: Database, now: datetime, sent: list[str] | None = None) -> SweepReport:
    return sweep(
        database,
        lambda key, expires: (sent if sent is not None else []).append(key),
        inbox=inbox_of(database),
        now=now,
        accepted_grace=timedelta(seconds=10),
        stuck_after=timedelta(seconds=30),
    )


def run(database: Database, now: datetime) -> tuple[list[str], tuple[str, ...]]:
    sent: list[str] = []
    report = sweep_at(database, now, sent)
    return sent, report.expired


def handed_over(database: Database, key: str) -> bool:
    with inbox_of(database).read() as session:
        found = session.scalars(select(InboxRecord).where(InboxRecord.key == key)).one()
        return found.handed_over_at is not None


def ledger_rows(database: Database) -> int:
    with database.read() as session:
        return session.scalar(select(func.count()).select_from(AlertRecord)) or 0


def test_fresh_alerts_are_left_to_their_message(sqlite_database: Database) -> None:
    key = accept(sqlite_database, symbol="AAPL", action="buy", quantity=1, price=1)
    assert run(sqlite_database, datetime.now(UTC)) == ([], ())
    assert not handed_over(sqlite_database, key) and ledger_rows(sqlite_database) == 0


def test_stranded_alert_is_enqueued_once_per_grace(database: Database) -> None:
    key = accept(database, symbol="AAPL", action="buy", quantity=1, price=1)
    later = datetime.now(UTC) + timedelta(seconds=11)
    assert run(database, later) == ([key], ())
    assert handed_over(database, key) and ledger_rows(database) == 1
    assert run(database, later + timedelta(seconds=1)) == ([], ())
    assert run(database, later + timedelta(seconds=12)) == ([key], ())
    assert ledger_rows(database) == 1
    assert processor(database).process(key).status == "done"


def test_receipt_a_worker_already_took_is_only_marked_handed_over(database: Database) -> None:
    key = accept(database, symbol="AAPL", action="buy", quantity=1, price=1)
    assert processor(database).process(key).status == "done"
    report = sweep_at(database, datetime.now(UTC) + timedelta(seconds=11))
    assert (report.enqueued, report.expired, report.handed_over) == ((), (), (key,))
    assert handed_over(database, key) and state(database, key)[0] == "done"
    assert sweep_at(database, datetime.now(UTC) + timedelta(seconds=30)).handed_over == ()


def test_over_age_alert_is_expired_not_enqueued(database: Database) -> None:
    key = accept(database, symbol="AAPL", action="buy", quantity=1, price=1)
    sent, expired = run(database, datetime.now(UTC) + timedelta(seconds=121))
    assert (sent, expired) == ([], (key,))
    assert state(database, key)[0] == "expired"
    assert handed_over(database, key)
    # A message still in the queue finds it expired and trades nothing.
    assert processor(database).process(key).status == "expired"


def test_expired_on_arrival_is_never_handed_over_or_traded(sqlite_database: Database) -> None:
    old = int((datetime.now(UTC) - timedelta(seconds=200)).timestamp())
    key = accept(sqlite_database, symbol="AAPL", action="buy", quantity=1, price=1, timestamp=old)
    assert run(sqlite_database, datetime.now(UTC) + timedelta(seconds=60)) == ([], ())
    assert not handed_over(sqlite_database, key)
    assert processor(sqlite_database).process(key).status == "expired"
    assert ledger_rows(sqlite_database) == 0


def test_abandoned_alert_is_resumed(sqlite_database: Database) -> None:
    key = accept(sqlite_database, symbol="AAPL", action="buy", quantity=1, price=1)
    take(sqlite_database, key)
    with sqlite_database.write() as session:  # a worker took it and died
        alert = find_alert(session, key)
        assert alert is not None
        alert.status, alert.started_at = "processing", datetime.now(UTC)
    assert run(sqlite_database, datetime.now(UTC) + timedelta(seconds=5)) == ([], ())
    sent, _ = run(sqlite_database, datetime.now(UTC) + timedelta(seconds=31))
    assert sent == [key]
    fresh = processor(sqlite_database)
    fresh._stuck_after = timedelta(0)
    assert fresh.process(key).status == "done"


def test_expiry_keeps_the_last_waiting_reason(sqlite_database: Database) -> None:
    key = accept(sqlite_database, symbol="AAPL", action="buy", quantity=1, price=1)
    take(sqlite_database, key)
    with sqlite_database.write() as session:
        alert = find_alert(session, key)
        assert alert is not None
        alert.status, alert.reason = "waiting", "IB is not connected"
    run(sqlite_database, datetime.now(UTC) + timedelta(seconds=121))
    assert "IB is not connected" in (state(sqlite_database, key)[1] or "")
