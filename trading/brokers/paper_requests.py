"""The paper broker's order requests: what it refuses, the row it books, the order it reports."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from trading.brokers import port
from trading.ledger.models import PaperOrder

ORDER_TYPES = frozenset({"market", "limit", "stop", "stop_limit", "trailing_stop"})
TIMES_IN_FORCE = frozenset({"day", "gtc", "ioc", "fok"})
# Orders that never rest: filled when they begin working, or cancelled. The paper broker
# fills whole orders, so "what it can" (ioc) and "all of it" (fok) are the same.
IMMEDIATE = frozenset({"ioc", "fok"})
STOP_TYPES = frozenset({"stop", "stop_limit", "trailing_stop"})
LIMIT_TYPES = frozenset({"limit", "stop_limit"})

_ATTACHED_EXITS = ("take_profit_price", "stop_loss_price", "trailing_stop_distance")
_PRICE_FIELDS = ("limit_price", "stop_price", "trail_amount", "trail_percent")
# The price fields each type reads; any other one set is a request we would misread.
_USES: dict[str, frozenset[str]] = {
    "market": frozenset(),
    "limit": frozenset({"limit_price"}),
    "stop": frozenset({"stop_price"}),
    "stop_limit": frozenset({"limit_price", "stop_price"}),
    "trailing_stop": frozenset({"trail_amount", "trail_percent"}),
}
_NEEDS: dict[str, tuple[str, ...]] = {
    "limit": ("limit_price",),
    "stop": ("stop_price",),
    "stop_limit": ("stop_price", "limit_price"),
}


def _positive(value: Decimal) -> bool:
    return value.is_finite() and value > 0


def refusal(request: port.OrderRequest) -> str | None:
    """Why the paper broker refuses ``request`` as sent; None when it takes it."""
    attached = [name for name in _ATTACHED_EXITS if getattr(request, name) is not None]
    if attached:
        # Dropping them would leave a position without the exits the user asked for.
        return (
            f"the paper broker attaches no exits to an order ({', '.join(attached)}): "
            "send the exits as child orders (parent_reference, oca_group)"
        )
    if request.order_type not in ORDER_TYPES:
        return f"order type {request.order_type!r} is not one the paper broker takes"
    if request.time_in_force not in TIMES_IN_FORCE:
        return f"time in force {request.time_in_force!r} is not one the paper broker takes"
    if not _positive(request.quantity):
        return f"quantity must be positive, got {request.quantity}"
    if request.reference_price is not None and not _positive(request.reference_price):
        return f"reference_price must be positive, got {request.reference_price}"
    if request.parent_reference == request.reference:
        return f"order {request.reference} cannot be its own parent"
    return _price_refusal(request)


def _price_refusal(request: port.OrderRequest) -> str | None:
    kind = request.order_type
    for name in _PRICE_FIELDS:
        value: Decimal | None = getattr(request, name)
        if value is None:
            continue
        if name not in _USES[kind]:
            return f"a {kind} order takes no {name}"
        if not _positive(value):
            return f"{name} must be positive, got {value}"
    missing = [name for name in _NEEDS.get(kind, ()) if getattr(request, name) is None]
    if missing:
        return f"a {kind} order needs {' and '.join(missing)}"
    if kind == "trailing_stop":
        if (request.trail_amount is None) == (request.trail_percent is None):
            return "a trailing_stop order needs one of trail_amount and trail_percent"
        if request.trail_percent is not None and request.trail_percent >= 100:
            return f"trail_percent is a percentage below 100, got {request.trail_percent}"
    return None


def new_order(request: port.OrderRequest, now: datetime) -> PaperOrder:
    """The paper book's row for an accepted request, not yet working."""
    return PaperOrder(
        reference=request.reference,
        # Paper symbols are upper case, as alerts spell them, so a price, an order and a
        # position of one instrument always meet.
        symbol=request.symbol.upper(),
        side=request.side,
        quantity=request.quantity,
        order_type=request.order_type,
        limit_price=request.limit_price,
        stop_price=request.stop_price,
        trail_amount=request.trail_amount,
        trail_percent=request.trail_percent,
        time_in_force=request.time_in_force,
        outside_rth=request.outside_rth,
        parent_reference=request.parent_reference,
        oca_group=request.oca_group,
        triggered=False,
        status=port.SUBMITTED,
        filled_quantity=Decimal(0),
        created_at=now,
        updated_at=now,
    )


def to_port(order: PaperOrder) -> port.BrokerOrder:
    fills: tuple[port.Fill, ...] = ()
    if order.status == port.FILLED and order.avg_fill_price is not None:
        fills = (
            port.Fill(
                fill_id=f"paper-{order.id}",
                quantity=order.filled_quantity,
                price=order.avg_fill_price,
                at=order.filled_at or order.updated_at,
                commission=Decimal(0),
            ),
        )
    return port.BrokerOrder(
        reference=order.reference,
        broker_order_id=f"P{order.id}",
        symbol=order.symbol,
        side=order.side,  # type: ignore[arg-type]
        quantity=order.quantity,
        order_type=order.order_type,  # type: ignore[arg-type]
        status=order.status,
        filled_quantity=order.filled_quantity,
        avg_fill_price=order.avg_fill_price,
        limit_price=order.limit_price,
        reason=order.reason,
        fills=fills,
        # A trailing stop's column holds its current stop, which follows the price.
        stop_price=order.stop_price,
    )
