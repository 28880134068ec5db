"""C6: a countdown or ETA longer than Redis's visibility timeout runs a task twice
(celery/kombu#337). Alert messages are never delayed by anything near it: refused in code,
and every delay the processor asks for is far below it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from config.celery import VISIBILITY_TIMEOUT_SECONDS
from config.settings import Settings
from tasks.alerts import MAX_ALERT_DELAY_SECONDS, UseAShortRetryDelay, enqueue_alert
from tests.integration.test_processing import DownBroker, accept
from tests.ledger_support import inbox_of
from trading.ledger.db import Database
from trading.processing import UNKNOWN_OUTCOME_GRACE, AlertProcessor


def test_a_delay_near_the_visibility_timeout_is_refused_before_publishing() -> None:
    with pytest.raises(UseAShortRetryDelay, match="at most"):
        enqueue_alert("k", datetime.now(UTC), countdown=VISIBILITY_TIMEOUT_SECONDS + 1)
    with pytest.raises(UseAShortRetryDelay):
        enqueue_alert("k", datetime.now(UTC), countdown=MAX_ALERT_DELAY_SECONDS + 0.5)


def test_an_alerts_whole_life_fits_inside_the_visibility_timeout() -> None:
    """Even the oldest an alert may get (its maximum age, the grace for an unknown outcome,
    one last delayed retry) ends long before Redis would deliver a message again."""
    oldest = Settings.model_fields["alert_max_age_seconds"].metadata
    max_age = next(m.le for m in oldest if getattr(m, "le", None) is not None)
    life = max_age + UNKNOWN_OUTCOME_GRACE.total_seconds() + MAX_ALERT_DELAY_SECONDS
    assert life * 2 < VISIBILITY_TIMEOUT_SECONDS


def test_every_retry_the_processor_asks_for_is_a_short_one(sqlite_database: Database) -> None:
    key = accept(sqlite_database, symbol="AAPL", action="buy", quantity=1, price=1)
    processor = AlertProcessor(
        sqlite_database,
        DownBroker(sqlite_database, Decimal(100000)),
        inbox=inbox_of(sqlite_database),
        stuck_after=timedelta(seconds=30),
    )
    delays = []
    for attempt in range(0, 200, 20):
        outcome = processor.process(key, attempt=attempt)
        assert outcome.retry_in is not None, outcome
        delays.append(outcome.retry_in)
    assert max(delays) <= MAX_ALERT_DELAY_SECONDS
