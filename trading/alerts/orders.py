"""The entry order's own terms: type and prices, time in force, extended hours, sizing.

Each type needs its prices and refuses the others', so that a price sent for the wrong
type is reported rather than silently unused: ``limit`` needs ``limit_price`` (or
``price``), ``stop`` needs ``stop_price``, ``stop_limit`` both, ``trailing_stop`` exactly
one of ``trail_amount``/``trail_percent``.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from trading.alerts.fields import Parsed
from trading.alerts.intents import Intent
from trading.alerts.spellings import (
    BOOLEANS,
    ORDER_TYPES,
    QUANTITY_TYPES,
    REFUSED_QUANTITY_TYPES,
    SEC_TYPES,
    TIME_IN_FORCE,
)

_NEEDS_LIMIT = ("limit", "stop_limit")
_NEEDS_STOP = ("stop", "stop_limit")
# What each sizing reads in quantity.
_AMOUNT_OF = {
    "cash": "amount of money to spend",
    "percent_of_equity": "percent of the account's equity",
    "risk": "amount of money to lose at the stop loss",
    "risk_percent": "percent of the account's equity to lose at the stop loss",
}
_PERCENT_SIZING = ("percent_of_equity", "risk_percent")
# Fields that only shape an order, so they have nothing to do on a cancel.
_ORDER_ONLY = (
    "limit_price",
    "stop_price",
    "trail_amount",
    "trail_percent",
    "time_in_force",
    "quantity_type",
)
HUNDRED = Decimal(100)


@dataclass(frozen=True)
class OrderTerms:
    order_type: str = "market"
    limit_price: Decimal | None = None
    stop_price: Decimal | None = None
    trail_amount: Decimal | None = None
    trail_percent: Decimal | None = None
    time_in_force: str | None = None
    outside_rth: bool = False


def order_terms(p: Parsed, intent: Intent, stop_loss_trails: bool) -> OrderTerms:
    """The order's terms; ``stop_loss_trails`` says flat trail fields belong to the stop loss."""
    order_type = _order_type(p)
    if intent.action == "cancel":
        _nothing_to_shape(p, order_type)
        return OrderTerms()
    limit_price, stop_price = _prices(p, order_type)
    trail_amount, trail_percent = _trail(p, order_type, stop_loss_trails)
    return OrderTerms(
        order_type=order_type,
        limit_price=limit_price,
        stop_price=stop_price,
        trail_amount=trail_amount,
        trail_percent=trail_percent,
        time_in_force=p.choice("time_in_force", TIME_IN_FORCE),
        outside_rth=_outside_rth(p, order_type),
    )


def reference_price(p: Parsed, terms: OrderTerms) -> Decimal | None:
    """The price the entry is expected at, which a bracket's prices must sit around."""
    if terms.order_type in _NEEDS_LIMIT:
        return terms.limit_price
    if terms.order_type == "stop":
        return terms.stop_price
    price: Decimal | None = p.data.get("price")
    return price


def _order_type(p: Parsed) -> str:
    value = p.data.get("order_type")
    if value is None:
        return "market"
    order_type = ORDER_TYPES.get(value.strip().lower())
    if order_type is None:
        p.fail(
            "order_type",
            f"must be one of {', '.join(ORDER_TYPES)} (any case), got {value!r}",
        )
        return "market"
    return order_type


def _prices(p: Parsed, order_type: str) -> tuple[Decimal | None, Decimal | None]:
    limit, stop = p.data.get("limit_price"), p.data.get("stop_price")
    if order_type == "limit" and limit is None and not p.given("limit_price"):
        limit = p.data.get("price")
        if limit is None and not p.given("price"):
            emptied = p.emptied.get("price")
            hint = f" ({p.name('price')} was {emptied!r})" if emptied else ""
            p.fail("limit_price", f"is required for a limit order (or send price){hint}")
    if order_type == "stop_limit" and limit is None and not p.given("limit_price"):
        p.fail("limit_price", "is required for a stop_limit order (its price once triggered)")
    if order_type in _NEEDS_STOP and stop is None and not p.given("stop_price"):
        p.fail("stop_price", f"is required for a {order_type} order (its trigger price)")
    if order_type not in _NEEDS_LIMIT and p.given("limit_price"):
        p.fail("limit_price", f"only goes with order_type limit or stop_limit, not {order_type}")
        limit = None
    if order_type not in _NEEDS_STOP and p.given("stop_price"):
        p.fail("stop_price", f"only goes with order_type stop or stop_limit, not {order_type}")
        stop = None
    return limit, stop


