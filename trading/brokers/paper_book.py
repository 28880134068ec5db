"""Paper trading arithmetic: positions, average price, realized PnL. Pure functions."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class Holding:
    quantity: Decimal  # signed: negative is short
    avg_price: Decimal


@dataclass(frozen=True)
class FillEffect:
    holding: Holding
    realized_pnl: Decimal
    cash_change: Decimal


def apply_fill(holding: Holding, side: str, quantity: Decimal, price: Decimal) -> FillEffect:
    """The holding, realized PnL and cash change after filling ``quantity`` at ``price``."""
    if quantity <= 0 or price <= 0:
        raise ValueError("fill quantity and price must be positive")
    signed = quantity if side == "buy" else -quantity
    cash_change = -signed * price
    current = holding.quantity
    if current == 0 or (current > 0) == (signed > 0):
        total = current + signed
        avg = (abs(current) * holding.avg_price + quantity * price) / abs(total)
        return FillEffect(Holding(total, avg), Decimal(0), cash_change)
    closing = min(abs(current), quantity)
    direction = Decimal(1) if current > 0 else Decimal(-1)
    realized = (price - holding.avg_price) * closing * direction
    remaining = current + signed
    if remaining == 0:
        return FillEffect(Holding(Decimal(0), Decimal(0)), realized, cash_change)
    if (remaining > 0) == (current > 0):
        return FillEffect(Holding(remaining, holding.avg_price), realized, cash_change)
    # The fill crossed through flat: the rest opens a position at the fill price.
    return FillEffect(Holding(remaining, price), realized, cash_change)


def limit_crosses(side: str, limit_price: Decimal, market_price: Decimal) -> bool:
    """A buy limit fills at or below its price, a sell limit at or above."""
    return market_price <= limit_price if side == "buy" else market_price >= limit_price


def opens_exposure(holding: Holding, side: str) -> bool:
    """True when the order adds to (or opens) a position rather than reducing it."""
    return holding.quantity == 0 or (holding.quantity > 0) == (side == "buy")


def stop_crossed(side: str, stop_price: Decimal, market_price: Decimal) -> bool:
    """A buy stop triggers at or above its price, a sell stop at or below."""
    return market_price >= stop_price if side == "buy" else market_price <= stop_price


@dataclass(frozen=True)
class Trail:
    """A trailing stop's state: the best price seen since it started and its stop."""

    extreme: Decimal
    stop: Decimal


def trail(
    side: str,
    current: Trail | None,
    price: Decimal,
    amount: Decimal | None,
    percent: Decimal | None,
) -> Trail:
    """The trailing stop after seeing ``price``.

    A sell stop follows the highest price since it started, ``amount`` below it (or
    ``percent`` per cent below it); a buy stop follows the lowest price, above it. The stop
    only ever moves in the holder's favour: a sell stop up, a buy stop down.
    """
    if side == "buy":
        extreme = price if current is None else min(current.extreme, price)
    else:
        extreme = price if current is None else max(current.extreme, price)
    if amount is not None and percent is None:
        distance = amount
    elif percent is not None and amount is None:
        distance = extreme * percent / 100
    else:
        raise ValueError("a trailing stop trails by an amount or by a percentage, not both")
    if side == "buy":
        candidate = extreme + distance
        stop = candidate if current is None else min(current.stop, candidate)
    else:
        candidate = extreme - distance
        stop = candidate if current is None else max(current.stop, candidate)
    return Trail(extreme, stop)
