"""When a working order trades, and at what price: pure functions over one order."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from ibsim.model import SimOrder


def update_trailing_stop(order: SimOrder, price: float) -> None:
    """Ratchet a TRAIL order's stop behind the market; it never moves against the holder."""
    if order.order_type != "TRAIL":
        return
    if order.trailing_percent is not None:
        distance = price * order.trailing_percent / 100.0
    else:
        distance = order.stop_price or 0.0
    if order.is_buy:
        candidate = price + distance
        if order.trail_stop is None or candidate < order.trail_stop:
            order.trail_stop = candidate
    else:
        candidate = price - distance
        if order.trail_stop is None or candidate > order.trail_stop:
            order.trail_stop = candidate


def stop_level(order: SimOrder) -> float | None:
    if order.order_type == "TRAIL":
        return order.trail_stop
    return order.stop_price


def is_triggered(order: SimOrder, price: float) -> bool:
    """Whether the stop part (if any) of an order has been touched."""
    if order.order_type not in ("STP", "STP LMT", "TRAIL") or order.triggered:
        return True
    level = stop_level(order)
    if level is None:
        return False
    return price >= level if order.is_buy else price <= level


def fill_price(order: SimOrder, price: float) -> float | None:
    """The execution price against a market at ``price``, or None if it cannot trade."""
    if not is_triggered(order, price):
        return None
    order.triggered = True
    limit = order.limit_price if order.order_type in ("LMT", "STP LMT") else None
    if limit is None:
        return price
    if order.is_buy:
        return price if price <= limit else None
    return price if price >= limit else None


def price_on_tick(price: float, tick: float) -> bool:
    if tick <= 0:
        return True
    steps = price / tick
    return abs(steps - round(steps)) < 1e-6


def oca_siblings(order: SimOrder, orders: Iterable[SimOrder]) -> Iterator[SimOrder]:
    """Live orders that one fill of ``order`` must cancel or shrink: its bracket siblings
    (IB makes a bracket's exits one-cancels-other) and its OCA group."""
    for other in orders:
        if other is order or other.finished or other.account != order.account:
            continue
        same_bracket = (
            order.parent_id != 0
            and other.parent_id == order.parent_id
            and other.client_id == order.client_id
        )
        same_group = order.oca_group != "" and other.oca_group == order.oca_group
        if same_bracket or same_group:
            yield other
