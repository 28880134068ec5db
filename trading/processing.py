"""Processing one accepted alert: claim it, plan once, place each leg once, record.

Safe to run any number of times for the same alert: the plan is durable, each leg is
marked ``submitting`` before the broker call (in the same transaction that claims the
alert), and a leg found ``submitting`` is looked up at the broker by its reference
before anything is sent again. A normal alert costs two ledger transactions here plus
the broker's own work.

The webhook writes only its inbox. The first worker to take an alert copies the receipt
into the ledger inside its claim transaction; the receipt's unique key lets only one of
two racing workers create it.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload

from trading.alerts.model import Alert
from trading.brokers.port import Broker, BrokerOrder, OrderRequest
from trading.errors import (
    BrokerStateUnknown,
    BrokerUnavailable,
    OperationalError,
    OrderRejected,
    RequestRefused,
    TemporaryError,
)
from trading.keys import order_reference
from trading.ledger.db import Database
from trading.ledger.inbox import ledger_copy, receipt
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


@dataclass(frozen=True)
class LegWork:
    """One leg to place now; ``resume`` means it may already be at the broker."""

    order_pk: int
    request: OrderRequest
    resume: bool


@dataclass
class Claimed:
    outcome: Outcome | None = None
    needs_position_of: str | None = None
    legs: list[LegWork] = field(default_factory=list)
    expires_at: datetime | None = None


@dataclass
class LegResult:
    order_pk: int
    seen: BrokerOrder | None = None
    status: str | None = None  # set when the leg ends without a broker answer
    reason: str | None = None


def _now() -> datetime:
    return datetime.now(UTC)


class AlertProcessor:
    """Runs alerts through planning and the broker, recording every step in the ledger."""

    def __init__(
        self, database: Database, broker: Broker, *, inbox: Database, stuck_after: timedelta
    ) -> None:
        self._db = database
        self._inbox = inbox
        self._broker = broker
        self._stuck_after = stuck_after

    def process(self, key: str, attempt: int = 0) -> Outcome:
        results: list[LegResult] = []
        try:
            claimed = self._claim_and_plan(key, position=None)
            if claimed.needs_position_of is not None:
                position = self._position(claimed.needs_position_of)
                claimed = self._claim_and_plan(key, position=position, reclaim=True)
            if claimed.outcome is not None:
                return claimed.outcome
            for leg in claimed.legs:
                results.append(self._place(leg, claimed.expires_at))
        except OrderRejected as error:
            self._record(key, results)
            return self._finish(key, AlertStatus.REJECTED, error.reason)
        except (TemporaryError, BrokerStateUnknown) as error:
            self._record(key, results)
            return self._retry_later(key, str(error), attempt)
        except RequestRefused as error:
            # A refused read (a position, a lookup) is no order rejection, and sending it
            # again would be refused again: stop, and say what a human should look at.
            self._record(key, results)
            reason = f"the broker refused a request; check the broker: {error}"
            return self._finish(key, AlertStatus.FAILED, reason)
        except OperationalError as error:
            # A refused credential, an unreadable request: no retry within the alert's age
            # can help, and a human must fix the setting or the code it names.
            self._record(key, results)
            reason = f"the broker cannot be used as configured: {error}"
            return self._finish(key, AlertStatus.FAILED, reason)
        return self._record(key, results, conclude=True)

    # --- the two ledger transactions ---------------------------------------------------

    def _claim_and_plan(
        self, key: str, *, position: Decimal | None, reclaim: bool = False
    ) -> Claimed:
        try:
            return self._claim_and_plan_once(key, position=position, reclaim=reclaim)
        except IntegrityError:
            # Another worker copied the receipt into the ledger first: take it as theirs.
            return self._claim_and_plan_once(key, position=position, reclaim=reclaim)

    def _claim_and_plan_once(self, key: str, *, position: Decimal | None, reclaim: bool) -> Claimed:
        """Take the alert's lease, plan it if needed, and mark the legs to send now."""
        now = _now()
        with self._db.write() as session:
            alert = self._alert(session, key)
            if alert is None:
                found = receipt(self._inbox, key)
                if found is None:
                    return Claimed(Outcome("missing", reason=f"no alert with key {key}"))
                if found.status != AlertStatus.ACCEPTED:
                    # Too old on arrival: the webhook said so, and it is never traded.
                    return Claimed(Outcome(found.status, reason=found.reason))
                alert = ledger_copy(found, now=now)
                session.add(alert)
            if not reclaim:
                refused = self._lease(alert, now)
                if refused is not None:
                    return Claimed(refused)
            elif alert.status != AlertStatus.PROCESSING:
                # Looking up the position took long enough for the sweeper to act meanwhile.
                return Claimed(Outcome(alert.status, reason=alert.reason))
            parsed = Alert.from_json(json.loads(alert.parsed))
            if alert.plan is None:
                if parsed.action == "close" and position is None:
                    return Claimed(needs_position_of=parsed.symbol)
                plan = plan_alert(parsed, position=position, capabilities=self._broker.capabilities)
                self._record_plan(alert, parsed, plan, now)
                if not plan.legs:
                    self._close(alert, AlertStatus.DONE, plan.detail.get("reason"), now)
                    return Claimed(Outcome(AlertStatus.DONE, reason=alert.reason))
            legs = self._mark_submitting(session, alert, parsed, now)
            return Claimed(legs=legs, expires_at=alert.expires_at)

    @staticmethod
    def _mark_submitting(
        session: Session, alert: AlertRecord, parsed: Alert, now: datetime
    ) -> list[LegWork]:
        """Mark the legs about to be sent (before any broker call); resume the marked ones."""
        work = []
        for order in alert.orders:
            if order.status not in (OrderStatus.PLANNED, OrderStatus.SUBMITTING):
                continue
            resume = order.status == OrderStatus.SUBMITTING
            if not resume:
                order.status = OrderStatus.SUBMITTING
                order.submitting_at = order.updated_at = now
            work.append((order, resume))
        session.flush()  # new orders get their ids (inserted as submitting at once)
        for order, resume in work:
            if not resume:
                record_event(session, order, order.order_ref, "submitting", {})
        return [
            LegWork(order.id, _request(order, parsed, alert.expires_at), resume)
            for order, resume in work
        ]

    def _record(self, key: str, results: list[LegResult], conclude: bool = False) -> Outcome:
        """Record what the broker said about each leg; with ``conclude``, settle the alert."""
        now = _now()
        with self._db.write() as session:
            alert = self._existing(session, key)
            by_pk = {order.id: order for order in alert.orders}
            for result in results:
                order = by_pk[result.order_pk]
                if result.seen is not None:
                    apply_broker_order(session, order, result.seen)
                elif result.status is not None:
                    order.status, order.reason, order.updated_at = result.status, result.reason, now
                    record_event(
                        session, order, order.order_ref, result.status, {"reason": result.reason}
                    )
            if not conclude:
                return Outcome(alert.status)
            statuses = [order.status for order in alert.orders]
            reasons = [order.reason for order in alert.orders if order.reason]
            if statuses and all(s == OrderStatus.REJECTED for s in statuses):
                self._close(alert, AlertStatus.REJECTED, reasons[0] if reasons else None, now)
            elif any(s == OrderStatus.EXPIRED for s in statuses):
                self._close(alert, AlertStatus.EXPIRED, reasons[0] if reasons else None, now)
            else:
                self._close(alert, AlertStatus.DONE, None, now)
            return Outcome(alert.status, reason=alert.reason)

    # --- the broker -------------------------------------------------------------------

    def _place(self, leg: LegWork, expires_at: datetime | None) -> LegResult:
        if leg.resume:
            seen = self._broker.order_by_reference(leg.request.reference)
            if seen is not None:
                return LegResult(leg.order_pk, seen=seen)
        if expires_at is not None and _now() >= expires_at:
            reason = "the alert reached its maximum age before its order was placed"
            return LegResult(leg.order_pk, status=OrderStatus.EXPIRED, reason=reason)
        try:
            return LegResult(leg.order_pk, seen=self._broker.submit(leg.request))
        except OrderRejected as error:
            return LegResult(leg.order_pk, status=OrderStatus.REJECTED, reason=error.reason)
        except BrokerUnavailable:
            # Raised only before anything was sent: the leg is simply not placed yet.
            self._set_status(leg.order_pk, OrderStatus.PLANNED)
            raise

    def _position(self, symbol: str) -> Decimal:
        wanted = same_instrument(symbol)
        for position in self._broker.positions():
            if same_instrument(position.symbol) == wanted:
                return position.quantity
        return Decimal(0)

    # --- helpers ----------------------------------------------------------------------

    def _lease(self, alert: AlertRecord, now: datetime) -> Outcome | None:
        if alert.status in AlertStatus.FINAL:
            return Outcome(alert.status, reason=alert.reason)
        lease_alive = alert.started_at is not None and alert.started_at > now - self._stuck_after
        if alert.status == AlertStatus.PROCESSING and lease_alive:
            return Outcome("busy", reason="another worker holds this alert")
        in_flight = any(o.status != OrderStatus.PLANNED for o in alert.orders)
        if now >= alert.expires_at and not in_flight:
            self._expire(alert, now)
            return Outcome(AlertStatus.EXPIRED, reason=alert.reason)
        alert.status = AlertStatus.PROCESSING
        alert.started_at = alert.updated_at = now
        alert.attempts += 1
        return None

    def _record_plan(self, alert: AlertRecord, parsed: Alert, plan: Plan, now: datetime) -> None:
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

    def _set_status(self, order_pk: int, status: str) -> None:
        with self._db.write() as session:
            order = session.get_one(OrderRecord, order_pk)
            order.status = status
            order.updated_at = _now()

    def _finish(self, key: str, status: str, reason: str | None) -> Outcome:
        with self._db.write() as session:
            alert = self._existing(session, key)
            self._close(alert, status, reason, _now())
        return Outcome(status, reason=reason)

    @staticmethod
    def _close(alert: AlertRecord, status: str, reason: str | None, now: datetime) -> None:
        alert.status, alert.reason = status, reason
        alert.finished_at = alert.updated_at = now
        log.info("alert %s %s%s", alert.key, status, f": {reason}" if reason else "")

    def _retry_later(self, key: str, reason: str, attempt: int) -> Outcome:
        now = _now()
        with self._db.write() as session:
            alert = self._existing(session, key)
            in_flight = any(o.status == OrderStatus.SUBMITTING for o in alert.orders)
            deadline = alert.expires_at + (UNKNOWN_OUTCOME_GRACE if in_flight else timedelta(0))
            if now >= deadline:
                if in_flight:
                    status = AlertStatus.FAILED
                    why = f"order outcome still unknown; check the broker: {reason}"
                else:
                    status = AlertStatus.EXPIRED
                    why = f"broker unavailable until the alert's maximum age: {reason}"
                for order in alert.orders:
                    if order.status == OrderStatus.PLANNED:
                        order.status, order.reason = OrderStatus.EXPIRED, why
                self._close(alert, status, why, now)
                return Outcome(status, reason=why)
            # Release the lease so the retry can take it at once; the retry message is ours,
            # so the sweeper need not add one.
            alert.status = AlertStatus.ACCEPTED
            alert.reason = f"waiting: {reason}"
            alert.updated_at = alert.enqueued_at = now
            remaining = (deadline - now).total_seconds()
        delay = min(5.0, 0.5 * (attempt + 1), max(0.1, remaining))
        return Outcome("retry", retry_in=delay, reason=reason)

    @staticmethod
    def _expire(alert: AlertRecord, now: datetime) -> None:
        age = (now - alert.alert_time).total_seconds()
        waiting = alert.reason.removeprefix("waiting: ") if alert.reason else None
        reason = f"alert was {age:.0f} s old before it could be placed" + (
            f" (last problem: {waiting})" if waiting else ""
        )
        for order in alert.orders:
            if order.status == OrderStatus.PLANNED:
                order.status, order.reason = OrderStatus.EXPIRED, reason
        AlertProcessor._close(alert, AlertStatus.EXPIRED, reason, now)

    def _existing(self, session: Session, key: str) -> AlertRecord:
        alert = self._alert(session, key)
        found = receipt(self._inbox, key) if alert is None else None
        if alert is None and found is not None and found.status == AlertStatus.ACCEPTED:
            # The claim that copied it rolled back (planning refused the alert, say).
            alert = ledger_copy(found, now=_now())
            session.add(alert)
        if alert is None:
            raise OperationalError(f"alert {key} vanished from the ledger while processing")
        return alert

    @staticmethod
    def _alert(session: Session, key: str) -> AlertRecord | None:
        # One joined query: about half the cost of loading the relationships separately.
        return (
            session.scalars(
                select(AlertRecord)
                .where(AlertRecord.key == key)
                # PostgreSQL: two deliveries of one alert must not both take its lease.
                # (SQLite's BEGIN IMMEDIATE already serialises every writer.)
                .with_for_update(of=AlertRecord)
                .options(
                    joinedload(AlertRecord.orders).joinedload(OrderRecord.fills),
                    joinedload(AlertRecord.plan),
                )
            )
            .unique()
            .one_or_none()
        )


def same_instrument(symbol: str) -> str:
    """A symbol as brokers and alerts may each spell it: EUR/USD, EUR.USD and EURUSD, or
    BRK.B and BRK B, compare equal."""
    return "".join(ch for ch in symbol.upper() if ch.isalnum())


def _request(order: OrderRecord, parsed: Alert, expires_at: datetime) -> OrderRequest:
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
        not_after=expires_at,
    )
