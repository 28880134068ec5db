"""Sending a plan's legs to the broker: each once, a bracket's children only after their
entry was placed, a leg marked ``submitting`` by an attempt that died looked up first."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy.orm import Session

from trading.alerts.model import Alert
from trading.brokers import port
from trading.brokers.port import Broker, BrokerOrder, Instrument, OrderRequest
from trading.errors import BrokerUnavailable, OrderRejected
from trading.keys import order_reference
from trading.ledger.db import Database
from trading.ledger.models import AlertRecord, OrderRecord, OrderStatus
from trading.ledger.plans import LegResult, mark_submitting, plan_detail, set_status

# How long one attempt keeps looking for a cancel to be confirmed or a close to fill
# before it hands the alert to its next attempt (the broker usually answers in well
# under this).
IN_ATTEMPT_WAIT_SECONDS = 1.0
_POLL_SECONDS = 0.05
# Legs that only take a position down: sent even while trading is halted.
REDUCING_LEGS = frozenset({"close", "tp", "sl"})


@dataclass(frozen=True)
class Work:
    """The alert a worker holds, and the instrument it holds with it."""

    key: str
    parsed: Alert
    instrument: Instrument
    lock: str
    expires_at: datetime
    alert_time: datetime


@dataclass(frozen=True)
class Send:
    order_pk: int
    leg: str
    request: OrderRequest
    resume: bool
    parent_leg: str | None = None


def _now() -> datetime:
    return datetime.now(UTC)


def mark(
    session: Session, alert: AlertRecord, work: Work, legs: set[str], now: datetime
) -> list[Send]:
    """Mark ``legs`` submitting (inside the caller's transaction) and say what to send."""
    attached = plan_detail(alert.plan).get("attached", {}) if alert.plan else {}
    return [
        Send(
            order.id,
            order.leg,
            _request(order, work, attached if order.parent_leg is None else {}),
            resume,
            order.parent_leg,
        )
        for order, resume in mark_submitting(session, alert, legs, now)
    ]


class LegSender:
    def __init__(self, database: Database, broker: Broker) -> None:
        self._db = database
        self._broker = broker

    def send(self, sends: list[Send], work: Work, sent: list[LegResult]) -> None:
        """Send each leg; what the broker said goes to ``sent`` for the caller to record."""
        failed: set[str] = set()
        for item in sends:
            if item.parent_leg in failed:
                reason = f"not sent: its {item.parent_leg} order was not placed"
                sent.append(LegResult(item.order_pk, status=OrderStatus.CANCELLED, reason=reason))
                failed.add(item.leg)
                continue
            result = self._place_one(item, work.expires_at)
            sent.append(result)
            if result.status is not None or (
                result.seen is not None and result.seen.status == port.REJECTED
            ):
                failed.add(item.leg)

    def until_settled(
        self, orders: dict[str, BrokerOrder | None], settled: Callable[[BrokerOrder], bool]
    ) -> list[str]:
        """Look again at unsettled orders for a moment; return those still unsettled."""
        deadline = time.monotonic() + IN_ATTEMPT_WAIT_SECONDS
        while True:
            pending = [r for r, o in orders.items() if o is not None and not settled(o)]
            if not pending or time.monotonic() >= deadline:
                return pending
            time.sleep(_POLL_SECONDS)
            for reference in pending:
                orders[reference] = self._broker.order_by_reference(reference)

    def _place_one(self, item: Send, expires_at: datetime) -> LegResult:
        if item.resume:
            seen = self._broker.order_by_reference(item.request.reference)
            if seen is not None:
                return LegResult(item.order_pk, seen=seen)
        if _now() >= expires_at:
            reason = "the alert reached its maximum age before its order was placed"
            return LegResult(item.order_pk, status=OrderStatus.EXPIRED, reason=reason)
        try:
            return LegResult(item.order_pk, seen=self._broker.submit(item.request))
        except OrderRejected as error:
            return LegResult(item.order_pk, status=OrderStatus.REJECTED, reason=error.reason)
        except BrokerUnavailable:
            # Raised only before anything was sent: the leg is simply not placed yet.
            self._set_planned(item.order_pk)
            raise

    def _set_planned(self, order_pk: int) -> None:
        with self._db.write() as session:
            order = session.get_one(OrderRecord, order_pk)
            set_status(session, order, OrderStatus.PLANNED, None, _now())


def _request(order: OrderRecord, work: Work, attached: dict[str, str]) -> OrderRequest:
    parsed = work.parsed
    return OrderRequest(
        reference=order.order_ref,
        symbol=order.symbol,
        side=order.side,  # type: ignore[arg-type]
        quantity=order.quantity,
        order_type=order.order_type,  # type: ignore[arg-type]
        limit_price=order.limit_price,
        reference_price=parsed.price,
        exchange=work.instrument.exchange,
        sec_type=work.instrument.sec_type,
        currency=work.instrument.currency,
        time_in_force=order.time_in_force or "day",  # type: ignore[arg-type]
        not_after=work.expires_at,
        stop_price=order.stop_price,
        trail_amount=order.trail_amount,
        trail_percent=order.trail_percent,
        outside_rth=order.outside_rth,
        parent_reference=(
            order_reference(work.key, order.parent_leg) if order.parent_leg else None
        ),
        oca_group=order.oca_group,
        reduces_only=order.leg in REDUCING_LEGS,
        take_profit_price=_decimal(attached.get("take_profit_price")),
        stop_loss_price=_decimal(attached.get("stop_loss_price")),
        trailing_stop_distance=_decimal(attached.get("trailing_stop_distance")),
    )


def _decimal(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)
