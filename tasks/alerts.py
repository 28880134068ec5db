"""Thin tasks: deserialize, call the domain, translate outcomes into Celery retries."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

from config.celery import NOOP, PROCESS_ALERT, PRUNE, SWEEP
from config.settings import get_settings
from tasks.celery_app import app
from trading.brokers.registry import make_broker
from trading.ledger.db import get_database
from trading.ledger.prune import prune
from trading.processing import AlertProcessor
from trading.sweeper import sweep

log = logging.getLogger(__name__)


@lru_cache(maxsize=1)
def _processor() -> AlertProcessor:
    settings = get_settings()
    return AlertProcessor(
        get_database(settings.database_url),
        make_broker(settings),
        stuck_after=timedelta(seconds=settings.stuck_after_seconds),
    )


def enqueue_alert(key: str, expires_at: datetime) -> None:
    """Publish one alert for processing (used by the sweeper inside workers)."""
    app.send_task(PROCESS_ALERT, args=[key], task_id=key, expires=expires_at, retry=False)


@app.task(name=PROCESS_ALERT, bind=True, acks_late=True, max_retries=None)
def process_alert(self: Any, key: str) -> str:
    outcome = _processor().process(key, attempt=self.request.retries or 0)
    if outcome.retry_in is not None:
        log.info("alert %s waits %.1fs: %s", key, outcome.retry_in, outcome.reason)
        # Short countdowns only: far below Redis's visibility timeout.
        raise self.retry(countdown=outcome.retry_in)
    return outcome.status


@app.task(name=SWEEP, acks_late=False, ignore_result=True)
def sweep_alerts() -> dict[str, int]:
    settings = get_settings()
    report = sweep(
        get_database(settings.database_url),
        enqueue_alert,
        now=datetime.now(UTC),
        accepted_grace=timedelta(seconds=max(2 * settings.sweep_interval_seconds, 2)),
        stuck_after=timedelta(seconds=settings.stuck_after_seconds),
    )
    return {"enqueued": len(report.enqueued), "expired": len(report.expired)}


@app.task(name=PRUNE, acks_late=False, ignore_result=True)
def prune_ledger() -> dict[str, int]:
    settings = get_settings()
    report = prune(
        get_database(settings.database_url),
        now=datetime.now(UTC),
        retention=timedelta(days=settings.retention_days),
    )
    return {"alerts": report.alerts, "rejections": report.rejections}


@app.task(name=NOOP, acks_late=True, ignore_result=True)
def noop(marker: str) -> None:
    """Does nothing but mark Redis: the floor a benchmark compares a real alert against."""
    import redis

    redis.Redis.from_url(get_settings().redis_url).set(marker, "1", ex=60)
