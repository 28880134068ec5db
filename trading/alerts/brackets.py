"""Take-profit and stop-loss sent with an entry, as one ``PriceSpec`` each.

Each exit is given exactly one way: an absolute price, a distance from the entry price
(offset, always positive) or a percent of it. Where the alert carries every price involved
the sides are checked: a buy's take-profit above its entry and its stop below, a sell's the
other way round, because a reversed bracket closes the position at once.
"""

from __future__ import annotations

from decimal import Decimal

from trading.alerts.fields import Parsed
from trading.alerts.model import PriceSpec, StopKind, StopLoss
from trading.alerts.spellings import STOP_LOSS_TYPES

HUNDRED = Decimal(100)
# canonical field -> the PriceSpec attribute it fills
_TAKE_PROFIT = {
    "take_profit": "price",
    "take_profit_percent": "percent",
    "take_profit_offset": "offset",
}
_STOP_TRIGGER = {
    "stop_loss": "price",
    "stop_loss_percent": "percent",
    "stop_loss_offset": "offset",
}
_STOP_EXTRAS = (
    "stop_loss_type",
    "stop_loss_limit",
    "stop_loss_trail_amount",
    "stop_loss_trail_percent",
)
BRACKET_FIELDS = (*_TAKE_PROFIT, *_STOP_TRIGGER, *_STOP_EXTRAS)


def stop_loss_kind(p: Parsed) -> StopKind | None:
    """The stop loss's kind as sent (None when not sent or misspelt, which is reported)."""
    return p.choice("stop_loss_type", STOP_LOSS_TYPES)  # type: ignore[return-value]


def brackets(
    p: Parsed,
    side: str | None,
    reference: Decimal | None,
    kind: StopKind | None,
    flat_trail: bool,
    *,
    protect: bool = False,
) -> tuple[PriceSpec | None, StopLoss | None]:
    """The take-profit and stop-loss of an entry on ``side`` expected at ``reference``.

    ``kind`` is ``stop_loss_kind(p)``; ``flat_trail`` says the flat ``trail_amount`` and
    ``trail_percent`` belong to the stop loss (the entry itself does not trail).
    """
    if protect:
        # The position's side is the broker's to say: the planner checks the sides.
        take_profit = _one_way(p, _TAKE_PROFIT, "take-profit")
        stop_loss = _stop_loss(p, kind, flat_trail)
        if take_profit is None and stop_loss is None and not p.errors:
            p.fail(
                "action",
                "protect moves the position's exits: send take_profit and/or stop_loss",
            )
        return take_profit, stop_loss
    if side is None:
        for name in BRACKET_FIELDS:
            if p.given(name):
                p.fail(
                    name,
                    "only goes with an entry (buy, sell, add, a side to be on, or a non-zero "
                    "position): a close, reverse or cancel has no bracket",
                )
        return None, None
    take_profit = _one_way(p, _TAKE_PROFIT, "take-profit")
    stop_loss = _stop_loss(p, kind, flat_trail)
    _check_percents(p, side, take_profit)
    _check_sides(p, side, reference, take_profit, stop_loss)
    return take_profit, stop_loss


def _one_way(p: Parsed, fields: dict[str, str], what: str) -> PriceSpec | None:
    given = [name for name in fields if p.given(name)]
    if len(given) > 1:
        names = " and ".join(p.name(name) for name in given)
        p.fail(given[0], f"give the {what} one way only (price, percent or offset), not {names}")
        return None
    if not given or given[0] not in p.data:
        return None
    return PriceSpec(**{fields[given[0]]: p.data[given[0]]})


def _stop_loss(p: Parsed, kind: StopKind | None, flat_trail: bool) -> StopLoss | None:
    trigger = _one_way(p, _STOP_TRIGGER, "stop loss")
    limit = p.data.get("stop_loss_limit")
    amount, percent = _stop_trail(p, flat_trail)
    if not any(p.given(name) for name in (*_STOP_TRIGGER, *_STOP_EXTRAS)):
        return None
    if kind is None:
        if p.given("stop_loss_type"):
            return None  # misspelt, already reported
        kind = "trailing_stop" if amount is not None or percent is not None else "stop"
    if kind == "trailing_stop":
        _trailing_parts(p, trigger, limit, amount, percent)
        return StopLoss(kind=kind, trail_amount=amount, trail_percent=percent)
    _stop_parts(p, kind, trigger, limit, amount, percent)
    return StopLoss(
        kind=kind,
        trigger=trigger,
        limit=PriceSpec(price=limit) if limit is not None and kind == "stop_limit" else None,
    )


