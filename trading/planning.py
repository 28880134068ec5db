"""From an alert and the position to the orders it should produce. Pure: the caller
supplies the facts (``PositionView``) and records the result.

Planning happens in two steps, because some plans must first clear the instrument:

1. ``decide`` (when the alert is first taken): what the alert means here and now, the
   position it should end at when that is already known (``add``, ``target``), and the
   working orders of ours to cancel first (a close, a reversal, or a target that reduces
   or crosses zero: otherwise a resting entry or a bracket's stop could fill afterwards
   and leave a position nobody asked for).
2. ``legs_toward`` (once those cancels are confirmed): the orders from the position read
   *then* to the target. A target across zero is a close, filled first, then an open.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal

from trading.alerts.model import Alert, PriceSpec, Side
from trading.brokers.port import Capabilities, OrderType
from trading.errors import OrderRejected
from trading.keys import PROTECTIVE_LEGS, leg_of
from trading.sizing import order_quantity, resolve_price
from trading.symbol_map import parse_symbol_map

if TYPE_CHECKING:
    from config.settings import Settings

PlanKind = Literal["add", "target", "close", "reverse", "cancel", "protect", "nothing"]
ZERO = Decimal(0)


@dataclass(frozen=True)
class OrderRules:
    """The settings that decide what an alert means (see config.settings)."""

    default_quantity: Decimal = Decimal(1)
    sizing_required: bool = False
    refuse_out_of_order: bool = True
    market_outside_rth: Literal["refuse", "limit"] = "refuse"
    marketable_limit_percent: Decimal = Decimal("0.5")
    symbol_map: dict[str, str] = field(default_factory=dict)
    # A strategy whose position drifted from ours: go to its target (True) or trade only
    # the order it reports and leave the difference recorded for the user (False).
    correct_drift: bool = True


def order_rules(settings: Settings) -> OrderRules:
    """What alerts mean, as the settings say."""
    return OrderRules(
        default_quantity=settings.default_quantity,
        sizing_required=settings.sizing == "required",
        refuse_out_of_order=settings.out_of_order_alerts == "refuse",
        market_outside_rth=settings.market_outside_rth,
        marketable_limit_percent=settings.marketable_limit_percent,
        symbol_map=parse_symbol_map(settings.symbol_map),
        correct_drift=settings.drift_policy == "correct",
    )


@dataclass(frozen=True)
class PositionView:
    """What planning knows of one instrument now.

    ``position`` and ``working`` are the broker's position and the signed remaining
    quantity of our working entry orders on it (a bracket's exits excluded: they close
    what is already counted). For an alert that names a strategy they are that
    strategy's own, from the ledger, and ``broker_position`` is the account's.
    """

    instrument_id: str
    position: Decimal
    working: Decimal = ZERO
    cancellable: tuple[str, ...] = ()
    broker_position: Decimal | None = None
    price: Decimal | None = None
    equity: Decimal | None = None
    increment: Decimal | None = None

    @property
    def effective(self) -> Decimal:
        """Where the position is heading: what is held plus what is still working."""
        return self.position + self.working


@dataclass(frozen=True)
class Decision:
    kind: PlanKind
    # The position to end at; None when it is settled after the cancels (close, reverse).
    target: Decimal | None
    cancel: tuple[str, ...] = ()
    reason: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)
    # Where the strategy's own alert says the position was, minus where it was: found
    # when a target alert also says what it traded (the default strategy sentence).
    drift: Decimal | None = None


@dataclass(frozen=True)
class PlannedLeg:
    """One order of a plan. ``leg`` is stable: it names the order in every retry."""

    leg: str
    side: Side
    quantity: Decimal
    order_type: OrderType = "market"
    limit_price: Decimal | None = None
    stop_price: Decimal | None = None
    trail_amount: Decimal | None = None
    trail_percent: Decimal | None = None
    time_in_force: str | None = None
    outside_rth: bool = False
    parent_leg: str | None = None
    oca: bool = False


@dataclass(frozen=True)
class Legs:
    """The orders of one stage. ``then_open`` is the leg that waits for ``now`` to fill."""

    now: tuple[PlannedLeg, ...]
    then_open: tuple[PlannedLeg, ...] = ()
    notes: tuple[str, ...] = ()
    # Prices of exits that ride on the entry (brokers with attached exits).
    attached: dict[str, str] = field(default_factory=dict)


def decide(alert: Alert, view: PositionView, rules: OrderRules) -> Decision:
    """What ``alert`` means against ``view``."""
    detail: dict[str, Any] = {
        "intent": alert.intent,
        "position_before": str(view.position),
        "working_before": str(view.working),
        "instrument_id": view.instrument_id,
    }
    if alert.strategy:
        detail["strategy"] = alert.strategy
    if alert.intent in ("add", "target"):
        return _decide_target(alert, view, rules, detail)
    return _decide_clearing(alert, view, detail)


def _decide_clearing(alert: Alert, view: PositionView, detail: dict[str, Any]) -> Decision:
    """The intents that start by cancelling our working orders on the instrument."""
    intent, effective = alert.intent, view.effective
    if intent == "cancel":
        if not view.cancellable:
            return _nothing(f"no working orders of ours on {alert.symbol}", detail)
        return Decision("cancel", None, view.cancellable, detail=detail)
    if intent == "protect":
        if view.position == 0:
            return _nothing(f"no position in {alert.symbol} to protect", detail)
        exits = tuple(r for r in view.cancellable if leg_of(r) in PROTECTIVE_LEGS)
        return Decision("protect", view.position, exits, detail=detail)
    if intent == "close":
        if effective == 0 and view.position == 0 and not view.cancellable:
            return _nothing(f"already flat in {alert.symbol}", detail)
        return Decision("close", None, view.cancellable, detail=detail)
    if view.position == 0 and effective == 0:
        return _nothing(f"flat in {alert.symbol}: there is nothing to reverse", detail)
    return Decision("reverse", None, view.cancellable, detail=detail)


def _decide_target(
    alert: Alert, view: PositionView, rules: OrderRules, detail: dict[str, Any]
) -> Decision:
    effective = view.effective
    size = _size(alert, view, rules) if alert.target_position is None else None
    drift = _drift(alert, effective)
    if alert.intent == "add":
        assert size is not None  # noqa: S101 - an add always has a side
        target = effective + (size if alert.action == "buy" else -size)
    elif alert.target_position is not None:
        target = alert.target_position
        if drift is not None:
            detail["drift"] = {
                "strategy_thought": str(effective + drift),
                "held": str(effective),
                "policy": "correct" if rules.correct_drift else "report",
            }
            if not rules.correct_drift:
                # Trade what the strategy traded; the difference is the user's to settle.
                target = effective + _signed_order(alert)
    else:
        assert size is not None  # noqa: S101 - a target side comes with a size
        target = size if alert.target_side == "buy" else -size
    detail["target"] = str(target)
    if target == effective:
        reason = f"already at the target position {target} in {alert.symbol}"
        return replace(_nothing(reason, detail), drift=drift)
    # Reducing or crossing zero: a resting entry or a bracket's exit sized for the old
    # position could fill afterwards, so everything of ours is cancelled first.
    reduces = abs(target) < abs(effective) or target * effective < 0
    cancel = view.cancellable if reduces else ()
    return Decision(alert.intent, target, cancel, detail=detail, drift=drift)


def _signed_order(alert: Alert) -> Decimal:
    quantity = alert.quantity or ZERO
    return quantity if alert.action == "buy" else -quantity


def _drift(alert: Alert, effective: Decimal) -> Decimal | None:
    """How far the strategy's idea of its position before this order is from ours: the
    target minus the order it says it filled, against what is held or on its way."""
    if alert.target_position is None or alert.quantity is None or alert.side is None:
        return None
    if alert.quantity_type != "units":
        return None
    thought = alert.target_position - _signed_order(alert)
    return None if thought == effective else thought - effective


def settled_target(alert: Alert, view: PositionView, *, before: Decimal) -> Decimal:
    """The target of a close or a reversal, from the position read after the cancels;
    ``before`` is the position when the alert was first planned."""
    position = view.effective
    if alert.intent == "close":
        if alert.quantity is None or alert.quantity >= abs(position):
            return ZERO
        return position - (alert.quantity if position > 0 else -alert.quantity)
    # A reversal: the same size (or the alert's) on the other side of what was held. A stop
    # that filled while our cancels ran leaves us flat: the reversal then only opens.
    held = position if position != 0 else before
    size = alert.quantity if alert.quantity is not None else abs(held)
    return -size if held > 0 else size


def legs_toward(
    alert: Alert,
    view: PositionView,
    target: Decimal,
    *,
    capabilities: Capabilities,
    rules: OrderRules,
) -> Legs:
    """The orders from the position in ``view`` to ``target``."""
    current = view.effective
    delta = target - current
    if delta == 0:
        return Legs(())
    if current != 0 and target != 0 and (current > 0) != (target > 0):
        close = PlannedLeg("close", _side(-current), abs(current))
        opening = _entry_legs("open", alert, view, abs(target), _side(target), capabilities, rules)
        return Legs((_clamped(close, view),), opening.now, opening.notes, opening.attached)
    if abs(target) > abs(current):
        return _entry_legs("entry", alert, view, abs(delta), _side(delta), capabilities, rules)
    leg = _priced(PlannedLeg("close", _side(delta), abs(delta)), alert, view, rules)
    notes: tuple[str, ...] = ()
    if alert.take_profit or alert.stop_loss:
        notes = ("take-profit and stop-loss are not placed: this order reduces the position",)
    clamped = _clamped(leg, view)
    if clamped.quantity == 0:
        return Legs((), notes=(*notes, _clamp_note(view)))
    return Legs((clamped,), notes=notes)


def plan_legs(
    alert: Alert,
    view: PositionView,
    target: Decimal | None,
    *,
    capabilities: Capabilities,
    rules: OrderRules,
) -> tuple[Decimal, Legs]:
    """The target and the orders that reach it from ``view``: new exits for ``protect``
    (the target is the position held), the way to ``target`` for every other plan."""
    if alert.intent == "protect":
        return view.effective, protective_legs(alert, view, capabilities=capabilities)
    if target is None:
        raise ValueError(f"a {alert.intent} plan needs its target settled first")
    return target, legs_toward(alert, view, target, capabilities=capabilities, rules=rules)


def protective_legs(alert: Alert, view: PositionView, *, capabilities: Capabilities) -> Legs:
    """New exits for the position held now: a take-profit and a stop-loss in one OCA
    group, sized to the position (the old ones were cancelled first)."""
    if capabilities.attached_exits:
        raise OrderRejected(
            "this broker attaches exits to the entry order; moving them afterwards is not "
            "supported: close and re-enter with the new take_profit and stop_loss"
        )
    held = view.position
    if held == 0:
        return Legs((), notes=(f"no position in {alert.symbol} to protect",))
    side: Side = "buy" if held > 0 else "sell"
    reference = alert.price or view.price
    exit_side = _side(-held)
    common: dict[str, Any] = {"oca": True, "time_in_force": "gtc"}
    legs = []
    if alert.take_profit is not None:
        price = _exit_price(alert.take_profit, reference, side, "take_profit")
        legs.append(PlannedLeg("tp", exit_side, abs(held), "limit", price, **common))
    if alert.stop_loss is not None:
        stop = None
        if alert.stop_loss.kind != "trailing_stop":
            if alert.stop_loss.trigger is None:
                raise OrderRejected("stop_loss needs a stop price, offset or percent")
            stop = _exit_price(alert.stop_loss.trigger, reference, side, "stop_loss")
        legs.append(_stop_leg(alert, reference, side, exit_side, abs(held), stop, common))
    return Legs(tuple(legs))


# --- entries and their exits ---------------------------------------------------------


def _entry_legs(
    name: str,
    alert: Alert,
    view: PositionView,
    quantity: Decimal,
    side: Side,
    capabilities: Capabilities,
    rules: OrderRules,
) -> Legs:
    _check_quantity(alert, quantity, capabilities)
    entry = _priced(PlannedLeg(name, side, quantity), alert, view, rules)
    if alert.take_profit is None and alert.stop_loss is None:
        return Legs((entry,))
    reference = _entry_price(entry, alert, view)
    exit_side = _side(Decimal(-1) if side == "buy" else Decimal(1))
    take_profit = stop = None
    if alert.take_profit is not None:
        take_profit = _exit_price(alert.take_profit, reference, side, "take_profit")
    if alert.stop_loss is not None and alert.stop_loss.kind != "trailing_stop":
        if alert.stop_loss.trigger is None:
            raise OrderRejected("stop_loss needs a stop price, offset or percent")
        stop = _exit_price(alert.stop_loss.trigger, reference, side, "stop_loss")
    if capabilities.attached_exits:
        attached = {}
        if take_profit is not None:
            attached["take_profit_price"] = str(take_profit)
        if stop is not None:
            attached["stop_loss_price"] = str(stop)
        if alert.stop_loss is not None and alert.stop_loss.kind == "trailing_stop":
            if alert.stop_loss.trail_amount is None:
                raise OrderRejected(
                    "this broker trails a stop by a price distance: give trail_amount"
                )
            attached["trailing_stop_distance"] = str(alert.stop_loss.trail_amount)
        return Legs((entry,), attached=attached)
    legs = [entry]
    common = {"parent_leg": name, "oca": True, "time_in_force": "gtc"}
    if take_profit is not None:
        legs.append(PlannedLeg("tp", exit_side, quantity, "limit", take_profit, **common))  # type: ignore[arg-type]
    if alert.stop_loss is not None:
        legs.append(_stop_leg(alert, reference, side, exit_side, quantity, stop, common))
    return Legs(tuple(legs))


def _stop_leg(
    alert: Alert,
    reference: Decimal | None,
    side: Side,
    exit_side: Side,
    quantity: Decimal,
    stop: Decimal | None,
    common: dict[str, Any],
) -> PlannedLeg:
    spec = alert.stop_loss
    assert spec is not None  # noqa: S101 - called only with a stop-loss
    if spec.kind == "trailing_stop":
        return PlannedLeg(
            "sl",
            exit_side,
            quantity,
            "trailing_stop",
            trail_amount=spec.trail_amount,
            trail_percent=spec.trail_percent,
            **common,
        )
    if spec.kind == "stop_limit":
        if spec.limit is None:
            raise OrderRejected("a stop_limit stop-loss needs its limit price")
        limit = _exit_price(spec.limit, reference, side, "stop_loss")
        return PlannedLeg("sl", exit_side, quantity, "stop_limit", limit, stop, **common)
    return PlannedLeg("sl", exit_side, quantity, "stop", None, stop, **common)


def _priced(leg: PlannedLeg, alert: Alert, view: PositionView, rules: OrderRules) -> PlannedLeg:
    """The alert's order type on the last leg of a plan (closes before an open are market)."""
    order_type: OrderType = alert.order_type
    limit, stop = alert.limit_price, alert.stop_price
    if alert.outside_rth and order_type == "market":
        if rules.market_outside_rth == "refuse":
            raise OrderRejected(
                "a market order cannot trade outside regular hours: send a limit order, or "
                "set MARKET_OUTSIDE_RTH=limit to send a marketable limit instead"
            )
        price = alert.price or view.price
        if price is None:
            raise OrderRejected("a marketable limit outside regular hours needs the alert's price")
        away = price * rules.marketable_limit_percent / 100
        order_type, limit = "limit", (price + away if leg.side == "buy" else price - away)
    return PlannedLeg(
        leg.leg,
        leg.side,
        leg.quantity,
        order_type,
        limit_price=limit if order_type in ("limit", "stop_limit") else None,
        stop_price=stop if order_type in ("stop", "stop_limit") else None,
        trail_amount=alert.trail_amount if order_type == "trailing_stop" else None,
        trail_percent=alert.trail_percent if order_type == "trailing_stop" else None,
        time_in_force=alert.time_in_force,
        outside_rth=alert.outside_rth and order_type in ("limit", "stop_limit"),
    )


