"""The alert's life cycle and its plan's stages: every status change happens here.

An alert::

    accepted ──► processing ──► done | rejected | expired | failed
        ▲            │  ▲
        │            ▼  │
        └──────── waiting        (a retry message is on its way; ``reason`` says why)

``waiting`` is a state of its own: the problem it waits out is its reason, never a state
written into text. Expiry has one rule, used by workers and the sweeper alike: an alert
past its maximum age with nothing at the broker is expired; with an order whose outcome
is unknown it may still be looked up, never sent again.

A plan (``PlanRecord.stage``): ``cancel`` our working orders on the instrument →
``place`` (the orders from the position read then) → ``open`` (a close across zero has
been sent; the opening leg waits for its fill) → ``done``.
"""

from __future__ import annotations

import logging
from datetime import datetime

from trading.ledger.models import AlertRecord, AlertStatus, OrderStatus

log = logging.getLogger(__name__)


class PlanStage:
    CANCEL = "cancel"
    PLACE = "place"
    OPEN = "open"
    DONE = "done"


# An alert not being processed may still end: over age (the sweeper), or refused by a
# check that runs before its lease is taken.
_ALLOWED: dict[str, frozenset[str]] = {
    AlertStatus.ACCEPTED: frozenset({AlertStatus.PROCESSING, *AlertStatus.FINAL}),
    AlertStatus.WAITING: frozenset({AlertStatus.PROCESSING, *AlertStatus.FINAL}),
    # Processing → processing: a lease taken over from a worker that died.
    AlertStatus.PROCESSING: frozenset(
        {
            AlertStatus.PROCESSING,
            AlertStatus.WAITING,
            AlertStatus.DONE,
            AlertStatus.REJECTED,
            AlertStatus.EXPIRED,
            AlertStatus.FAILED,
        }
    ),
}


class IllegalTransition(RuntimeError):
    """A bug: an alert asked to move where its life cycle does not go."""


def _move(alert: AlertRecord, status: str, reason: str | None, now: datetime) -> None:
    if status not in _ALLOWED.get(alert.status, frozenset()):
        raise IllegalTransition(f"alert {alert.key}: {alert.status} → {status}")
    alert.status, alert.reason, alert.updated_at = status, reason, now


def start(alert: AlertRecord, now: datetime) -> None:
    """Take the alert's lease: this worker processes it now."""
    _move(alert, AlertStatus.PROCESSING, None, now)
    alert.started_at = now
    alert.attempts += 1


def wait(alert: AlertRecord, reason: str, now: datetime) -> None:
    """Release the lease until the retry message (already on its way) arrives."""
    _move(alert, AlertStatus.WAITING, reason, now)
    alert.enqueued_at = now


def finish(alert: AlertRecord, status: str, reason: str | None, now: datetime) -> None:
    if status not in AlertStatus.FINAL:
        raise IllegalTransition(f"alert {alert.key}: {status} is not a final state")
    _move(alert, status, reason, now)
    alert.finished_at = now
    log.info("alert %s %s%s", alert.key, status, f": {reason}" if reason else "")


def has_orders_in_flight(alert: AlertRecord) -> bool:
    """True once any order may be at the broker: the alert can no longer simply expire."""
    return any(order.status != OrderStatus.PLANNED for order in alert.orders)


def expire(alert: AlertRecord, now: datetime) -> str:
    """Record the alert expired (over age, nothing at the broker); its planned orders too."""
    age = (now - alert.alert_time).total_seconds()
    reason = f"alert was {age:.0f} s old before it could be placed"
    if alert.status == AlertStatus.WAITING and alert.reason:
        reason += f" (last problem: {alert.reason})"
    for order in alert.orders:
        if order.status == OrderStatus.PLANNED:
            order.status, order.reason, order.updated_at = OrderStatus.EXPIRED, reason, now
    finish(alert, AlertStatus.EXPIRED, reason, now)
    return reason


def expires_now(alert: AlertRecord, now: datetime) -> bool:
    return now >= alert.expires_at and not has_orders_in_flight(alert)
