"""``python -m tasks.order_events``: records the IB gateway's order events in the ledger.

The gateway never touches the ledger; it writes status changes and fills to a Redis stream.
This consumer (a consumer group, so a second copy on another host shares the work) applies
each event with ``apply_update_by_reference`` (idempotent: fills are keyed by execution id
and a final status is never left), then acknowledges it. Events left unacknowledged by a
consumer that died are reclaimed. With ``BROKER`` other than ``ibkr`` it idles quietly.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import threading
import time
from typing import Any

import redis
from sqlalchemy import select
from sqlalchemy.orm import Session

from config.logging import configure_logging
from config.settings import Settings, get_settings
from trading.brokers import ibkr_protocol as wire
from trading.errors import TemporaryError
from trading.ledger.db import Database, get_database
from trading.ledger.models import OrderRecord, OrderStatus
from trading.ledger.orders import apply_update_by_reference, find_order, record_event

log = logging.getLogger("tasks.order_events")
BATCH = 200
BLOCK_MS = 1000
RECLAIM_IDLE_MS = 10_000


class OrderEventConsumer:
    def __init__(self, client: redis.Redis, database: Database, consumer: str) -> None:
        self._redis = client
        self._db = database
        self._consumer = consumer
        self._last_reclaim = 0.0

    def ensure_group(self) -> None:
        try:
            self._redis.xgroup_create(wire.EVENTS_STREAM, wire.EVENTS_GROUP, "0", mkstream=True)
        except redis.ResponseError as error:
            if "BUSYGROUP" not in str(error):
                raise

    def run(self, stop: threading.Event) -> None:
        group_ready = False
        while not stop.is_set():
            try:
                if not group_ready:
                    self.ensure_group()
                    group_ready = True
                    self._consume("0")  # our own pending events from before a restart
                self._reclaim()
                self._consume(">", block=BLOCK_MS)
            except redis.ResponseError as error:
                if "NOGROUP" not in str(error):
                    raise
                log.warning("event group missing (Redis restarted?); recreating it")
                group_ready = False
            except (redis.RedisError, TemporaryError) as error:
                log.warning("order events: %s; retrying", error)
                group_ready = False
                stop.wait(0.5)
            except Exception:
                log.exception("order events: unexpected failure; retrying in 1 s")
                group_ready = False
                stop.wait(1.0)

    def _consume(self, start: str, block: int | None = None) -> None:
        entries: Any = self._redis.xreadgroup(
            wire.EVENTS_GROUP,
            self._consumer,
            {wire.EVENTS_STREAM: start},
            count=BATCH,
            block=block,
        )
        for _stream, messages in entries or []:
            if messages:
                self.apply(messages)

    def _reclaim(self) -> None:
        now = time.monotonic()
        if now - self._last_reclaim < RECLAIM_IDLE_MS / 2000:
            return
        self._last_reclaim = now
        claimed: Any = self._redis.xautoclaim(
            wire.EVENTS_STREAM,
            wire.EVENTS_GROUP,
            self._consumer,
            min_idle_time=RECLAIM_IDLE_MS,
            start_id="0-0",
            count=BATCH,
        )
        messages = [m for m in claimed[1] if m[1]]
        if messages:
            self.apply(messages)

    def apply(self, messages: list[tuple[Any, dict[Any, Any]]]) -> None:
        """Record a batch in one transaction, then acknowledge it."""
        with self._db.write() as session:
            for entry_id, fields in messages:
                try:
                    event = json.loads(fields[b"event"])
                    update = wire.order_from_wire(event["order"]) if "order" in event else None
                except (KeyError, ValueError, TypeError, ArithmeticError) as error:
                    # A malformed event must not block every later one: log it and move on.
                    log.error("order event %r unreadable (%s): skipped", entry_id, error)
                    continue
                if update is not None:
                    apply_update_by_reference(session, update)
                elif event.get("kind") == "reconciled":
                    flag_unknown_at_broker(session, set(event.get("references") or ()))
                elif event.get("kind") == "missing_at_broker":
                    reference = event["reference"]
                    order = find_order(session, reference)
                    detail = {"detail": "IB has no such order"}
                    record_event(session, order, reference, "missing_at_broker", detail)
        self._redis.xack(wire.EVENTS_STREAM, wire.EVENTS_GROUP, *[m[0] for m in messages])


def flag_unknown_at_broker(session: Session, known: set[str]) -> None:
    """Open IBKR orders of ours that IB did not report after a reconnect: flagged (an event
    and a warning) for a human, never changed or re-sent from here."""
    rows = session.scalars(
        select(OrderRecord).where(
            OrderRecord.broker == "ibkr", OrderRecord.status.in_(OrderStatus.OPEN)
        )
    )
    for order in rows:
        if order.order_ref not in known:
            log.warning("order %s is open in the ledger but IB does not know it", order.order_ref)
            detail = {"status": order.status, "detail": "not reported by IB after reconnect"}
            record_event(session, order, order.order_ref, "missing_at_broker", detail)


def _stop_event() -> threading.Event:
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    return stop


def main(settings: Settings | None = None) -> None:
    settings = settings or get_settings()
    configure_logging(
        environment=settings.environment,
        level=settings.log_level,
        secrets=settings.secret_values(),
    )
    stop = _stop_event()
    if settings.broker != "ibkr":
        log.info("BROKER=%s: no IB order events to record; idling", settings.broker)
        stop.wait()
        return
    client = redis.Redis.from_url(settings.redis_url, socket_timeout=5, socket_connect_timeout=2)
    consumer = OrderEventConsumer(
        client, get_database(settings.database_url), f"ledger-{socket.gethostname()}-{os.getpid()}"
    )
    log.info("recording IB order events from %s", wire.EVENTS_STREAM)
    consumer.run(stop)


if __name__ == "__main__":
    main()