def _entry_price(entry: PlannedLeg, alert: Alert, view: PositionView) -> Decimal | None:
    return entry.limit_price or entry.stop_price or alert.price or view.price


def _exit_price(
    spec: PriceSpec,
    reference: Decimal | None,
    side: Side,
    kind: Literal["take_profit", "stop_loss"],
) -> Decimal:
    if spec.price is None and reference is None:
        raise OrderRejected(
            f"{kind} is given as an offset or percent, which needs the entry's price: send "
            "price (or a limit price), or give the exit as a price"
        )
    price = resolve_price(spec, entry=reference or Decimal(0), side=side, exit_kind=kind)
    if reference is not None:
        above = price > reference
        wanted_above = (kind == "take_profit") == (side == "buy")
        if above != wanted_above:
            where = "above" if wanted_above else "below"
            raise OrderRejected(
                f"{kind} {price} must be {where} the entry price {reference} for a {side}"
            )
    return price


def _size(alert: Alert, view: PositionView, rules: OrderRules) -> Decimal:
    return order_quantity(
        alert,
        price=view.price,
        equity=view.equity,
        increment=view.increment,
        default_quantity=rules.default_quantity,
        sizing_required=rules.sizing_required,
        entry_price=alert.limit_price or alert.stop_price or alert.price,
    )