def _stop_trail(p: Parsed, flat_trail: bool) -> tuple[Decimal | None, Decimal | None]:
    """The stop loss's trail: its own fields, or the flat ones when they are the stop's."""
    found: list[Decimal | None] = []
    for own, flat in (
        ("stop_loss_trail_amount", "trail_amount"),
        ("stop_loss_trail_percent", "trail_percent"),
    ):
        value = p.data.get(own)
        if flat_trail and flat in p.data:
            if value is not None and value != p.data[flat]:
                p.fail(own, f"{p.name(own)} and {p.name(flat)} disagree; send one")
            elif value is None:
                value = p.data[flat]
                p.sent.setdefault(own, p.name(flat))  # so a problem names what was sent
        found.append(value)
    return found[0], found[1]


def _trailing_parts(
    p: Parsed,
    trigger: PriceSpec | None,
    limit: Decimal | None,
    amount: Decimal | None,
    percent: Decimal | None,
) -> None:
    if trigger is not None:
        p.fail(
            "stop_loss",
            "a trailing stop loss follows the price by a distance: send "
            "stop_loss_trail_amount or stop_loss_trail_percent, not a trigger price",
        )
    if limit is not None:
        p.fail("stop_loss_limit", "only goes with stop_loss_type stop_limit")
    if amount is not None and percent is not None:
        p.fail("stop_loss_trail_amount", "give one of the trail amount or percent, not both")
    elif amount is None and percent is None:
        p.fail(
            "stop_loss_type",
            "trailing_stop needs stop_loss_trail_amount (a price distance) or "
            "stop_loss_trail_percent (TradersPost: stopLoss.trailAmount or trailPercent)",
        )
    if percent is not None and percent >= HUNDRED:
        p.fail("stop_loss_trail_percent", f"must be below 100, got {percent}")


def _stop_parts(
    p: Parsed,
    kind: str,
    trigger: PriceSpec | None,
    limit: Decimal | None,
    amount: Decimal | None,
    percent: Decimal | None,
) -> None:
    if trigger is None and not any(p.given(name) for name in _STOP_TRIGGER):
        p.fail(
            "stop_loss",
            f"a {kind} stop loss needs its trigger: stop_loss (a price), stop_loss_percent or "
            "stop_loss_offset (TradersPost: stopLoss.stopPrice, percent or amount)",
        )
    if kind == "stop_limit" and limit is None and not p.given("stop_loss_limit"):
        p.fail("stop_loss_limit", "is required for a stop_limit stop loss (its limit price)")
    if kind == "stop" and p.given("stop_loss_limit"):
        p.fail("stop_loss_limit", "only goes with stop_loss_type stop_limit")
    if amount is not None or percent is not None:
        p.fail(
            "stop_loss_trail_amount" if amount is not None else "stop_loss_trail_percent",
            "a trail only goes with stop_loss_type trailing_stop",
        )


def _check_percents(p: Parsed, side: str, take_profit: PriceSpec | None) -> None:
    stop_percent = p.data.get("stop_loss_percent")
    if stop_percent is not None and stop_percent >= HUNDRED:
        p.fail("stop_loss_percent", f"must be below 100, got {stop_percent}")
    percent = take_profit.percent if take_profit is not None else None
    # A sell's take-profit is below the entry: 100 percent or more is a price of 0 or less.
    if side == "sell" and percent is not None and percent >= HUNDRED:
        p.fail(
            "take_profit_percent",
            f"must be below 100 for a sell (the target is below the entry), got {percent}",
        )


def _check_sides(
    p: Parsed,
    side: str,
    reference: Decimal | None,
    take_profit: PriceSpec | None,
    stop_loss: StopLoss | None,
) -> None:
    target = take_profit.price if take_profit is not None else None
    stop = stop_loss.trigger.price if stop_loss and stop_loss.trigger else None
    buying = side == "buy"
    entry = "a buy" if buying else "a sell"
    if reference is not None:
        if target is not None and (target <= reference if buying else target >= reference):
            where = "above" if buying else "below"
            p.fail(
                "take_profit",
                f"{target} must be {where} the entry price {reference} for {entry}: a "
                "take-profit on the wrong side would close the position at once",
            )
        if stop is not None and (stop >= reference if buying else stop <= reference):
            where = "below" if buying else "above"
            p.fail(
                "stop_loss",
                f"{stop} must be {where} the entry price {reference} for {entry}: a stop on "
                "the wrong side would close the position at once",
            )
    elif target is not None and stop is not None and (target <= stop if buying else target >= stop):
        where = "above" if buying else "below"
        p.fail("take_profit", f"{target} must be {where} the stop loss {stop} for {entry}")
