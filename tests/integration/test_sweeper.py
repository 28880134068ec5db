"""The sweeper: accepted-but-never-enqueued and abandoned alerts are picked up again;
over-age ones are recorded expired and never re-enqueued."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.integration.test_processing import accept, processor, state
from trading.ledger.alerts import find_alert
from trading.ledger.db import Database
from trading.sweeper import sweep


def run(database: Database, now: datetime) -> tuple[list[str], tuple[str, ...]]:
    sent: list[str] = []
    report = sweep(
        database,
        lambda key, expires: sent.append(key),
        now=now,
        accepted_grace=timedelta(seconds=10),
        stuck_after=timedelta(seconds=30),
    )
    return sent, report.expired


def test_fresh_alerts_are_left_to_their_message(sqlite_database: Database) -> None:
    accept(sqlite_database, symbol="AAPL", action="buy", quantity=1, price=1)
    assert run(sqlite_database, datetime.now(UTC)) == ([], ())


def test_stranded_alert_is_enqueued_once_per_grace(sqlite_database: Database) -> None:
    key = accept(sqlite_database, symbol="AAPL", action="buy", quantity=1, price=1)
    later = datetime.now(UTC) + timedelta(seconds=11)
    assert run(sqlite_database, later) == ([key], ())
    assert run(sqlite_database, later + timedelta(seconds=1)) == ([], ())
    assert run(sqlite_database, later + timedelta(seconds=12)) == ([key], ())


def test_over_age_alert_is_expired_not_enqueued(sqlite_database: Database) -> None:
    key = accept(sqlite_database, symbol="AAPL", action="buy", quantity=1, price=1)
    sent, expired = run(sqlite_database, datetime.now(UTC) + timedelta(seconds=121))
    assert (sent, expired) == ([], (key,))
    assert state(sqlite_database, key)[0] == "expired"


def test_abandoned_alert_is_resumed(sqlite_database: Database) -> None:
    key = accept(sqlite_database, symbol="AAPL", action="buy", quantity=1, price=1)
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
    with sqlite_database.write() as session:
        alert = find_alert(session, key)
        assert alert is not None
        alert.reason = "waiting: IB is not connected"
    run(sqlite_database, datetime.now(UTC) + timedelta(seconds=121))
    assert "IB is not connected" in (state(sqlite_database, key)[1] or "")
