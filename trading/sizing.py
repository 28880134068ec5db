"""How many units an alert asks for, from its ``quantity`` and ``quantity_type``.

Pure arithmetic: the caller supplies the broker's last price, the account's equity and the
instrument's quantity step. A size the alert gives (``units``) is taken as sent or refused,
never rounded: trading 1 share when 1.5 were asked is trading something nobody asked for.
A size tvbridge derives (cash, percent of equity, risk) rounds DOWN to the instrument's
step, so it never spends more cash or risks more money than the alert allowed; one that
rounds down to nothing is refused with the numbers, so the sender can see why.
"""

from __future__ import annotations

from decimal import ROUND_DOWN, ROUND_FLOOR, Decimal, InvalidOperation, localcontext
from typing import Literal

from trading.alerts.model import Alert, PriceSpec, Side
from trading.errors import OrderRejected

ExitKind = Literal["take_profit", "stop_loss"]

# The step an order quantity takes when the broker does not say: whole shares and
# contracts, whole units of the base currency (forex brokers size in units, not lots),
# one satoshi for crypto.
DEFAULT_INCREMENTS: dict[str, Decimal] = {
    "STK": Decimal(1),
    "FUT": Decimal(1),
    "CASH": Decimal(1),
    "CRYPTO": Decimal("0.00000001"),
}
# An asset class we know nothing about trades in whole units: the safe assumption.
_FALLBACK_INCREMENT = Decimal(1)
_NOUNS = {"STK": "shares", "FUT": "contracts"}
# Sizing divides and multiplies; this keeps every digit an alert or broker can send, so
# the only rounding is the deliberate one (down) below.
_PRECISION = 60
_HUNDRED = Decimal(100)


def asset_class(sec_type: str | None, symbol: str) -> str:
    """The alert's ``sec_type``, or a guess from the symbol: EURUSD-like is forex, else stock."""
    if sec_type:
        return sec_type.upper()
    return "CASH" if _looks_like_forex(symbol) else "STK"


def increment_for(sec_type: str | None, symbol: str, increment: Decimal | None) -> Decimal:
    """The step an order quantity must be a multiple of: the broker's, else the asset class's."""
    if increment is not None:
        if not increment.is_finite() or increment <= 0:
            raise OrderRejected(
                f"the broker reports a quantity step of {_plain(increment)} for {symbol}; "
                "sizing needs a positive step"
            )
        return increment
    return DEFAULT_INCREMENTS.get(asset_class(sec_type, symbol), _FALLBACK_INCREMENT)


def resolve_price(spec: PriceSpec, *, entry: Decimal, side: Side, exit_kind: ExitKind) -> Decimal:
    """The absolute price of a take-profit or stop-loss given as a price, offset or percent.

    An offset or percent is a distance from ``entry``: a buy's take-profit lies above it
    and its stop-loss below; a sell's the other way round. An absolute price passes
    through. A price that resolves to zero or less is refused (a 100% stop on a buy).
    """
    label = exit_kind.replace("_", "-")
    given = [name for name in ("price", "offset", "percent") if getattr(spec, name) is not None]
    if len(given) != 1:
        raise OrderRejected(
            f"a {label} gives exactly one of price, offset or percent; "
            f"this one gives {' and '.join(given) or 'none'}"
        )
    if spec.price is not None:
        # An absolute price needs no entry: it may be resolved before the entry is known.
        resolved = _require_finite(spec.price, f"the {label} price")
    else:
        _require_positive(entry, "the entry price")
        if spec.offset is not None:
            distance = _require_positive(spec.offset, f"the {label} offset")
        else:
            percent = _require_positive(spec.percent, f"the {label} percent")
            distance = entry * percent / _HUNDRED
        upward = (exit_kind == "take_profit") == (side == "buy")
        resolved = entry + distance if upward else entry - distance
    if resolved <= 0:
        raise OrderRejected(
            f"the {label} of a {side} from entry {_plain(entry)} resolves to {_plain(resolved)}, "
            "which is not a price"
        )
    return resolved


