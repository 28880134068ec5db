"""Thin tasks: deserialize, call the domain, translate outcomes into Celery retries."""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime, timedelta
from functools import lru_cache

import redis

from config.celery import (
    NOOP,
    PROCESS_ALERT,
    PRUNE,
    SWEEP,
    SYNC_ORDERS,
    VISIBILITY_TIMEOUT_SECONDS,
)
from config.halt import publish_halt
from config.settings import Settings, get_settings
from tasks.celery_app import app
from trading.brokers.port import Broker
from trading.brokers.registry import make_broker
from trading.errors import OperationalError
from trading.halt import read_halt
from trading.ledger.db import get_database
from trading.ledger.prune import prune
from trading.order_sync import sync_working_orders
from trading.planning import order_rules
from trading.processing import AlertProcessor
from trading.risk import limits_from
from trading.sweeper import sweep

log = logging.getLogger(__name__)

# Redis redelivers a message unacknowledged for the visibility timeout, and a countdown or
# ETA message counts from when it was fetched (celery/kombu#337): a long delay runs twice.
# Alert messages are therefore only ever delayed by far less than that timeout.
MAX_ALERT_DELAY_SECONDS = 60.0
if MAX_ALERT_DELAY_SECONDS * 10 >= VISIBILITY_TIMEOUT_SECONDS:
    raise ImportError("MAX_ALERT_DELAY_SECONDS must stay far below the visibility timeout")


class UseAShortRetryDelay(OperationalError):
    """An alert message asked for a delay near Redis's visibility timeout."""


def check_delay(countdown: float | None) -> None:
    if countdown is not None and countdown > MAX_ALERT_DELAY_SECONDS:
        raise UseAShortRetryDelay(
            f"an alert message may wait at most {MAX_ALERT_DELAY_SECONDS:.0f}s, not "
            f"{countdown:.0f}s: Redis would deliver it again after "
            f"{VISIBILITY_TIMEOUT_SECONDS}s"
        )


@lru_cache(maxsize=1)
def _broker() -> Broker:
    return make_broker(get_settings())


@lru_cache(maxsize=1)
def _processor() -> AlertProcessor:
    settings = get_settings()
    return AlertProcessor(
        get_database(settings.database_url),
        _broker(),
        inbox=get_database(settings.inbox_url),
        stuck_after=timedelta(seconds=settings.stuck_after_seconds),
        rules=order_rules(settings),
        limits=limits_from(settings),
    )


def enqueue_alert(
    key: str, expires_at: datetime, *, attempt: int = 0, countdown: float | None = None
) -> None:
    """Publish an alert again (sweeper, retries).

    Only the web's first message carries the alert's expiry. A follow-up must not: Celery
    would discard it and remember its id as revoked, while the processor itself decides
    what an over-age alert may still do (look up an order whose outcome is unknown).
    Each follow-up has an id of its own for the same reason. Never an ETA, and never a
    countdown near Redis's visibility timeout (``check_delay``).
    """
    check_delay(countdown)
    app.send_task(
        PROCESS_ALERT,
        args=[key],
        kwargs={"attempt": attempt},
        task_id=f"{key}~{uuid.uuid4().hex[:12]}",
        countdown=countdown,
        retry=False,
    )


@app.task(name=PROCESS_ALERT, acks_late=True)
def process_alert(key: str, attempt: int = 0) -> str:
    outcome = _processor().process(key, attempt=attempt)
    if outcome.wake is not None:
        # The alert that waited for this one's instrument goes now, not at its fallback.
        try:
            enqueue_alert(outcome.wake, datetime.now(UTC))
        except Exception as error:  # noqa: BLE001 - its own retry is the fallback
            log.warning("wake-up of %s not published (%s); it retries by itself", key, error)
    if outcome.retry_in is not None:
        log.info("alert %s waits %.1fs: %s", key, outcome.retry_in, outcome.reason)
        # Short countdowns only: far below Redis's visibility timeout. If this publish
        # fails, the alert is still 'accepted' in the ledger and the sweeper sends it.
        try:
            enqueue_alert(key, datetime.now(UTC), attempt=attempt + 1, countdown=outcome.retry_in)
        except Exception as error:  # noqa: BLE001 - any publish failure is the sweeper's
            log.warning("retry of %s not published (%s); the sweeper will", key, error)
    return outcome.status


@app.task(name=SWEEP, acks_late=False, ignore_result=True)
def sweep_alerts() -> dict[str, int]:
    settings = get_settings()
    report = sweep(
        get_database(settings.database_url),
        enqueue_alert,
        inbox=get_database(settings.inbox_url),
        now=datetime.now(UTC),
        # A message may simply be waiting behind others: re-send only when it has waited
        # as long as a started alert may go untouched.
        accepted_grace=timedelta(
            seconds=max(2 * settings.sweep_interval_seconds, settings.stuck_after_seconds)
        ),
        stuck_after=timedelta(seconds=settings.stuck_after_seconds),
    )
    _republish_halt(settings)
    return {
        "enqueued": len(report.enqueued),
        "expired": len(report.expired),
        "handed_over": len(report.handed_over),
    }


def _republish_halt(settings: Settings) -> None:
    """The gateway reads the halt from Redis: a Redis that lost it has it back by the
    next sweep."""
    with get_database(settings.database_url).read() as session:
        flag = read_halt(session).flag()
    client = redis.Redis.from_url(settings.redis_url, socket_timeout=2)
    try:
        publish_halt(client, flag)
    except redis.RedisError as error:
        log.warning("halt flag not published (%s); the next sweep tries again", error)
    finally:
        client.close()


@app.task(name=PRUNE, acks_late=False, ignore_result=True)
def prune_ledger() -> dict[str, int]:
    settings = get_settings()
    report = prune(
        get_database(settings.database_url),
        inbox=get_database(settings.inbox_url),
        now=datetime.now(UTC),
        retention=timedelta(days=settings.retention_days),
    )
    return {
        "alerts": report.alerts,
        "rejections": report.rejections,
        "receipts": report.receipts,
    }


@app.task(name=SYNC_ORDERS, acks_late=False, ignore_result=True)
def sync_orders() -> dict[str, int]:
    """Resting orders at a broker that does not push updates (OANDA): look them up."""
    report = sync_working_orders(get_database(get_settings().database_url), _broker())
    return {"looked_up": report.looked_up, "updated": report.updated, "failed": report.failed}


@app.task(name=NOOP, acks_late=True, ignore_result=True)
def noop(marker: str) -> None:
    """Does nothing but mark Redis: the floor a benchmark compares a real alert against."""
    import redis

    redis.Redis.from_url(get_settings().redis_url).set(marker, "1", ex=60)