def _trail(
    p: Parsed, order_type: str, stop_loss_trails: bool
) -> tuple[Decimal | None, Decimal | None]:
    amount, percent = p.data.get("trail_amount"), p.data.get("trail_percent")
    if order_type != "trailing_stop":
        if (p.given("trail_amount") or p.given("trail_percent")) and not stop_loss_trails:
            name = p.name("trail_amount" if p.given("trail_amount") else "trail_percent")
            p.fail(
                "trail_amount" if p.given("trail_amount") else "trail_percent",
                f"{name} only goes with order_type trailing_stop or stop_loss_type trailing_stop",
            )
        return None, None
    if p.given("trail_amount") and p.given("trail_percent"):
        p.fail("trail_amount", "give one of trail_amount or trail_percent, not both")
    elif not (p.given("trail_amount") or p.given("trail_percent")):
        p.fail(
            "trail_amount",
            "is required for a trailing_stop order (a price distance), or send trail_percent",
        )
    if percent is not None and percent >= HUNDRED:
        p.fail("trail_percent", f"must be below 100, got {percent}")
    return amount, percent


def _outside_rth(p: Parsed, order_type: str) -> bool:
    value = parse_flag(p.data.get("outside_rth"))
    if value is None:
        if p.given("outside_rth"):
            p.fail(
                "outside_rth",
                f"must be true or false (also 1/0, yes/no), got {p.data['outside_rth']!r}",
            )
        return False
    if value and order_type in ("stop", "trailing_stop"):
        p.fail(
            "outside_rth",
            f"goes with limit or stop_limit orders, not {order_type} (a market order's is "
            "decided by the OUTSIDE_RTH setting)",
        )
    return value


def _nothing_to_shape(p: Parsed, order_type: str) -> None:
    if order_type != "market":
        p.fail("order_type", "does not go with cancel: a cancel places no order")
    for name in _ORDER_ONLY:
        if p.given(name):
            p.fail(name, "does not go with cancel: a cancel places no order")
    if parse_flag(p.data.get("outside_rth")):
        p.fail("outside_rth", "does not go with cancel: a cancel places no order")


def sizing(p: Parsed, intent: Intent, has_stop_loss: bool) -> tuple[Decimal | None, str]:
    """The quantity and how to read it."""
    quantity: Decimal | None = p.data.get("quantity")
    if intent.action == "reverse" and p.given("quantity"):
        p.fail(
            "quantity",
            "does not go with reverse, which flips the whole position to the same size on "
            "the other side",
        )
    quantity_type = _quantity_type(p)
    if quantity_type == "units":
        return quantity, quantity_type
    if intent.entry_side is None or intent.target_position is not None:
        p.fail(
            "quantity_type",
            f"{quantity_type} sizing goes with an entry (buy, sell, add, or a side to be on); "
            "a position (position_size) and a close are in units",
        )
    if quantity is None and not p.given("quantity"):
        p.fail(
            "quantity",
            f"is required with quantity_type {quantity_type}: the {_AMOUNT_OF[quantity_type]}",
        )
    if quantity is not None and quantity_type in _PERCENT_SIZING and quantity > HUNDRED:
        p.fail(
            "quantity",
            f"is a percent with quantity_type {quantity_type}: at most 100, got {quantity}",
        )
    if quantity_type in ("risk", "risk_percent") and not has_stop_loss:
        p.fail(
            "quantity_type",
            f"{quantity_type} sizing needs a stop loss (stop_loss, stop_loss_percent, "
            "stop_loss_offset or TradersPost's stopLoss): the risk is the distance to it",
        )
    return quantity, quantity_type


def _quantity_type(p: Parsed) -> str:
    value = p.data.get("quantity_type")
    if value is None:
        return "units"
    word = value.strip().lower()
    if word in REFUSED_QUANTITY_TYPES:
        p.fail("quantity_type", f"{value!r} {REFUSED_QUANTITY_TYPES[word]}")
        return "units"
    if word not in QUANTITY_TYPES:
        p.fail(
            "quantity_type",
            f"must be one of {', '.join(QUANTITY_TYPES)} (any case), got {value!r}",
        )
        return "units"
    return QUANTITY_TYPES[word]


def sec_type(p: Parsed) -> str | None:
    value = p.data.get("sec_type")
    if value is None:
        return None
    mapped = SEC_TYPES.get(value.strip().lower())
    if mapped is None:
        p.fail("sec_type", f"must be one of {', '.join(SEC_TYPES)} (any case), got {value!r}")
    return mapped


def parse_flag(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if value is None:
        return None
    return BOOLEANS.get(str(value).strip().lower())
