"""Processing one accepted alert: claim it, plan once, place each leg once, record.

Safe to run any number of times for the same alert: the plan is durable, each leg is
marked ``submitting`` before the broker call, and a leg found ``submitting`` is looked
up at the broker by its reference before anything is sent again.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from trading.alerts.model import Alert
from trading.brokers.port import Broker, OrderRequest
from trading.errors import BrokerStateUnknown, BrokerUnavailable, OrderRejected, TemporaryError
from trading.keys import order_reference
from trading.ledger.db import Database
from trading.ledger.models import AlertRecord, AlertStatus, OrderRecord, OrderStatus, PlanRecord
from trading.ledger.orders import apply_broker_order, record_event
from trading.planning import Plan, plan_alert

log = logging.getLogger(__name__)

# After an alert's maximum age, how long an unresolved submission keeps being looked up.
UNKNOWN_OUTCOME_GRACE = timedelta(minutes=10)


@dataclass(frozen=True)
class Outcome:
    status: str
    retry_in: float | None = None
    reason: str | None = None


def _now() -> datetime:
    return datetime.now(UTC)


class AlertProcessor:
    """Runs alerts through planning and the broker, recording every step in the ledger."""

    def __init__(self, database: Database, broker: Broker, *, stuck_after: timedelta) -> None:
        self._db = database
        self._broker = broker
        self._stuck_after = stuck_after

    def process(self, key: str, attempt: int = 0) -> Outcome:
        claimed = self._claim(key)
        if claimed is not None:
            return claimed
        try:
            plan_ready = self._ensure_plan(key)
            if plan_ready is not None:
                return plan_ready
            return self._place_legs(key)
        except OrderRejected as error:
            return self._finish(key, AlertStatus.REJECTED, error.reason)
        except (TemporaryError, BrokerStateUnknown) as error:
            return self._retry_later(key, str(error), attempt)

    # --- steps ------------------------------------------------------------------------

    def _claim(self, key: str) -> Outcome | None:
        """Take the alert's lease, or say why there is nothing to do."""
        now = _now()
        with self._db.write() as session:
            alert = session.scalar(select(AlertRecord).where(AlertRecord.key == key))
            if alert is None:
                return Outcome("missing", reason=f"no alert with key {key}")
            if alert.status in AlertStatus.FINAL:
                return Outcome(alert.status, reason=alert.reason)
            lease_alive = (
                alert.started_at is not None and alert.started_at > now - self._stuck_after
            )
            if alert.status == AlertStatus.PROCESSING and lease_alive:
                return Outcome("busy", reason="another worker holds this alert")
            in_flight = any(o.status != OrderStatus.PLANNED for o in alert.orders)
            if now >= alert.expires_at and not in_flight:
                self._expire(alert, now)
                return Outcome(AlertStatus.EXPIRED, reason=alert.reason)
            alert.status = AlertStatus.PROCESSING
            alert.started_at = now
            alert.attempts += 1
            alert.updated_at = now
        return None

    def _ensure_plan(self, key: str) -> Outcome | None:
        with self._db.read() as session:
            alert = self._alert(session, key)
            if alert.plan is not None:
                return None
            parsed = Alert.from_json(json.loads(alert.parsed))
        position = self._position(parsed.symbol) if parsed.action == "close" else None
        plan = plan_alert(parsed, position=position, capabilities=self._broker.capabilities)
        with self._db.write() as session:
            alert = self._alert(session, key)
            if alert.plan is None:  # a concurrent run may have planned it meanwhile
                self._record_plan(alert, parsed, plan)
        if not plan.legs:
            return self._finish(key, AlertStatus.DONE, plan.detail.get("reason"))
        return None

    def _place_legs(self, key: str) -> Outcome:
        with self._db.read() as session:
            alert = self._alert(session, key)
            parsed = Alert.from_json(json.loads(alert.parsed))
            legs = [(o.id, o.order_ref, o.status) for o in alert.orders]
            expires_at = alert.expires_at
        for order_pk, reference, status in legs:
            if status in OrderStatus.FINAL or status in OrderStatus.OPEN:
                continue
            seen = self._broker.order_by_reference(reference) if status == "submitting" else None
            if seen is None:
                if _now() >= expires_at:
                    self._expire_order(order_pk, "the alert reached its maximum age before placing")
                    continue
                self._mark_submitting(key, order_pk)
                try:
                    seen = self._broker.submit(self._request(order_pk, parsed))
                except OrderRejected as error:
                    self._reject_order(order_pk, error.reason)
                    continue
                except BrokerUnavailable:
                    # Raised only before anything was sent: the leg is simply not placed yet.
                    self._set_status(order_pk, OrderStatus.PLANNED)
                    raise
            with self._db.write() as session:
                order = session.get_one(OrderRecord, order_pk)
                apply_broker_order(session, order, seen)
        return self._conclude(key)

    # --- helpers ----------------------------------------------------------------------

    def _position(self, symbol: str) -> Decimal:
        for position in self._broker.positions():
            if position.symbol == symbol:
                return position.quantity
        return Decimal(0)

    def _record_plan(self, alert: AlertRecord, parsed: Alert, plan: Plan) -> None:
        now = _now()
        alert.plan = PlanRecord(
            kind=plan.kind,
            detail=json.dumps({**plan.detail, "legs": [leg.leg for leg in plan.legs]}),
            created_at=now,
        )
        for leg in plan.legs:
            alert.orders.append(
                OrderRecord(
                    leg=leg.leg,
                    broker=self._broker.name,
                    order_ref=order_reference(alert.key, leg.leg),
                    symbol=parsed.symbol,
                    side=leg.side,
                    quantity=leg.quantity,
                    order_type=leg.order_type,
                    limit_price=leg.limit_price,
                    status=OrderStatus.PLANNED,
                    filled_quantity=Decimal(0),
                    created_at=now,
                    updated_at=now,
                )
            )

    def _request(self, order_pk: int, parsed: Alert) -> OrderRequest:
        with self._db.read() as session:
            order = session.get_one(OrderRecord, order_pk)
            return OrderRequest(
                reference=order.order_ref,
                symbol=order.symbol,
                side=order.side,  # type: ignore[arg-type]
                quantity=order.quantity,
                order_type=order.order_type,  # type: ignore[arg-type]
                limit_price=order.limit_price,
                reference_price=parsed.price,
                exchange=parsed.exchange,
                sec_type=parsed.sec_type,
                currency=parsed.currency,
            )

    def _mark_submitting(self, key: str, order_pk: int) -> None:
        now = _now()
        with self._db.write() as session:
            order = session.get_one(OrderRecord, order_pk)
            order.status = OrderStatus.SUBMITTING
            order.submitting_at = order.submitting_at or now
            order.updated_at = now
            alert = self._alert(session, key)
            alert.started_at = now  # keep the lease fresh
            record_event(session, order, order.order_ref, "submitting", {})

    def _set_status(self, order_pk: int, status: str) -> None:
        with self._db.write() as session:
            order = session.get_one(OrderRecord, order_pk)
            order.status = status
            order.updated_at = _now()

    def _reject_order(self, order_pk: int, reason: str) -> None:
        with self._db.write() as session:
            order = session.get_one(OrderRecord, order_pk)
            order.status = OrderStatus.REJECTED
            order.reason = reason
            order.updated_at = _now()
            record_event(session, order, order.order_ref, "rejected", {"reason": reason})

    def _expire_order(self, order_pk: int, reason: str) -> None:
        with self._db.write() as session:
            order = session.get_one(OrderRecord, order_pk)
            order.status = OrderStatus.EXPIRED
            order.reason = reason
            order.updated_at = _now()

    def _conclude(self, key: str) -> Outcome:
        with self._db.read() as session:
            orders = self._alert(session, key).orders
            statuses = [o.status for o in orders]
            reasons = [o.reason for o in orders if o.reason]
        if statuses and all(s == OrderStatus.REJECTED for s in statuses):
            return self._finish(key, AlertStatus.REJECTED, reasons[0] if reasons else None)
        if any(s == OrderStatus.EXPIRED for s in statuses):
            return self._finish(key, AlertStatus.EXPIRED, reasons[0] if reasons else None)
        return self._finish(key, AlertStatus.DONE, None)

    def _finish(self, key: str, status: str, reason: str | None) -> Outcome:
        now = _now()
        with self._db.write() as session:
            alert = self._alert(session, key)
            alert.status = status
            alert.reason = reason
            alert.finished_at = now
            alert.updated_at = now
        log.info("alert %s %s%s", key, status, f": {reason}" if reason else "")
        return Outcome(status, reason=reason)

    def _retry_later(self, key: str, reason: str, attempt: int) -> Outcome:
        now = _now()
        with self._db.write() as session:
            alert = self._alert(session, key)
            in_flight = any(o.status == OrderStatus.SUBMITTING for o in alert.orders)
            deadline = alert.expires_at + (UNKNOWN_OUTCOME_GRACE if in_flight else timedelta(0))
            if now >= deadline:
                alert.status = AlertStatus.EXPIRED if not in_flight else AlertStatus.FAILED
                alert.reason = (
                    f"broker unavailable until the alert's maximum age: {reason}"
                    if not in_flight
                    else f"order outcome still unknown; check the broker: {reason}"
                )
                alert.finished_at = alert.updated_at = now
                for order in alert.orders:
                    if order.status == OrderStatus.PLANNED:
                        order.status, order.reason = OrderStatus.EXPIRED, alert.reason
                return Outcome(alert.status, reason=alert.reason)
            # Release the lease so the retry (or the sweeper) can take it at once.
            alert.status = AlertStatus.ACCEPTED
            alert.reason = f"waiting: {reason}"
            alert.updated_at = now
            alert.enqueued_at = now  # the retry is our message; the sweeper need not add one
            remaining = (deadline - now).total_seconds()
        delay = min(5.0, 0.5 * (attempt + 1), max(0.1, remaining))
        return Outcome("retry", retry_in=delay, reason=reason)

    @staticmethod
    def _expire(alert: AlertRecord, now: datetime) -> None:
        age = (now - alert.alert_time).total_seconds()
        waiting = alert.reason.removeprefix("waiting: ") if alert.reason else None
        alert.status = AlertStatus.EXPIRED
        alert.reason = f"alert was {age:.0f} s old before it could be placed" + (
            f" (last problem: {waiting})" if waiting else ""
        )
        alert.finished_at = alert.updated_at = now
        for order in alert.orders:
            if order.status == OrderStatus.PLANNED:
                order.status, order.reason = OrderStatus.EXPIRED, alert.reason

    @staticmethod
    def _alert(session: Session, key: str) -> AlertRecord:
        return session.scalars(select(AlertRecord).where(AlertRecord.key == key)).one()
