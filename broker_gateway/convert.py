"""ib_async objects → the plain dicts of the RPC contract (``trading.brokers.ibkr_protocol``)."""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

from ib_async import Order, Trade
from ib_async.order import OrderStatus

from broker_gateway.codes import ORDER_CANCELLED, ORDER_REJECTED
from broker_gateway.contracts import contract_symbol
from trading.brokers import port
from trading.keys import strip_broker_suffix

_CANCELLED = frozenset({OrderStatus.Cancelled, OrderStatus.ApiCancelled})
# The port's order types and IB's names for them, both ways.
IB_ORDER_TYPES: dict[str, str] = {
    "market": "MKT",
    "limit": "LMT",
    "stop": "STP",
    "stop_limit": "STP LMT",
    "trailing_stop": "TRAIL",
}
PORT_ORDER_TYPES: dict[str, str] = {ib: ours for ours, ib in IB_ORDER_TYPES.items()}
WITH_LIMIT_PRICE = frozenset({"LMT", "STP LMT"})
WITH_STOP_PRICE = frozenset({"STP", "STP LMT"})


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
    ib_type = (order.orderType or "").upper()
    return {
        "reference": strip_broker_suffix(order.orderRef),
        "broker_order_id": str(order_id) if order_id > 0 else f"perm-{order.permId}",
        "symbol": contract_symbol(trade.contract),
        "side": "buy" if order.action.upper() == "BUY" else "sell",
        "quantity": number(order.totalQuantity),
        # An IB type the port has no name for (a manual MOC, say) keeps IB's own name, so it
        # is never mistaken for a market order.
        "order_type": PORT_ORDER_TYPES.get(ib_type, ib_type.lower()),
        "status": order_status(trade, filled),
        "filled_quantity": number(filled) or "0",
        "avg_fill_price": number(avg_price),
        "limit_price": number(order.lmtPrice) if ib_type in WITH_LIMIT_PRICE else None,
        "stop_price": _stop_price(order, ib_type),
        "reason": f"IB error {error[0]}: {error[1]}" if error else None,
        "perm_id": str(order.permId) if order.permId else None,
        "fills": fills,
        "ib_status": status.status,
    }


def _stop_price(order: Order, ib_type: str) -> str | None:
    """Where a stop triggers: ``auxPrice`` for STP and STP LMT. A trailing stop's level moves
    with the market; it is known only as the initial ``trailStopPrice`` we may have set (its
    ``auxPrice`` is the trailing distance, not a price)."""
    if ib_type in WITH_STOP_PRICE:
        return number(order.auxPrice)
    if ib_type == "TRAIL":
        return number(order.trailStopPrice)
    return None
