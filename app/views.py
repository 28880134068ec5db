"""How ledger rows and inbox receipts look in API answers."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from trading.ledger.models import AlertRecord, AlertStatus, FillRecord, InboxRecord, OrderRecord


def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def fill_view(fill: FillRecord) -> dict[str, Any]:
    return {
        "fill_id": fill.broker_fill_id,
        "quantity": fill.quantity,
        "price": fill.price,
        "commission": fill.commission,
        "filled_at": _time(fill.filled_at),
    }


def order_view(order: OrderRecord, *, with_fills: bool = False) -> dict[str, Any]:
    view: dict[str, Any] = {
        "id": order.id,
        "order_ref": order.order_ref,
        "alert_id": order.alert.alert_id if order.alert else None,
        "leg": order.leg,
        "broker": order.broker,
        "broker_order_id": order.broker_order_id,
        "symbol": order.symbol,
        "side": order.side,
        "quantity": order.quantity,
        "order_type": order.order_type,
        "limit_price": order.limit_price,
        "stop_price": order.stop_price,
        "trail_amount": order.trail_amount,
        "trail_percent": order.trail_percent,
        "time_in_force": order.time_in_force,
        "outside_rth": order.outside_rth,
        "parent_leg": order.parent_leg,
        "oca_group": order.oca_group,
        "strategy": order.strategy,
        "instrument_id": order.instrument_id,
        "status": order.status,
        "filled_quantity": order.filled_quantity,
        "avg_fill_price": order.avg_fill_price,
        "reason": order.reason,
        "created_at": _time(order.created_at),
        "submitted_at": _time(order.submitted_at),
        "filled_at": _time(order.filled_at),
        "cancelled_at": _time(order.cancelled_at),
    }
    if with_fills:
        view["fills"] = [fill_view(fill) for fill in order.fills]
    return view


def _stored_body(text: str) -> dict[str, Any]:
    """The body as stored; one nested too deeply to read back (stored before nesting was
    bounded at the door) must not hide the alert's state."""
    try:
        return {"body": json.loads(text)}
    except (RecursionError, ValueError):
        return {"body": None, "body_error": "the stored body is nested too deeply to show"}


def _arrival_view(row: AlertRecord | InboxRecord) -> dict[str, Any]:
    """What both views show of the alert as it arrived."""
    return {
        "alert_id": row.alert_id,
        "key": row.key,
        "status": row.status,
        "reason": row.reason,
        "symbol": row.symbol,
        "action": row.action,
        "format": row.body_format,
        **_stored_body(row.body),
        "source_address": row.source_address,
        "received_at": _time(row.received_at),
        "alert_time": _time(row.alert_time),
        "expires_at": _time(row.expires_at),
    }


def alert_view(alert: AlertRecord) -> dict[str, Any]:
    plan = None
    if alert.plan is not None:
        plan = {
            "kind": alert.plan.kind,
            "stage": alert.plan.stage,
            "target_position": alert.plan.target_position,
            "instrument_id": alert.plan.instrument_id,
            "strategy": alert.plan.strategy,
            "drift": alert.plan.drift,
            "detail": json.loads(alert.plan.detail),
            "created_at": _time(alert.plan.created_at),
        }
    return {
        **_arrival_view(alert),
        "started_at": _time(alert.started_at),
        "finished_at": _time(alert.finished_at),
        "attempts": alert.attempts,
        "plan": plan,
        "orders": [order_view(order, with_fills=True) for order in alert.orders],
        "fills": [fill_view(fill) for order in alert.orders for fill in order.fills],
    }


def receipt_view(receipt: InboxRecord) -> dict[str, Any]:
    """An alert no worker has taken yet, in the same shape as one that has."""
    arrived_final = receipt.status != AlertStatus.ACCEPTED
    return {
        **_arrival_view(receipt),
        "started_at": None,
        "finished_at": _time(receipt.received_at) if arrived_final else None,
        "attempts": 0,
        "plan": None,
        "orders": [],
        "fills": [],
    }
