"""ib_async objects → the plain dicts of the RPC contract (``trading.brokers.ibkr_protocol``)."""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

from ib_async import Trade
from ib_async.order import OrderStatus

from broker_gateway.codes import ORDER_CANCELLED, ORDER_REJECTED
from broker_gateway.contracts import contract_symbol
from trading.brokers import port
from trading.keys import strip_broker_suffix

_CANCELLED = frozenset({OrderStatus.Cancelled, OrderStatus.ApiCancelled})


def number(value: float | Decimal | None) -> str | None:
    """A float from IB as an exact decimal string; IB's "unset" values become None."""
    if value is None:
        return None
    as_float = float(value)
    if math.isnan(as_float) or abs(as_float) >= 1e300:  # IB's "unset" is the largest double
        return None
    return str(Decimal(repr(as_float)))


def last_error(trade: Trade) -> tuple[int, str] | None:
    """The last error IB reported for this order (code, message), if any."""
    for entry in reversed(trade.log):
        if entry.errorCode:
            return entry.errorCode, entry.message
    return None


def order_status(trade: Trade, filled: float) -> str:
    status = trade.orderStatus.status
    if status == OrderStatus.Filled:
        return port.FILLED
    error = last_error(trade)
    if status in _CANCELLED or status == OrderStatus.Inactive:
        if error and error[0] in ORDER_REJECTED:
            return port.REJECTED
        if status == OrderStatus.Inactive and error and error[0] not in ORDER_CANCELLED:
            return port.REJECTED
        return port.CANCELLED if status != OrderStatus.Inactive else port.SUBMITTED
    if filled > 0:
        return port.PARTIALLY_FILLED
    return port.SUBMITTED


def trade_to_wire(trade: Trade) -> dict[str, Any]:
    """One of our orders as a ``BrokerOrder`` dict, fills included."""
    order, status = trade.order, trade.orderStatus
    fills = [
        {
            "fill_id": fill.execution.execId,
            "quantity": number(fill.execution.shares),
            "price": number(fill.execution.price),
            "at": fill.time.isoformat() if fill.time else fill.execution.time.isoformat(),
            "commission": number(fill.commissionReport.commission)
            if fill.commissionReport.execId
            else None,
        }
        for fill in trade.fills
    ]
    filled_by_fills = sum(fill.execution.shares for fill in trade.fills)
    filled = max(status.filled or 0.0, filled_by_fills)
    avg_price = status.avgFillPrice or None
    if not avg_price and filled_by_fills:
        avg_price = (
            sum(f.execution.shares * f.execution.price for f in trade.fills) / filled_by_fills
        )
    error = last_error(trade)
    order_id = order.orderId or status.orderId
    return {
        "reference": strip_broker_suffix(order.orderRef),
        "broker_order_id": str(order_id) if order_id > 0 else f"perm-{order.permId}",
        "symbol": contract_symbol(trade.contract),
        "side": "buy" if order.action.upper() == "BUY" else "sell",
        "quantity": number(order.totalQuantity),
        "order_type": "limit" if order.orderType == "LMT" else "market",
        "status": order_status(trade, filled),
        "filled_quantity": number(filled) or "0",
        "avg_fill_price": number(avg_price),
        "limit_price": number(order.lmtPrice) if order.orderType == "LMT" else None,
        "reason": f"IB error {error[0]}: {error[1]}" if error else None,
        "perm_id": str(order.permId) if order.permId else None,
        "fills": fills,
        "ib_status": status.status,
    }
