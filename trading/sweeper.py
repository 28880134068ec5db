"""The outbox sweeper: nothing accepted is ever left behind.

It finds alerts that were accepted but never picked up (the enqueue failed or Redis lost
the message) and alerts abandoned mid-processing (a worker died), and enqueues them
again. Over-age alerts with nothing in flight are recorded expired, never re-enqueued.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from trading.ledger.alerts import stranded_alerts
from trading.ledger.db import Database
from trading.ledger.models import AlertStatus, OrderStatus

log = logging.getLogger(__name__)

Enqueue = Callable[[str, datetime], None]


@dataclass(frozen=True)
class SweepReport:
    enqueued: tuple[str, ...]
    expired: tuple[str, ...]
    failed: tuple[str, ...]


def sweep(
    database: Database,
    enqueue: Enqueue,
    *,
    now: datetime,
    accepted_grace: timedelta,
    stuck_after: timedelta,
) -> SweepReport:
    to_enqueue: list[tuple[str, datetime]] = []
    expired: list[str] = []
    with database.write() as session:
        for alert in stranded_alerts(
            session, now=now, accepted_grace=accepted_grace, stuck_after=stuck_after
        ):
            in_flight = any(o.status != OrderStatus.PLANNED for o in alert.orders)
            if now >= alert.expires_at and not in_flight:
                age = (now - alert.alert_time).total_seconds()
                waiting = alert.reason.removeprefix("waiting: ") if alert.reason else None
                alert.status = AlertStatus.EXPIRED
                alert.reason = f"alert was {age:.0f} s old and had not been placed" + (
                    f" (last problem: {waiting})" if waiting else ""
                )
                alert.finished_at = alert.updated_at = now
                for order in alert.orders:
                    order.status, order.reason = OrderStatus.EXPIRED, alert.reason
                expired.append(alert.key)
                continue
            if alert.enqueued_at is not None and alert.enqueued_at > now - accepted_grace:
                continue  # re-enqueued recently; give that message time
            alert.enqueued_at = now
            to_enqueue.append((alert.key, alert.expires_at))
    enqueued, failed = [], []
    for key, expires_at in to_enqueue:
        try:
            enqueue(key, expires_at)
            enqueued.append(key)
        except Exception as error:  # noqa: BLE001 - any publish failure: try next sweep
            log.warning("sweeper could not enqueue %s: %s", key, error)
            failed.append(key)
    if enqueued or expired:
        log.info("sweeper re-enqueued %d, expired %d", len(enqueued), len(expired))
    return SweepReport(tuple(enqueued), tuple(expired), tuple(failed))
