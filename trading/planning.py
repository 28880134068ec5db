"""From an alert to the orders it should produce. Pure: the caller supplies the facts."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from trading.alerts.model import Alert
from trading.brokers.port import Capabilities, OrderType, Side
from trading.errors import OrderRejected


@dataclass(frozen=True)
class PlannedLeg:
    """One order of a plan. ``leg`` is stable: it names the order in every retry."""

    leg: str
    side: Side
    quantity: Decimal
    order_type: OrderType = "market"
    limit_price: Decimal | None = None


@dataclass(frozen=True)
class Plan:
    kind: str  # open | close | nothing
    legs: tuple[PlannedLeg, ...]
    detail: dict[str, Any] = field(default_factory=dict)


def plan_alert(alert: Alert, *, position: Decimal | None, capabilities: Capabilities) -> Plan:
    """The plan for ``alert``; ``position`` (signed) is needed only to close."""
    if alert.action == "close":
        return _plan_close(alert, position)
    if alert.quantity is None:
        raise ValueError("buy and sell alerts carry a quantity (the schema requires it)")
    _check_quantity(alert, alert.quantity, capabilities)
    leg = PlannedLeg(
        leg="entry",
        side=alert.action,
        quantity=alert.quantity,
        order_type=alert.order_type,
        limit_price=alert.limit_price,
    )
    return Plan("open", (leg,), {"action": alert.action, "quantity": str(alert.quantity)})


def _plan_close(alert: Alert, position: Decimal | None) -> Plan:
    if position is None:
        raise ValueError("closing needs the current position")
    detail = {"action": "close", "position_before": str(position)}
    if position == 0:
        return Plan("nothing", (), {**detail, "reason": f"already flat in {alert.symbol}"})
    quantity = abs(position)
    if alert.quantity is not None:
        quantity = min(quantity, alert.quantity)
    side: Side = "sell" if position > 0 else "buy"
    leg = PlannedLeg("close", side, quantity, alert.order_type, alert.limit_price)
    return Plan("close", (leg,), detail)


def _check_quantity(alert: Alert, quantity: Decimal, capabilities: Capabilities) -> None:
    fractional = quantity != quantity.to_integral_value()
    is_stock = (alert.sec_type or "STK") == "STK" and not _looks_like_forex(alert.symbol)
    if fractional and is_stock and not capabilities.fractional_quantities:
        raise OrderRejected(
            f"quantity {quantity} is fractional; this broker accepts whole shares only "
            "through its API (tvbridge never rounds an order silently)"
        )


def _looks_like_forex(symbol: str) -> bool:
    plain = symbol.replace("/", "")
    return len(plain) == 6 and plain.isalpha()
