"""Recording plans and their legs in the ledger, and what the broker said about them."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from trading.brokers.port import BrokerOrder
from trading.keys import order_reference
from trading.ledger.models import AlertRecord, OrderRecord, OrderStatus, PlanRecord
from trading.ledger.orders import apply_broker_order, record_event
from trading.planning import Decision, PlannedLeg


@dataclass(frozen=True)
class LegResult:
    """What became of one leg: the broker's view, or a status it ended in without one."""

    order_pk: int
    seen: BrokerOrder | None = None
    status: str | None = None
    reason: str | None = None


def record_plan(
    alert: AlertRecord,
    decision: Decision,
    *,
    stage: str,
    instrument_id: str,
    strategy: str | None,
    now: datetime,
) -> PlanRecord:
    detail = {**decision.detail, "cancel": list(decision.cancel)}
    if decision.reason:
        detail["reason"] = decision.reason
    alert.plan = PlanRecord(
        kind=decision.kind,
        detail=json.dumps(detail),
        created_at=now,
        stage=stage,
        target_position=decision.target,
        instrument_id=instrument_id,
        strategy=strategy,
        drift=decision.drift,
    )
    return alert.plan


def plan_detail(plan: PlanRecord) -> dict[str, Any]:
    return dict(json.loads(plan.detail))


def update_plan_detail(plan: PlanRecord, **values: Any) -> None:
    plan.detail = json.dumps({**plan_detail(plan), **values})


def add_legs(
    alert: AlertRecord,
    legs: Iterable[PlannedLeg],
    *,
    broker: str,
    symbol: str,
    now: datetime,
) -> None:
    plan = alert.plan
    assert plan is not None  # noqa: S101 - legs belong to a recorded plan
    for leg in legs:
        reference = order_reference(alert.key, leg.leg)
        alert.orders.append(
            OrderRecord(
                leg=leg.leg,
                broker=broker,
                order_ref=reference,
                symbol=symbol,
                side=leg.side,
                quantity=leg.quantity,
                order_type=leg.order_type,
                limit_price=leg.limit_price,
                stop_price=leg.stop_price,
                trail_amount=leg.trail_amount,
                trail_percent=leg.trail_percent,
                time_in_force=leg.time_in_force,
                outside_rth=leg.outside_rth,
                parent_leg=leg.parent_leg,
                oca_group=_oca_group(alert.key, leg) if leg.oca else None,
                instrument_id=plan.instrument_id,
                strategy=plan.strategy,
                status=OrderStatus.PLANNED,
                filled_quantity=Decimal(0),
                created_at=now,
                updated_at=now,
            )
        )


def mark_submitting(
    session: Session, alert: AlertRecord, legs: set[str], now: datetime
) -> list[tuple[OrderRecord, bool]]:
    """Mark the named legs about to be sent (before any broker call) and return them with
    ``resume`` True for those already marked: they may be at the broker."""
    work = []
    for order in alert.orders:
        if order.leg not in legs or order.status not in (
            OrderStatus.PLANNED,
            OrderStatus.SUBMITTING,
        ):
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
    return work


def apply_results(
    session: Session, alert: AlertRecord, results: Iterable[LegResult], now: datetime
) -> None:
    by_pk = {order.id: order for order in alert.orders}
    for result in results:
        order = by_pk[result.order_pk]
        if result.seen is not None:
            apply_broker_order(session, order, result.seen)
        elif result.status is not None:
            set_status(session, order, result.status, result.reason, now)


def set_status(
    session: Session, order: OrderRecord, status: str, reason: str | None, now: datetime
) -> None:
    order.status, order.reason, order.updated_at = status, reason, now
    record_event(session, order, order.order_ref, status, {"reason": reason})


def _oca_group(key: str, leg: PlannedLeg) -> str:
    # One group per protected entry, named after it so it is recognisable at the broker.
    return order_reference(key, leg.parent_leg or "entry") + ".oca"