def order_quantity(
    alert: Alert,
    *,
    price: Decimal | None,
    equity: Decimal | None,
    increment: Decimal | None,
    default_quantity: Decimal,
    sizing_required: bool,
    entry_price: Decimal | None = None,
) -> Decimal:
    """The unsigned size ``alert`` asks for, or OrderRejected saying why there is none.

    ``price`` is the broker's last price, used when the alert names no entry price;
    ``entry_price`` overrides the entry the alert implies; ``equity`` is the account's
    net liquidation value; ``increment`` the broker's quantity step (None: the asset
    class's usual one).
    """
    step = increment_for(alert.sec_type, alert.symbol, increment)
    noun = _NOUNS.get(asset_class(alert.sec_type, alert.symbol), "units")
    if alert.quantity_type == "units":
        return _given_units(alert, step, noun, default_quantity, sizing_required)
    if alert.quantity is None:
        raise OrderRejected(
            f"quantity_type {alert.quantity_type} needs a quantity "
            "(the amount of cash, percent or risk to size from)"
        )
    amount = _require_positive(alert.quantity, f"the {alert.quantity_type} quantity")
    entry = _entry(alert, price, entry_price)
    side = alert.side or alert.target_side
    with localcontext() as context:
        # Every division rounds towards zero, so a derived size can only err on the small side.
        context.prec = _PRECISION
        context.rounding = ROUND_FLOOR
        if alert.quantity_type == "cash":
            return _round_down(
                amount / entry, step, noun, f"cash {_plain(amount)} at price {_plain(entry)}", side
            )
        if alert.quantity_type == "percent_of_equity":
            budget, share = _percent_of_equity(amount, equity, alert.quantity_type)
            story = f"{share} at price {_plain(entry)}"
            return _round_down(budget / entry, step, noun, story, side)
        if alert.quantity_type == "risk":
            risked, story = amount, f"risking {_plain(amount)}"
        else:
            risked, share = _percent_of_equity(amount, equity, alert.quantity_type)
            story = f"risking {share}"
        distance, between = _stop_distance(alert, entry)
        return _round_down(risked / distance, step, noun, f"{story} over {between}", side)


def _given_units(
    alert: Alert, step: Decimal, noun: str, default_quantity: Decimal, sizing_required: bool
) -> Decimal:
    if alert.quantity is not None:
        quantity, origin = alert.quantity, "quantity"
    elif sizing_required:
        raise OrderRejected(
            "no quantity in the alert and SIZING=required: send a quantity "
            "(or set SIZING=default to trade DEFAULT_QUANTITY)"
        )
    else:
        quantity, origin = default_quantity, "DEFAULT_QUANTITY"
    _require_positive(quantity, origin)
    if not _is_multiple(quantity, step):
        what = f"a whole number of {noun}" if step == 1 else f"a multiple of {_plain(step)}"
        raise OrderRejected(
            f"{origin} {_plain(quantity)} is not {what}, the smallest step {alert.symbol} "
            "trades in; tvbridge never rounds a quantity it was given"
        )
    return quantity


def _entry(alert: Alert, price: Decimal | None, entry_price: Decimal | None) -> Decimal:
    """Where the order is expected to fill: what it is sized against."""
    if entry_price is not None:
        entry, origin = entry_price, "the entry price"
    elif alert.order_type in ("limit", "stop_limit") and alert.limit_price is not None:
        entry, origin = alert.limit_price, "limit_price"
    elif alert.order_type == "stop" and alert.stop_price is not None:
        # A stop order enters where it triggers, not where the market is now.
        entry, origin = alert.stop_price, "stop_price"
    elif alert.price is not None:
        entry, origin = alert.price, "price"
    elif price is not None:
        entry, origin = price, f"the last price of {alert.symbol}"
    else:
        raise OrderRejected(
            f"{alert.quantity_type} sizing needs a price: send price or limit_price "
            f"(the broker has no last price for {alert.symbol})"
        )
    return _require_positive(entry, origin)


def _percent_of_equity(
    percent: Decimal, equity: Decimal | None, quantity_type: str
) -> tuple[Decimal, str]:
    """The amount ``percent`` of equity comes to, and how it was worked out (for reasons)."""
    if percent > _HUNDRED:
        raise OrderRejected(f"{quantity_type} {_plain(percent)} is over 100% of equity")
    if equity is None:
        raise OrderRejected(f"{quantity_type} sizing needs the account's equity, which is unknown")
    _require_positive(equity, "the account's equity")
    amount = equity * percent / _HUNDRED
    return amount, f"{_plain(percent)}% of equity {_plain(equity)} ({_plain(amount)})"


