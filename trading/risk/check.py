"""The pre-trade check: may these orders be sent now? Pure; the caller gathers the facts.

Only a plan that adds exposure is checked: one that makes the position larger, or takes it
across zero. A plan that only reduces or closes, or only replaces a position's exits,
always passes, whatever the rule, so a position can always be taken down. Inside a plan
that opens, the legs that close (``close``) and a bracket's exits (``tp``, ``sl``) are
not held to the quantity, notional or price-collar limits; the entry legs are.

Rules run cheapest and broadest first and the first one broken is reported.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from trading.keys import PROTECTIVE_LEGS
from trading.risk.limits import Limit, RiskLimits, normal_symbol

if TYPE_CHECKING:
    from trading.planning import PlannedLeg

# Legs that never add exposure: the close before an open across zero, and exits.
REDUCING_LEGS = frozenset({"close"}) | PROTECTIVE_LEGS
RULES = (
    "kill_switch",
    "daily_loss_limit",
    "denied_symbols",
    "allowed_symbols",
    "trading_window",
    "max_alert_age_seconds",
    "max_orders_per_minute",
    "max_orders_per_minute_per_instrument",
    "max_open_positions",
    "max_position",
    "max_order_quantity",
    "max_order_notional",
    "price_collar_percent",
)
_SHOWN_SYMBOLS = 10


@dataclass(frozen=True)
class RiskContext:
    """What the check knows of one plan. Positions are signed units of the instrument.

    ``legs`` are the orders about to be sent. ``holds_position`` says whether this
    instrument is among the ``open_positions`` instruments; None derives it from
    ``position_before``. ``daily_pnl`` None means unknown. ``orders_last_minute`` and
    ``instrument_orders_last_minute`` count orders sent in the last 60 s, overall and
    on this instrument. ``halt_reason`` is set while trading is halted (the kill switch).
    """

    symbol: str
    legs: Sequence[PlannedLeg]
    position_before: Decimal
    position_after: Decimal
    now: datetime
    alert_age_seconds: float
    alert_price: Decimal | None = None
    last_price: Decimal | None = None
    open_positions: int = 0
    holds_position: bool | None = None
    daily_pnl: Decimal | None = None
    orders_last_minute: int = 0
    instrument_orders_last_minute: int = 0
    halt_reason: str | None = None

    def __post_init__(self) -> None:
        # A naive time would be read in the host's zone and put every window off by hours.
        if self.now.tzinfo is None or self.now.utcoffset() is None:
            raise ValueError(f"now must be an aware datetime, got {self.now!r}")
        object.__setattr__(self, "legs", tuple(self.legs))

    @property
    def adds_exposure(self) -> bool:
        before, after = self.position_before, self.position_after
        return abs(after) > abs(before) or before * after < 0

    @property
    def opens_instrument(self) -> bool:
        held = self.holds_position
        if held is None:
            held = self.position_before != 0
        return not held and self.position_after != 0

    @property
    def reference_price(self) -> Decimal | None:
        """The alert's price, else the broker's last price; never a price of 0 or less."""
        reference = self.reference
        return reference[0] if reference is not None else None

    @property
    def reference(self) -> tuple[Decimal, str] | None:
        """The reference price and what it is, for messages."""
        for price, name in ((self.alert_price, "alert's"), (self.last_price, "broker's last")):
            if price is not None and price > 0:
                return price, f"the {name} price"
        return None


@dataclass(frozen=True)
class RiskRefusal:
    """Why the orders may not be sent. ``rule`` is stable (one of RULES); ``setting``
    names where the limit is set; ``halts`` asks the caller to halt trading."""

    rule: str
    limit: str
    value: str
    message: str
    symbol: str
    setting: str = ""
    halts: bool = False

    def __str__(self) -> str:
        return self.message

    def to_json(self) -> dict[str, str | bool]:
        return {
            "rule": self.rule,
            "limit": self.limit,
            "value": self.value,
            "setting": self.setting,
            "symbol": self.symbol,
            "halts": self.halts,
            "message": self.message,
        }


def check_orders(limits: RiskLimits, ctx: RiskContext) -> RiskRefusal | None:
    """The first rule the plan in ``ctx`` breaks, or None when it may be sent."""
    if not ctx.adds_exposure:
        return None
    for rule in (_halted, _daily_loss, _symbol_lists, _window, _alert_age, _rates):
        refusal = rule(limits, ctx)
        if refusal is not None:
            return refusal
    refusal = _open_positions(limits, ctx) or _position(limits, ctx)
    if refusal is not None:
        return refusal
    for leg in ctx.legs:
        if leg.leg in REDUCING_LEGS:
            continue
        refusal = _quantity(limits, ctx, leg) or _notional(limits, ctx, leg)
        refusal = refusal or _collar(limits, ctx, leg)
        if refusal is not None:
            return refusal
    return None


# --- account-wide rules ------------------------------------------------------------------


def _halted(limits: RiskLimits, ctx: RiskContext) -> RiskRefusal | None:
    if ctx.halt_reason is None:
        return None
    return RiskRefusal(
        "kill_switch",
        "halted",
        ctx.halt_reason,
        f"trading is halted ({ctx.halt_reason}): {ctx.symbol} may only be reduced or closed",
        ctx.symbol,
    )


def _daily_loss(limits: RiskLimits, ctx: RiskContext) -> RiskRefusal | None:
    limit = limits.daily_loss_limit
    if limit is None:
        return None
    if ctx.daily_pnl is None:
        message = (
            f"daily PnL unknown: {limit.source} {_num(limit.value)} cannot be checked, so no "
            f"new exposure in {ctx.symbol} (closing is still possible)"
        )
        return _refusal("daily_loss_limit", limit, "unknown", message, ctx)
    if ctx.daily_pnl > -limit.value:
        return None
    message = (
        f"daily loss {_num(-ctx.daily_pnl)} reached {limit.source} {_num(limit.value)}: "
        f"trading halts; {ctx.symbol} may only be reduced or closed"
    )
    refusal = _refusal("daily_loss_limit", limit, _num(ctx.daily_pnl), message, ctx)
    return replace(refusal, halts=True)


def _symbol_lists(limits: RiskLimits, ctx: RiskContext) -> RiskRefusal | None:
    symbol = normal_symbol(ctx.symbol)
    denied, allowed = limits.denied_symbols, limits.allowed_symbols
    if denied is not None and symbol in denied.value:
        shown = _symbols(denied.value)
        message = f"symbol {symbol} is in {denied.source} ({shown}): no new exposure"
        return _refusal("denied_symbols", denied, symbol, message, ctx, shown)
    if allowed is not None and allowed.value and symbol not in allowed.value:
        shown = _symbols(allowed.value)
        message = f"symbol {symbol} is not in {allowed.source} ({shown})"
        return _refusal("allowed_symbols", allowed, symbol, message, ctx, shown)
    return None


def _window(limits: RiskLimits, ctx: RiskContext) -> RiskRefusal | None:
    calendar = limits.calendar_for(ctx.symbol)
    if calendar is None or calendar.is_open(ctx.now):
        return None
    windows = calendar.windows.value
    local = ctx.now.astimezone(windows[0].zone)
    now_text = f"{local:%a %Y-%m-%d %H:%M} {windows[0].zone.key}"
    holiday = calendar.holiday(ctx.now)
    if holiday is not None and calendar.holidays is not None:
        message = (
            f"{ctx.symbol} does not open on holidays: it is {now_text} and {holiday} is listed "
            f"in {calendar.holidays.source}"
        )
        return _refusal("trading_window", calendar.holidays, now_text, message, ctx, str(holiday))
    hours = " or ".join(window.text for window in windows)
    message = (
        f"{ctx.symbol} opens only {hours} ({calendar.windows.source}); it is {now_text}: "
        "outside the trading windows"
    )
    return _refusal("trading_window", calendar.windows, now_text, message, ctx, hours)


def _alert_age(limits: RiskLimits, ctx: RiskContext) -> RiskRefusal | None:
    limit = limits.max_alert_age_seconds
    if limit is None or ctx.alert_age_seconds <= limit.value:
        return None
    age = _num(Decimal(str(ctx.alert_age_seconds)).quantize(Decimal("0.1")))
    message = f"alert age {age} s exceeds {limit.source} {limit.value} s ({ctx.symbol})"
    return _refusal("max_alert_age_seconds", limit, age, message, ctx)


def _rates(limits: RiskLimits, ctx: RiskContext) -> RiskRefusal | None:
    new = len(ctx.legs)
    for rule, limit, sent, scope in (
        ("max_orders_per_minute", limits.max_orders_per_minute, ctx.orders_last_minute, ""),
        (
            "max_orders_per_minute_per_instrument",
            limits.max_orders_per_minute_per_instrument,
            ctx.instrument_orders_last_minute,
            f" on {ctx.symbol}",
        ),
    ):
        if limit is None or sent + new <= limit.value:
            continue
        message = (
            f"{sent + new} orders in 60 s{scope} ({sent} sent, {new} now) exceeds "
            f"{limit.source} {limit.value} ({ctx.symbol})"
        )
        return _refusal(rule, limit, str(sent + new), message, ctx)
    return None


def _open_positions(limits: RiskLimits, ctx: RiskContext) -> RiskRefusal | None:
    limit = limits.max_open_positions
    if limit is None or not ctx.opens_instrument or ctx.open_positions < limit.value:
        return None
    count = ctx.open_positions + 1
    message = (
        f"opening {ctx.symbol} makes {count} open positions, over {limit.source} {limit.value}"
    )
    return _refusal("max_open_positions", limit, str(count), message, ctx)


def _position(limits: RiskLimits, ctx: RiskContext) -> RiskRefusal | None:
    limit = limits.for_symbol(ctx.symbol).max_position
    after = abs(ctx.position_after)
    if limit is None or after <= limit.value:
        return None
    message = (
        f"position {_num(after)} after this plan (from {_num(abs(ctx.position_before))}) "
        f"exceeds {limit.source} {_num(limit.value)} ({ctx.symbol})"
    )
    return _refusal("max_position", limit, _num(after), message, ctx)


# --- per order ---------------------------------------------------------------------------


def _quantity(limits: RiskLimits, ctx: RiskContext, leg: PlannedLeg) -> RiskRefusal | None:
    limit = limits.for_symbol(ctx.symbol).max_order_quantity
    if limit is None or leg.quantity <= limit.value:
        return None
    message = (
        f"quantity {_num(leg.quantity)} exceeds {limit.source} {_num(limit.value)} ({ctx.symbol})"
    )
    return _refusal("max_order_quantity", limit, _num(leg.quantity), message, ctx)


def _notional(limits: RiskLimits, ctx: RiskContext, leg: PlannedLeg) -> RiskRefusal | None:
    limit = limits.for_symbol(ctx.symbol).max_order_notional
    if limit is None:
        return None
    # The highest price the order may trade at by what is known, so a far limit price
    # cannot slip a large order under the limit.
    prices = [p for p in (ctx.reference_price, leg.limit_price, leg.stop_price) if p]
    if not prices:
        message = (
            f"no price to check the notional limit against: send price "
            f"({limit.source} {_num(limit.value)}, {ctx.symbol})"
        )
        return _refusal("max_order_notional", limit, "unknown", message, ctx)
    price = max(prices)
    notional = leg.quantity * price
    if notional <= limit.value:
        return None
    message = (
        f"notional {_num(notional)} ({_num(leg.quantity)} at {_num(price)}) exceeds "
        f"{limit.source} {_num(limit.value)} ({ctx.symbol})"
    )
    return _refusal("max_order_notional", limit, _num(notional), message, ctx)


def _collar(limits: RiskLimits, ctx: RiskContext, leg: PlannedLeg) -> RiskRefusal | None:
    limit = limits.price_collar_percent
    if limit is None:
        return None
    for kind, price in (("limit", leg.limit_price), ("stop", leg.stop_price)):
        if price is None:
            continue
        if ctx.reference is None:
            message = (
                f"no price to check the {kind} price {_num(price)} against "
                f"{limit.source} {_num(limit.value)}: send price ({ctx.symbol})"
            )
            return _refusal("price_collar_percent", limit, "unknown", message, ctx)
        reference, name = ctx.reference
        distance = (abs(price - reference) / reference * 100).quantize(Decimal("0.01"))
        if abs(price - reference) * 100 <= limit.value * reference:
            continue
        message = (
            f"{kind} price {_num(price)} is {_num(distance)} % from {name} "
            f"{_num(reference)}, beyond {limit.source} {_num(limit.value)} "
            f"({ctx.symbol})"
        )
        return _refusal("price_collar_percent", limit, _num(distance), message, ctx)
    return None


# --- helpers -----------------------------------------------------------------------------


def _refusal(
    rule: str,
    limit: Limit[Any],
    value: str,
    message: str,
    ctx: RiskContext,
    shown_limit: str | None = None,
) -> RiskRefusal:
    shown = shown_limit if shown_limit is not None else _show_limit(limit.value)
    return RiskRefusal(rule, shown, value, message, ctx.symbol, setting=limit.source)


def _show_limit(value: object) -> str:
    return _num(value) if isinstance(value, Decimal) else str(value)


def _num(value: Decimal) -> str:
    """A decimal as written, without exponent (1E+3 is 1000)."""
    return format(value, "f")


def _symbols(symbols: frozenset[str]) -> str:
    listed = sorted(symbols)
    shown = ", ".join(listed[:_SHOWN_SYMBOLS])
    more = len(listed) - _SHOWN_SYMBOLS
    return f"{shown} and {more} more" if more > 0 else shown