def _check_quantity(alert: Alert, quantity: Decimal, capabilities: Capabilities) -> None:
    fractional = quantity != quantity.to_integral_value()
    is_stock = (alert.sec_type or "STK") == "STK" and not _looks_like_forex(alert.symbol)
    if fractional and is_stock and not capabilities.fractional_quantities:
        raise OrderRejected(
            f"quantity {quantity} is fractional; this broker accepts whole shares only "
            "through its API (tvbridge never rounds an order silently)"
        )


def _clamped(leg: PlannedLeg, view: PositionView) -> PlannedLeg:
    """A strategy's close never takes the account past flat (its shares may have been
    sold by hand, or by another strategy)."""
    broker = view.broker_position
    if broker is None:
        return leg
    closable = abs(broker) if (broker > 0) == (leg.side == "sell") and broker != 0 else ZERO
    if leg.quantity <= closable:
        return leg
    return PlannedLeg(**{**leg.__dict__, "quantity": closable})


def _clamp_note(view: PositionView) -> str:
    return (
        f"the strategy's position is {view.position} but the account holds "
        f"{view.broker_position}: nothing left to close"
    )


def _nothing(reason: str, detail: dict[str, Any]) -> Decision:
    return Decision("nothing", None, reason=reason, detail={**detail, "reason": reason})


def _side(signed: Decimal) -> Side:
    return "buy" if signed > 0 else "sell"


def _looks_like_forex(symbol: str) -> bool:
    plain = symbol.replace("/", "")
    return len(plain) == 6 and plain.isalpha()