def _stop_distance(alert: Alert, entry: Decimal) -> tuple[Decimal, str]:
    """The price distance to the protective stop, and how it came about (for reasons)."""
    side = alert.side or alert.target_side
    if side is None:
        raise OrderRejected(
            f"{alert.quantity_type} sizing needs a buy or a sell: the side decides "
            "on which side of the entry the stop lies"
        )
    stop_loss = alert.stop_loss
    if stop_loss is not None and stop_loss.kind == "trailing_stop":
        # A trailing stop starts its trail away from the entry: that is the first risk.
        if stop_loss.trail_amount is not None:
            distance = _require_positive(stop_loss.trail_amount, "the stop-loss trail_amount")
        elif stop_loss.trail_percent is not None:
            trail = _require_positive(stop_loss.trail_percent, "the stop-loss trail_percent")
            distance = entry * trail / _HUNDRED
        else:
            raise OrderRejected("a trailing stop-loss needs trail_amount or trail_percent")
        return distance, f"a trail of {_plain(distance)} from entry {_plain(entry)}"
    if stop_loss is not None and stop_loss.trigger is not None:
        stop = resolve_price(stop_loss.trigger, entry=entry, side=side, exit_kind="stop_loss")
    elif alert.stop_price is not None and alert.order_type not in ("stop", "stop_limit"):
        stop = _require_positive(alert.stop_price, "stop_price")
    else:
        # On a stop order, stop_price is where it enters, not where it gives up.
        raise OrderRejected(
            f"{alert.quantity_type} sizing needs a stop loss: send stop_loss "
            "(a price, an offset or a percent from the entry)"
        )
    if (side == "buy" and stop >= entry) or (side == "sell" and stop <= entry):
        where = "below" if side == "buy" else "above"
        raise OrderRejected(
            f"the stop loss {_plain(stop)} of a {side} must lie {where} the entry {_plain(entry)}"
        )
    distance = abs(entry - stop)
    return distance, f"{_plain(distance)} between entry {_plain(entry)} and stop {_plain(stop)}"


def _round_down(ratio: Decimal, step: Decimal, noun: str, story: str, side: Side | None) -> Decimal:
    size = (ratio // step) * step
    if size <= 0:
        verb = "sells" if side == "sell" else "buys"
        steps = f"whole {noun}" if step == 1 else f"{noun} in steps of {_plain(step)}"
        raise OrderRejected(f"{story} {verb} {_show(ratio)} {noun}, which rounds down to 0 {steps}")
    return size


def _is_multiple(value: Decimal, step: Decimal) -> bool:
    with localcontext() as context:
        context.prec = _PRECISION
        try:
            return value % step == 0
        except InvalidOperation:
            # The quotient has more digits than any real order: not a size we can check.
            return False


def _require_finite(value: Decimal, what: str) -> Decimal:
    if not value.is_finite():
        raise OrderRejected(f"{what} is {value}, not a number")
    return value


def _require_positive(value: Decimal | None, what: str) -> Decimal:
    if value is None or not value.is_finite() or value <= 0:
        raise OrderRejected(f"{what} must be a positive number, got {value}")
    return value


def _plain(value: Decimal) -> str:
    """A computed figure without exponent or trailing zeros (20, not 2E+1 or 20.00)."""
    return format(value.normalize(), "f")


def _show(value: Decimal) -> str:
    """A fraction of a share as a person reads it: 0.083, never 0.08333333333333333333."""
    if value <= 0:
        return "0"
    if value >= 1:
        return _plain(value.quantize(Decimal("0.001"), rounding=ROUND_DOWN))
    # Two significant digits, cut (not rounded) so 0.9996 never shows as 1.
    quantum = Decimal(1).scaleb(value.adjusted() - 1)
    return _plain(value.quantize(quantum, rounding=ROUND_DOWN))


def _looks_like_forex(symbol: str) -> bool:
    plain = symbol.replace("/", "")
    return len(plain) == 6 and plain.isalpha()
