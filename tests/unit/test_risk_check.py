"""The pre-trade check: each rule on both sides of its limit, and what always passes."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from types import MappingProxyType
from typing import Any

import pytest

from trading.planning import PlannedLeg
from trading.risk import (
    Limit,
    RiskContext,
    RiskLimits,
    SymbolLimits,
    check_orders,
    parse_risk_file,
)

D = Decimal
# A Wednesday, 10:00 in New York.
WEDNESDAY = datetime(2026, 1, 14, 15, 0, tzinfo=UTC)


def limits(**values: Any) -> RiskLimits:
    """Global limits as if set in the environment (RISK_<NAME>)."""
    return RiskLimits(**{k: Limit(v, f"RISK_{k.upper()}") for k, v in values.items()})


def entry(quantity: str = "10", **terms: Any) -> PlannedLeg:
    return PlannedLeg("entry", "buy", D(quantity), **terms)


def context(legs: tuple[PlannedLeg, ...] | None = None, **facts: Any) -> RiskContext:
    legs = legs if legs is not None else (entry(),)
    opened = sum((leg.quantity for leg in legs if leg.leg not in ("tp", "sl")), D(0))
    base: dict[str, Any] = {
        "symbol": "AAPL",
        "legs": legs,
        "position_before": D(0),
        "position_after": opened,
        "now": WEDNESDAY,
        "alert_age_seconds": 1.0,
        "alert_price": D(100),
        "daily_pnl": D(0),
    }
    return RiskContext(**{**base, **facts})


CASES: list[tuple[str, RiskLimits, RiskContext, str | None]] = [
    # max_order_quantity
    ("quantity at limit", limits(max_order_quantity=D(100)), context((entry("100"),)), None),
    (
        "quantity over",
        limits(max_order_quantity=D(100)),
        context((entry("100.5"),)),
        "max_order_quantity",
    ),
    # max_order_notional: quantity times the alert's price, else the broker's last
    ("notional at limit", limits(max_order_notional=D(10000)), context((entry("100"),)), None),
    (
        "notional over",
        limits(max_order_notional=D(10000)),
        context((entry("101"),)),
        "max_order_notional",
    ),
    (
        "notional from last price",
        limits(max_order_notional=D(10000)),
        context((entry("101"),), alert_price=None, last_price=D(99)),
        None,
    ),
    (
        "notional at a higher limit price",
        limits(max_order_notional=D(10000)),
        context((entry("50", order_type="limit", limit_price=D(201)),)),
        "max_order_notional",
    ),
    (
        "notional without any price",
        limits(max_order_notional=D(10000)),
        context(alert_price=None, last_price=None),
        "max_order_notional",
    ),
    # max_position: only when the plan increases |position| beyond it
    (
        "position to limit",
        limits(max_position=D(100)),
        context(position_before=D(50), position_after=D(100)),
        None,
    ),
    (
        "position over",
        limits(max_position=D(100)),
        context(position_before=D(50), position_after=D(101)),
        "max_position",
    ),
    (
        "short over",
        limits(max_position=D(100)),
        context((PlannedLeg("entry", "sell", D(101)),), position_after=D(-101)),
        "max_position",
    ),
    (
        "across zero within",
        limits(max_position=D(100)),
        context(position_before=D(150), position_after=D(-100)),
        None,
    ),
    (
        "across zero beyond",
        limits(max_position=D(100)),
        context(position_before=D(50), position_after=D(-101)),
        "max_position",
    ),
    # max_open_positions: only when the plan opens a new instrument
    ("open below", limits(max_open_positions=3), context(open_positions=2), None),
    ("open at", limits(max_open_positions=3), context(open_positions=3), "max_open_positions"),
    (
        "adding to a held one",
        limits(max_open_positions=3),
        context(open_positions=3, position_before=D(5), position_after=D(15)),
        None,
    ),
    (
        "held by the account, flat for the strategy",
        limits(max_open_positions=3),
        context(open_positions=3, holds_position=True),
        None,
    ),
    # daily_loss_limit: the loss reaching it halts
    ("loss below", limits(daily_loss_limit=D(1000)), context(daily_pnl=D("-999.99")), None),
    (
        "loss at",
        limits(daily_loss_limit=D(1000)),
        context(daily_pnl=D(-1000)),
        "daily_loss_limit",
    ),
    (
        "pnl unknown",
        limits(daily_loss_limit=D(1000)),
        context(daily_pnl=None),
        "daily_loss_limit",
    ),
    ("pnl unknown, no limit", limits(), context(daily_pnl=None), None),
    # symbol lists
    ("allowed", limits(allowed_symbols=frozenset({"AAPL"})), context(symbol="aapl"), None),
    (
        "not allowed",
        limits(allowed_symbols=frozenset({"MSFT"})),
        context(),
        "allowed_symbols",
    ),
    ("not denied", limits(denied_symbols=frozenset({"MSFT"})), context(), None),
    ("denied", limits(denied_symbols=frozenset({"AAPL"})), context(), "denied_symbols"),
    # order rates: those sent in the last 60 s plus those about to be
    ("rate at", limits(max_orders_per_minute=60), context(orders_last_minute=59), None),
    (
        "rate over",
        limits(max_orders_per_minute=60),
        context(orders_last_minute=60),
        "max_orders_per_minute",
    ),
    (
        "a bracket counts three",
        limits(max_orders_per_minute=60),
        context(
            (entry(), PlannedLeg("tp", "sell", D(10)), PlannedLeg("sl", "sell", D(10))),
            orders_last_minute=58,
        ),
        "max_orders_per_minute",
    ),
    (
        "instrument rate at",
        limits(max_orders_per_minute_per_instrument=20),
        context(instrument_orders_last_minute=19, orders_last_minute=500),
        None,
    ),
    (
        "instrument rate over",
        limits(max_orders_per_minute_per_instrument=20),
        context(instrument_orders_last_minute=20),
        "max_orders_per_minute_per_instrument",
    ),
    # alert age
    ("age at", limits(max_alert_age_seconds=30), context(alert_age_seconds=30.0), None),
    (
        "age over",
        limits(max_alert_age_seconds=30),
        context(alert_age_seconds=30.5),
        "max_alert_age_seconds",
    ),
    # the kill switch
    ("not halted", limits(), context(), None),
    ("halted", limits(), context(halt_reason="by hand"), "kill_switch"),
]


@pytest.mark.parametrize(
    ("limits_", "ctx", "rule"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_each_rule_on_both_sides(limits_: RiskLimits, ctx: RiskContext, rule: str | None) -> None:
    refusal = check_orders(limits_, ctx)
    assert (refusal.rule if refusal else None) == rule


def _collar_leg(order_type: str, limit: str | None = None, stop: str | None = None) -> PlannedLeg:
    return entry(
        order_type=order_type,
        limit_price=D(limit) if limit else None,
        stop_price=D(stop) if stop else None,
    )


@pytest.mark.parametrize(
    ("leg", "facts", "refused"),
    [
        (_collar_leg("limit", limit="105"), {}, False),
        (_collar_leg("limit", limit="105.01"), {}, True),
        (_collar_leg("limit", limit="95"), {}, False),
        (_collar_leg("limit", limit="94.99"), {}, True),
        (_collar_leg("stop", stop="104.99"), {}, False),
        (_collar_leg("stop", stop="106"), {}, True),
        (_collar_leg("stop", stop="95"), {}, False),
        (_collar_leg("stop", stop="94"), {}, True),
        (_collar_leg("stop_limit", limit="120", stop="101"), {}, True),
        (_collar_leg("stop_limit", limit="102", stop="101"), {}, False),
        (_collar_leg("limit", limit="104"), {"alert_price": None, "last_price": D(100)}, False),
        (_collar_leg("limit", limit="104"), {"alert_price": None, "last_price": D(90)}, True),
        (_collar_leg("limit", limit="104"), {"alert_price": None}, True),
        (_collar_leg("market"), {"alert_price": None}, False),
    ],
)
def test_price_collar_for_limit_and_stop_prices(
    leg: PlannedLeg, facts: dict[str, Any], refused: bool
) -> None:
    refusal = check_orders(limits(price_collar_percent=D(5)), context((leg,), **facts))
    assert (refusal is not None) == refused
    if refusal is not None:
        assert refusal.rule == "price_collar_percent"
        assert "RISK_PRICE_COLLAR_PERCENT 5" in refusal.message


# Every limit as tight as it goes, the kill switch on and the market closed.
TIGHT = RiskLimits(
    max_order_quantity=Limit(D(1), "RISK_MAX_ORDER_QUANTITY"),
    max_order_notional=Limit(D(1), "RISK_MAX_ORDER_NOTIONAL"),
    max_position=Limit(D(1), "RISK_MAX_POSITION"),
    max_open_positions=Limit(1, "RISK_MAX_OPEN_POSITIONS"),
    daily_loss_limit=Limit(D(1), "RISK_DAILY_LOSS_LIMIT"),
    max_orders_per_minute=Limit(1, "RISK_MAX_ORDERS_PER_MINUTE"),
    max_orders_per_minute_per_instrument=Limit(1, "RISK_MAX_ORDERS_PER_MINUTE_PER_INSTRUMENT"),
    price_collar_percent=Limit(D("0.1"), "RISK_PRICE_COLLAR_PERCENT"),
    max_alert_age_seconds=Limit(1, "RISK_MAX_ALERT_AGE_SECONDS"),
    allowed_symbols=Limit(frozenset({"MSFT"}), "RISK_ALLOWED_SYMBOLS"),
    denied_symbols=Limit(frozenset({"AAPL"}), "deny in RISK_CONFIG_FILE"),
)
STRESSED = {
    "daily_pnl": None,
    "halt_reason": "daily loss",
    "orders_last_minute": 100,
    "instrument_orders_last_minute": 100,
    "alert_age_seconds": 100.0,
    "open_positions": 50,
    "alert_price": None,
    "now": datetime(2026, 1, 17, 3, 0, tzinfo=UTC),  # a Saturday night
}


@pytest.mark.parametrize(
    ("legs", "before", "after"),
    [
        ((PlannedLeg("close", "sell", D(500)),), "500", "0"),
        ((PlannedLeg("close", "sell", D(200), "limit", limit_price=D(1)),), "500", "300"),
        ((PlannedLeg("close", "buy", D(500), "stop", stop_price=D(900)),), "-500", "0"),
        (
            (
                PlannedLeg("tp", "sell", D(500), "limit", D(900), oca=True),
                PlannedLeg("sl", "sell", D(500), "stop", stop_price=D(1), oca=True),
            ),
            "500",
            "500",
        ),
    ],
    ids=["close", "reduce with a far limit", "cover a short", "replace exits"],
)
def test_reductions_and_exits_always_pass(
    legs: tuple[PlannedLeg, ...], before: str, after: str
) -> None:
    ctx = context(legs, position_before=D(before), position_after=D(after), **STRESSED)
    assert check_orders(TIGHT, ctx) is None
    assert check_orders(replace(TIGHT, windows=_closed_windows()), ctx) is None


def _closed_windows() -> Limit[Any]:
    text = '[calendar]\nwindows = [{days="mon", start="00:00", end="00:01", timezone="UTC"}]'
    windows = parse_risk_file(text).windows
    assert windows is not None
    return windows


def test_an_opening_plan_checks_its_entry_but_not_its_close_or_exits() -> None:
    lenient = limits(max_order_quantity=D(10), price_collar_percent=D(5))
    legs = (
        PlannedLeg("close", "sell", D(500)),
        PlannedLeg("open", "sell", D(10), "limit", D(99)),
        PlannedLeg("tp", "buy", D(10), "limit", D(50), parent_leg="open", oca=True),
        PlannedLeg("sl", "buy", D(10), "stop", stop_price=D(150), parent_leg="open", oca=True),
    )
    ctx = context(legs, position_before=D(500), position_after=D(-10))
    assert check_orders(lenient, ctx) is None
    too_big = (legs[0], replace(legs[1], quantity=D(11)), *legs[2:])
    refusal = check_orders(lenient, replace(ctx, legs=too_big, position_after=D(-11)))
    assert refusal is not None and refusal.rule == "max_order_quantity"


def test_per_symbol_limits_beat_the_global_ones() -> None:
    own = SymbolLimits(
        max_order_quantity=Limit(D(500), "symbols.AAPL.max_order_quantity in RISK_CONFIG_FILE"),
        max_position=Limit(D(5), "symbols.AAPL.max_position in RISK_CONFIG_FILE"),
    )
    both = replace(
        limits(max_order_quantity=D(100), max_position=D(1000)),
        symbols=MappingProxyType({"AAPL": own}),
    )
    assert check_orders(both, context((entry("400"),), position_after=D(4))) is None
    msft = context((entry("400"),), symbol="MSFT")
    assert check_orders(both, msft) == check_orders(limits(max_order_quantity=D(100)), msft)
    over = check_orders(both, context((entry("501"),), position_after=D(5)))
    assert over is not None
    assert over.message == (
        "quantity 501 exceeds symbols.AAPL.max_order_quantity in RISK_CONFIG_FILE 500 (AAPL)"
    )
    tighter = check_orders(both, context((entry("6"),)))
    assert tighter is not None and tighter.rule == "max_position" and tighter.limit == "5"


def test_a_refusal_names_rule_limit_and_value_and_records_as_json() -> None:
    refusal = check_orders(limits(max_order_quantity=D(100)), context((entry("5000"),)))
    assert refusal is not None
    assert refusal.message == "quantity 5000 exceeds RISK_MAX_ORDER_QUANTITY 100 (AAPL)"
    recorded = json.loads(json.dumps(refusal.to_json()))
    assert recorded == {
        "rule": "max_order_quantity",
        "limit": "100",
        "value": "5000",
        "setting": "RISK_MAX_ORDER_QUANTITY",
        "symbol": "AAPL",
        "halts": False,
        "message": refusal.message,
    }


@pytest.mark.parametrize(
    ("limits_", "ctx", "fragments"),
    [
        (
            limits(max_order_notional=D(1000)),
            context(alert_price=None),
            ["no price to check the notional limit against: send price"],
        ),
        (
            limits(daily_loss_limit=D(1000)),
            context(daily_pnl=None),
            ["daily PnL unknown", "RISK_DAILY_LOSS_LIMIT 1000", "closing is still possible"],
        ),
        (
            limits(daily_loss_limit=D(1000)),
            context(daily_pnl=D(-1250)),
            ["daily loss 1250 reached RISK_DAILY_LOSS_LIMIT 1000", "trading halts"],
        ),
        (
            limits(price_collar_percent=D(5)),
            context((entry(order_type="limit", limit_price=D(120)),)),
            ["limit price 120 is 20.00 % from the alert's price 100", "PERCENT 5 (AAPL)"],
        ),
        (
            limits(max_orders_per_minute=60),
            context(orders_last_minute=60),
            ["61 orders in 60 s (60 sent, 1 now) exceeds RISK_MAX_ORDERS_PER_MINUTE 60"],
        ),
        (
            limits(max_open_positions=5),
            context(open_positions=5),
            ["opening AAPL makes 6 open positions, over RISK_MAX_OPEN_POSITIONS 5"],
        ),
        (
            limits(max_position=D("1E+2")),
            context(position_before=D(90), position_after=D(110)),
            ["position 110 after this plan (from 90) exceeds RISK_MAX_POSITION 100"],
        ),
        (
            limits(allowed_symbols=frozenset({"MSFT", "SPY"})),
            context(),
            ["symbol AAPL is not in RISK_ALLOWED_SYMBOLS (MSFT, SPY)"],
        ),
    ],
)
def test_messages_say_what_to_change(
    limits_: RiskLimits, ctx: RiskContext, fragments: list[str]
) -> None:
    refusal = check_orders(limits_, ctx)
    assert refusal is not None
    for fragment in fragments:
        assert fragment in refusal.message


def test_only_a_loss_beyond_the_limit_asks_to_halt() -> None:
    daily = limits(daily_loss_limit=D(1000))
    breached = check_orders(daily, context(daily_pnl=D(-1000)))
    unknown = check_orders(daily, context(daily_pnl=None))
    assert breached is not None and breached.halts
    assert unknown is not None and not unknown.halts


def test_now_must_be_aware() -> None:
    with pytest.raises(ValueError, match="aware"):
        context(now=datetime(2026, 1, 14, 15, 0))
