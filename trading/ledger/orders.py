"""Recording what brokers say about our orders: statuses, fills and events."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from trading.brokers import port
from trading.keys import strip_broker_suffix
from trading.ledger.models import FillRecord, OrderEventRecord, OrderRecord, OrderStatus

_FROM_BROKER = {
    port.SUBMITTED: OrderStatus.SUBMITTED,
    port.PARTIALLY_FILLED: OrderStatus.PARTIALLY_FILLED,
    port.FILLED: OrderStatus.FILLED,
    port.CANCELLED: OrderStatus.CANCELLED,
    port.REJECTED: OrderStatus.REJECTED,
}


_RANK = {
    OrderStatus.PLANNED: 0,
    OrderStatus.SUBMITTING: 1,
    OrderStatus.SUBMITTED: 2,
    OrderStatus.PARTIALLY_FILLED: 3,
    **{status: 4 for status in OrderStatus.FINAL},
}


def utcnow() -> datetime:
    return datetime.now(UTC)


def find_order(session: Session, reference: str) -> OrderRecord | None:
    return session.scalar(
        select(OrderRecord).where(OrderRecord.order_ref == strip_broker_suffix(reference))
    )


def record_event(
    session: Session, order: OrderRecord | None, reference: str, kind: str, detail: dict[str, Any]
) -> None:
    session.add(
        OrderEventRecord(
            order_pk=order.id if order else None,
            order_ref=reference,
            kind=kind,
            detail=json.dumps(detail, default=str),
            at=utcnow(),
        )
    )


def apply_broker_order(session: Session, order: OrderRecord, seen: port.BrokerOrder) -> bool:
    """Bring our record in line with the broker's view; return True if anything changed.

    A final state is never left for an earlier one (events may arrive out of order).
    """
    now = utcnow()
    changed = False
    new_status = _FROM_BROKER.get(seen.status, OrderStatus.SUBMITTED)
    # Never step back: a final state stays, and a late "submitted" snapshot does not undo
    # a partial fill that an event already recorded.
    if order.status not in OrderStatus.FINAL and _RANK[new_status] > _RANK.get(order.status, 0):
        order.status = new_status
        changed = True
    if seen.broker_order_id and order.broker_order_id != seen.broker_order_id:
        order.broker_order_id = seen.broker_order_id
        changed = True
    if seen.perm_id and order.perm_id != seen.perm_id:
        order.perm_id = seen.perm_id
        changed = True
    if seen.filled_quantity > order.filled_quantity:
        order.filled_quantity = seen.filled_quantity
        order.avg_fill_price = seen.avg_fill_price
        changed = True
    if seen.reason and not order.reason:
        order.reason = seen.reason
        changed = True
    changed = _merge_fills(order, seen.fills) or changed
    if changed:
        order.submitted_at = order.submitted_at or now
        if order.status == OrderStatus.FILLED:
            order.filled_at = order.filled_at or now
        if order.status == OrderStatus.CANCELLED:
            order.cancelled_at = order.cancelled_at or now
        order.updated_at = now
        record_event(session, order, order.order_ref, "broker_update", _summary(seen))
    return changed


def _merge_fills(order: OrderRecord, fills: tuple[port.Fill, ...]) -> bool:
    """Add fills not seen before; complete a commission that arrived after its fill."""
    changed = False
    known = {fill.broker_fill_id: fill for fill in order.fills}
    for fill in fills:
        recorded = known.get(fill.fill_id)
        if recorded is None:
            order.fills.append(
                FillRecord(
                    broker_fill_id=fill.fill_id,
                    quantity=fill.quantity,
                    price=fill.price,
                    commission=fill.commission,
                    filled_at=fill.at,
                )
            )
            changed = True
        elif recorded.commission is None and fill.commission is not None:
            # IB reports an execution before its commission.
            recorded.commission = fill.commission
            changed = True
    return changed


def apply_update_by_reference(session: Session, seen: port.BrokerOrder) -> OrderRecord | None:
    """Apply a broker update that arrived on its own (a resting order filled later)."""
    order = find_order(session, seen.reference)
    if order is None:
        record_event(session, None, seen.reference, "unmatched_broker_update", _summary(seen))
        return None
    apply_broker_order(session, order, seen)
    return order


def _summary(seen: port.BrokerOrder) -> dict[str, Any]:
    return {
        "status": seen.status,
        "filled": str(seen.filled_quantity),
        "avg_price": str(seen.avg_fill_price) if seen.avg_fill_price is not None else None,
        "broker_order_id": seen.broker_order_id,
        "reason": seen.reason,
    }
