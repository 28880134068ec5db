"""Order sizing: every quantity type, rounding down to the step, and the refusals."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trading.alerts.model import Alert, PriceSpec, Side, StopLoss
from trading.errors import OrderRejected
from trading.sizing import ExitKind, increment_for, order_quantity, resolve_price

D = Decimal


def _alert(**fields: Any) -> Alert:
    values: dict[str, Any] = {"symbol": "AAPL", "action": "buy", **fields}
    return Alert(**values)


def _size(alert: Alert, **overrides: Any) -> Decimal:
    arguments: dict[str, Any] = {
        "price": None,
        "equity": None,
        "increment": None,
        "default_quantity": D(1),
        "sizing_required": False,
        **overrides,
    }
    return order_quantity(alert, **arguments)


def _stop(
    price: str | None = None, offset: str | None = None, percent: str | None = None
) -> StopLoss:
    return StopLoss(
        trigger=PriceSpec(*(None if v is None else D(v) for v in (price, offset, percent)))
    )


# --- units ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "overrides", "expected"),
    [
        ({"quantity": D(10)}, {}, D(10)),
        ({"quantity": D("1.5")}, {"increment": D("0.5")}, D("1.5")),
        ({"quantity": D("0.5"), "symbol": "BTCUSD", "sec_type": "CRYPTO"}, {}, D("0.5")),
        ({"quantity": D(1000), "symbol": "EURUSD"}, {}, D(1000)),
        ({}, {"default_quantity": D(3)}, D(3)),
        ({"action": "sell"}, {"default_quantity": D(7)}, D(7)),
    ],
)
def test_units_are_taken_as_given_or_the_default(
    fields: dict[str, Any], overrides: dict[str, Any], expected: Decimal
) -> None:
    assert _size(_alert(**fields), **overrides) == expected


@pytest.mark.parametrize(
    ("fields", "overrides", "fragment"),
    [
        ({"quantity": D("1.5")}, {}, "quantity 1.5 is not a whole number of shares"),
        ({"quantity": D("1.5"), "sec_type": "FUT", "symbol": "ES1!"}, {}, "of contracts"),
        ({"quantity": D("1000.5"), "symbol": "EURUSD"}, {}, "whole number of units"),
        ({"quantity": D("1.25")}, {"increment": D("0.5")}, "not a multiple of 0.5"),
        (
            {"quantity": D("0.000000001"), "symbol": "BTCUSD", "sec_type": "CRYPTO"},
            {},
            "not a multiple of 0.00000001",
        ),
        ({}, {"sizing_required": True}, "SIZING=required"),
        ({}, {"default_quantity": D("0.5")}, "DEFAULT_QUANTITY 0.5 is not a whole number"),
        ({"quantity": D(0)}, {}, "quantity must be a positive number"),
        ({"quantity": D(5)}, {"increment": D(0)}, "quantity step of 0"),
    ],
)
def test_units_the_instrument_cannot_take_are_refused_not_rounded(
    fields: dict[str, Any], overrides: dict[str, Any], fragment: str
) -> None:
    with pytest.raises(OrderRejected) as caught:
        _size(_alert(**fields), **overrides)
    assert fragment in caught.value.reason


def test_fractional_refusal_says_it_never_rounds() -> None:
    with pytest.raises(OrderRejected) as caught:
        _size(_alert(quantity=D("1.5")))
    assert "never rounds" in caught.value.reason


# --- cash -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "overrides", "expected"),
    [
        ({"price": D(100)}, {}, D(10)),  # exactly 10 shares
        ({"price": D("100.01")}, {}, D(9)),  # 9.999 rounds down
        ({}, {"price": D(100)}, D(10)),  # the broker's last price
        ({"price": D(200)}, {"price": D(100)}, D(5)),  # the alert's price wins
        ({"order_type": "limit", "limit_price": D(50), "price": D(100)}, {}, D(20)),
        ({"order_type": "stop", "stop_price": D(125), "price": D(100)}, {}, D(8)),
        ({"price": D(100)}, {"entry_price": D(250)}, D(4)),
        ({"price": D(300), "sec_type": "CRYPTO", "symbol": "BTCUSD"}, {}, D("3.33333333")),
        ({"price": D(300)}, {"increment": D("0.01")}, D("3.33")),
        ({"price": D("1.0850"), "symbol": "EURUSD"}, {}, D(921)),
    ],
)
def test_cash_buys_what_the_amount_pays_for_rounded_down(
    fields: dict[str, Any], overrides: dict[str, Any], expected: Decimal
) -> None:
    alert = _alert(quantity=D(1000), quantity_type="cash", **fields)
    assert _size(alert, **overrides) == expected


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        (
            {"quantity": D(50), "price": D(600)},
            "cash 50 at price 600 buys 0.083 shares, which rounds down to 0 whole shares",
        ),
        (
            {"quantity": D(50), "price": D(600), "action": "sell"},
            "cash 50 at price 600 sells 0.083 shares, which rounds down to 0 whole shares",
        ),
        (
            {"quantity": D("0.00001"), "price": D(30000), "sec_type": "CRYPTO"},
            "cash 0.00001 at price 30000 buys 0.00000000033 units, which rounds down to 0 "
            "units in steps of 0.00000001",
        ),
    ],
)
def test_cash_that_buys_nothing_is_refused_with_the_numbers(
    fields: dict[str, Any], reason: str
) -> None:
    with pytest.raises(OrderRejected) as caught:
        _size(_alert(quantity_type="cash", **fields))
    assert caught.value.reason == reason


@pytest.mark.parametrize(
    ("fields", "fragment"),
    [
        ({"quantity": D(1000)}, "cash sizing needs a price"),
        ({}, "quantity_type cash needs a quantity"),
        ({"quantity": D(-5), "price": D(10)}, "must be a positive number"),
        ({"quantity": D(100), "price": D(0)}, "price must be a positive number"),
    ],
)
def test_cash_without_what_it_needs_is_refused(fields: dict[str, Any], fragment: str) -> None:
    with pytest.raises(OrderRejected) as caught:
        _size(_alert(quantity_type="cash", **fields))
    assert fragment in caught.value.reason


# --- percent of equity --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("percent", "price", "equity", "expected"),
    [
        ("10", "100", "10000", D(10)),
        ("10", "101", "10000", D(9)),  # 9.90
        ("100", "50", "1000", D(20)),
        ("0.5", "10", "100000", D(50)),
    ],
)
def test_percent_of_equity(percent: str, price: str, equity: str, expected: Decimal) -> None:
    alert = _alert(quantity=D(percent), quantity_type="percent_of_equity", price=D(price))
    assert _size(alert, equity=D(equity)) == expected


@pytest.mark.parametrize(
    ("quantity", "equity", "fragment"),
    [
        (
            "1",
            "1000",
            "1% of equity 1000 (10) at price 600 buys 0.016 shares, which rounds "
            "down to 0 whole shares",
        ),
        ("1", None, "needs the account's equity"),
        ("150", "1000", "over 100% of equity"),
        ("1", "-5", "the account's equity must be a positive number"),
    ],
)
def test_percent_of_equity_refusals(quantity: str, equity: str | None, fragment: str) -> None:
    alert = _alert(quantity=D(quantity), quantity_type="percent_of_equity", price=D(600))
    with pytest.raises(OrderRejected) as caught:
        _size(alert, equity=None if equity is None else D(equity))
    assert fragment in caught.value.reason


# --- risk ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "amount", "expected"),
    [
        ({"stop_loss": _stop(price="95")}, "100", D(20)),  # absolute stop, exact
        ({"stop_loss": _stop(price="95")}, "104", D(20)),  # 20.8 rounds down
        ({"stop_loss": _stop(offset="2.5")}, "100", D(40)),
        ({"stop_loss": _stop(offset="3")}, "100", D(33)),
        ({"stop_loss": _stop(percent="2")}, "100", D(50)),  # 2% of 100 = 2 away
        ({"stop_loss": _stop(percent="3")}, "100", D(33)),
        ({"stop_price": D(98)}, "100", D(50)),
        ({"stop_loss": StopLoss(kind="trailing_stop", trail_amount=D(4))}, "100", D(25)),
        ({"stop_loss": StopLoss(kind="trailing_stop", trail_percent=D(5))}, "100", D(20)),
        ({"action": "sell", "stop_loss": _stop(price="104")}, "100", D(25)),
        ({"action": "sell", "stop_loss": _stop(offset="4")}, "100", D(25)),
        (
            {"order_type": "limit", "limit_price": D(90), "stop_loss": _stop(price="85")},
            "100",
            D(20),
        ),
    ],
)
def test_risk_divides_the_amount_by_the_distance_to_the_stop(
    fields: dict[str, Any], amount: str, expected: Decimal
) -> None:
    alert = _alert(quantity=D(amount), quantity_type="risk", price=D(100), **fields)
    assert _size(alert) == expected


@pytest.mark.parametrize(
    ("fields", "fragment"),
    [
        (
            {"quantity": D(1), "stop_loss": _stop(price="95")},
            "risking 1 over 5 between entry 100 and stop 95 buys 0.2 shares, which rounds "
            "down to 0 whole shares",
        ),
        ({"quantity": D(100)}, "risk sizing needs a stop loss"),
        ({"quantity": D(100), "stop_loss": _stop(price="105")}, "must lie below the entry 100"),
        ({"quantity": D(100), "stop_loss": _stop(price="100")}, "must lie below the entry 100"),
        (
            {"quantity": D(100), "action": "sell", "stop_loss": _stop(price="95")},
            "must lie above the entry 100",
        ),
        ({"quantity": D(100), "stop_loss": _stop(percent="100")}, "which is not a price"),
        (
            {"quantity": D(100), "order_type": "stop", "stop_price": D(101)},
            "risk sizing needs a stop loss",
        ),
        ({"quantity": D(100), "action": "close", "stop_loss": _stop(price="95")}, "buy or a sell"),
        (
            {"quantity": D(100), "stop_loss": StopLoss(kind="trailing_stop")},
            "needs trail_amount or trail_percent",
        ),
    ],
)
def test_risk_refusals(fields: dict[str, Any], fragment: str) -> None:
    with pytest.raises(OrderRejected) as caught:
        _size(_alert(quantity_type="risk", price=D(100), **fields))
    assert fragment in caught.value.reason


@pytest.mark.parametrize(
    ("percent", "equity", "stop", "expected"),
    [
        ("1", "10000", "95", D(20)),  # risk 100 over 5
        ("1", "10000", "97", D(33)),  # 33.3
        ("0.5", "20000", "90", D(10)),
    ],
)
def test_risk_percent_risks_a_share_of_equity(
    percent: str, equity: str, stop: str, expected: Decimal
) -> None:
    alert = _alert(
        quantity=D(percent), quantity_type="risk_percent", price=D(100), stop_loss=_stop(stop)
    )
    assert _size(alert, equity=D(equity)) == expected


def test_risk_percent_that_risks_too_little_is_refused_with_the_numbers() -> None:
    alert = _alert(quantity=D(1), quantity_type="risk_percent", price=D(100), stop_loss=_stop("50"))
    with pytest.raises(OrderRejected) as caught:
        _size(alert, equity=D(1000))
    assert caught.value.reason == (
        "risking 1% of equity 1000 (10) over 50 between entry 100 and stop 50 buys 0.2 "
        "shares, which rounds down to 0 whole shares"
    )


def test_risk_percent_without_equity_is_refused() -> None:
    alert = _alert(quantity=D(1), quantity_type="risk_percent", price=D(100), stop_loss=_stop("95"))
    with pytest.raises(OrderRejected, match="needs the account's equity"):
        _size(alert)


# --- increments and exit prices -----------------------------------------------------------


@pytest.mark.parametrize(
    ("sec_type", "symbol", "increment", "expected"),
    [
        (None, "AAPL", None, D(1)),
        ("STK", "AAPL", None, D(1)),
        ("FUT", "ES1!", None, D(1)),
        ("CASH", "EUR.USD", None, D(1)),
        (None, "EURUSD", None, D(1)),
        (None, "EUR/USD", None, D(1)),
        ("CRYPTO", "BTCUSD", None, D("0.00000001")),
        ("crypto", "BTCUSD", None, D("0.00000001")),
        ("OPT", "AAPL", None, D(1)),
        ("STK", "AAPL", D("0.0001"), D("0.0001")),
    ],
)
def test_increment_for(
    sec_type: str | None, symbol: str, increment: Decimal | None, expected: Decimal
) -> None:
    assert increment_for(sec_type, symbol, increment) == expected


@pytest.mark.parametrize("increment", [D(0), D(-1), D("NaN")])
def test_a_nonsense_broker_increment_is_refused(increment: Decimal) -> None:
    with pytest.raises(OrderRejected, match="positive step"):
        increment_for("STK", "AAPL", increment)


@pytest.mark.parametrize(
    ("spec", "side", "exit_kind", "expected"),
    [
        (PriceSpec(offset=D(5)), "buy", "take_profit", D(105)),
        (PriceSpec(offset=D(5)), "buy", "stop_loss", D(95)),
        (PriceSpec(offset=D(5)), "sell", "take_profit", D(95)),
        (PriceSpec(offset=D(5)), "sell", "stop_loss", D(105)),
        (PriceSpec(percent=D(10)), "buy", "take_profit", D(110)),
        (PriceSpec(percent=D(10)), "buy", "stop_loss", D(90)),
        (PriceSpec(percent=D(10)), "sell", "stop_loss", D(110)),
        (PriceSpec(percent=D("0.5")), "sell", "take_profit", D("99.5")),
        (PriceSpec(price=D(97)), "buy", "stop_loss", D(97)),
        (PriceSpec(price=D(97)), "sell", "take_profit", D(97)),
    ],
)
def test_resolve_price(spec: PriceSpec, side: Side, exit_kind: ExitKind, expected: Decimal) -> None:
    assert resolve_price(spec, entry=D(100), side=side, exit_kind=exit_kind) == expected


@pytest.mark.parametrize(
    ("spec", "side", "exit_kind", "fragment"),
    [
        (PriceSpec(percent=D(100)), "buy", "stop_loss", "resolves to 0"),
        (PriceSpec(offset=D(150)), "sell", "take_profit", "resolves to -50"),
        (PriceSpec(price=D(0)), "buy", "stop_loss", "which is not a price"),
        (PriceSpec(), "buy", "stop_loss", "this one gives none"),
        (PriceSpec(price=D(1), offset=D(2)), "buy", "take_profit", "gives price and offset"),
        (PriceSpec(offset=D(-5)), "buy", "take_profit", "offset must be a positive number"),
        (PriceSpec(percent=D(0)), "buy", "stop_loss", "percent must be a positive number"),
    ],
)
def test_resolve_price_refusals(
    spec: PriceSpec, side: Side, exit_kind: ExitKind, fragment: str
) -> None:
    with pytest.raises(OrderRejected) as caught:
        resolve_price(spec, entry=D(100), side=side, exit_kind=exit_kind)
    assert fragment in caught.value.reason


def test_an_absolute_price_needs_no_entry() -> None:
    spec = PriceSpec(price=D(97))
    assert resolve_price(spec, entry=D(0), side="buy", exit_kind="stop_loss") == D(97)


def test_a_relative_price_needs_an_entry() -> None:
    with pytest.raises(OrderRejected, match="entry price must be a positive number"):
        resolve_price(PriceSpec(offset=D(5)), entry=D(0), side="buy", exit_kind="stop_loss")


# --- properties ---------------------------------------------------------------------------

AMOUNTS = st.decimals(min_value="0.01", max_value="10000000", places=2)
PRICES = st.decimals(min_value="0.0001", max_value="100000", places=4)
INCREMENTS = st.sampled_from([D(1), D("0.01"), D("0.5"), D("0.00000001"), D(100)])
SIDES = st.sampled_from(["buy", "sell"])


def _is_multiple(size: Decimal, increment: Decimal) -> bool:
    return size % increment == 0


@given(cash=AMOUNTS, price=PRICES, increment=INCREMENTS, side=SIDES)
def test_cash_size_never_costs_more_than_the_cash(
    cash: Decimal, price: Decimal, increment: Decimal, side: Side
) -> None:
    alert = _alert(action=side, quantity=cash, quantity_type="cash", price=price)
    try:
        size = _size(alert, increment=increment)
    except OrderRejected:
        assert cash / price < increment
        return
    assert size * price <= cash
    assert _is_multiple(size, increment)
    # Rounded down by less than one step: the cash is spent as fully as the step allows.
    assert (size + increment) * price > cash


@given(
    percent=st.decimals(min_value="0.01", max_value="100", places=2),
    equity=AMOUNTS,
    price=PRICES,
    increment=INCREMENTS,
)
def test_percent_of_equity_size_never_costs_more_than_the_share(
    percent: Decimal, equity: Decimal, price: Decimal, increment: Decimal
) -> None:
    alert = _alert(quantity=percent, quantity_type="percent_of_equity", price=price)
    budget = equity * percent / 100
    try:
        size = _size(alert, equity=equity, increment=increment)
    except OrderRejected:
        assert budget / price < increment
        return
    assert size * price <= budget
    assert _is_multiple(size, increment)


@given(
    amount=AMOUNTS,
    entry=PRICES,
    fraction=st.decimals("0.001", "0.999", places=3),
    increment=INCREMENTS,
    side=SIDES,
)
def test_risk_size_with_an_absolute_stop_never_risks_more_than_the_amount(
    amount: Decimal, entry: Decimal, fraction: Decimal, increment: Decimal, side: Side
) -> None:
    distance = entry * fraction
    stop = entry - distance if side == "buy" else entry + distance
    alert = _alert(
        action=side,
        quantity=amount,
        quantity_type="risk",
        price=entry,
        stop_loss=StopLoss(trigger=PriceSpec(price=stop)),
    )
    try:
        size = _size(alert, increment=increment)
    except OrderRejected:
        assert amount / abs(entry - stop) < increment
        return
    assert size * abs(entry - stop) <= amount
    assert _is_multiple(size, increment)


@given(
    amount=AMOUNTS,
    entry=st.decimals("1000", "100000", places=2),
    offset=st.decimals("0.01", "999", places=2),
    increment=INCREMENTS,
    side=SIDES,
)
def test_risk_size_with_an_offset_stop_never_risks_more_than_the_amount(
    amount: Decimal, entry: Decimal, offset: Decimal, increment: Decimal, side: Side
) -> None:
    alert = _alert(
        action=side,
        quantity=amount,
        quantity_type="risk",
        price=entry,
        stop_loss=StopLoss(trigger=PriceSpec(offset=offset)),
    )
    try:
        size = _size(alert, increment=increment)
    except OrderRejected:
        assert amount / offset < increment
        return
    assert size * offset <= amount
    assert _is_multiple(size, increment)
    assert (size + increment) * offset > amount
