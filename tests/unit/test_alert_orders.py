"""Order types and their prices, time in force, extended hours and sizing."""

from __future__ import annotations

from decimal import Decimal as D
from typing import Any

import pytest

from tests.alert_support import alert_of, errors_of, has

BUY = {"symbol": "AAPL", "action": "buy", "quantity": "10"}


@pytest.mark.parametrize(
    ("spelling", "order_type"),
    [
        ("market", "market"),
        ("MKT", "market"),
        ("limit", "limit"),
        ("LMT", "limit"),
        ("stop", "stop"),
        ("STP", "stop"),
        ("stop_limit", "stop_limit"),
        ("stop-limit", "stop_limit"),
        ("StopLimit", "stop_limit"),
        ("stop limit", "stop_limit"),
        ("STP LMT", "stop_limit"),
        ("trailing_stop", "trailing_stop"),
        ("trailing", "trailing_stop"),
        ("TRAIL", "trailing_stop"),
    ],
)
def test_order_type_spellings(spelling: str, order_type: str) -> None:
    prices = {
        "market": {},
        "limit": {"limit_price": "99"},
        "stop": {"stop_price": "101"},
        "stop_limit": {"stop_price": "101", "limit_price": "102"},
        "trailing_stop": {"trail_amount": "2"},
    }[order_type]
    assert alert_of({**BUY, "order_type": spelling, **prices}).order_type == order_type


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ({**BUY, "order_type": "limit", "limit_price": "99.5"}, {"limit_price": D("99.5")}),
        ({**BUY, "type": "lmt", "price": "98"}, {"limit_price": 98, "price": 98}),
        (
            {"ticker": "AAPL", "action": "buy", "orderType": "limit", "limitPrice": 100},
            {"order_type": "limit", "limit_price": 100},
        ),
        (
            {"ticker": "AAPL", "action": "buy", "orderType": "stop", "stopPrice": 100},
            {"order_type": "stop", "stop_price": 100, "limit_price": None},
        ),
        (
            {"ticker": "AAPL", "action": "sell", "orderType": "stop_limit"}
            | {"stopPrice": 100, "limitPrice": 99},
            {"order_type": "stop_limit", "stop_price": 100, "limit_price": 99},
        ),
        (
            {"ticker": "AAPL", "action": "sell", "orderType": "trailing_stop", "trailAmount": "2"},
            {"order_type": "trailing_stop", "trail_amount": 2, "trail_percent": None},
        ),
        (
            {"ticker": "AAPL", "action": "buy", "orderType": "trailing_stop", "trailPercent": 1},
            {"trail_percent": 1, "trail_amount": None, "stop_loss": None},
        ),
        (
            {"ticker": "AAPL", "action": "sell", "orderType": "limit", "limitPrice": 150}
            | {"timeInForce": "day", "extendedHours": True},
            {"time_in_force": "day", "outside_rth": True},
        ),
        ({**BUY, "tif": "GTC"}, {"time_in_force": "gtc"}),
        ({**BUY, "time_in_force": "Ioc"}, {"time_in_force": "ioc"}),
        ({**BUY, "time_in_force": "FOK"}, {"time_in_force": "fok"}),
        ({**BUY, "outside_rth": "yes"}, {"outside_rth": True}),
        ({**BUY, "outside_rth": "0"}, {"outside_rth": False}),
        ({**BUY, "outsideRth": "FALSE"}, {"outside_rth": False}),
        (
            {**BUY, "order_type": "stop_limit", "stop_price": 10, "limit_price": 10.5}
            | {"outside_rth": 1},
            {"outside_rth": True},
        ),
        ({**BUY, "order_type": "limit", "price": 9, "outside_rth": "no"}, {"outside_rth": False}),
        ({"symbol": "AAPL", "action": "close", "order_type": "limit", "limit_price": 5}, {}),
        ({**BUY, "strategy": "Golden Cross (50, 200)"}, {"strategy": "Golden Cross (50, 200)"}),
        ({**BUY, "strategy_name": "ORB"}, {"strategy": "ORB"}),
    ],
)
def test_order_terms(message: dict[str, Any], expected: dict[str, Any]) -> None:
    has(alert_of(message), **expected)


def test_outside_rth_on_a_market_order_is_left_to_the_worker() -> None:
    # Whether a market order may trade outside regular hours is the OUTSIDE_RTH setting's call.
    has(alert_of({**BUY, "outside_rth": True}), order_type="market", outside_rth=True)


@pytest.mark.parametrize(
    ("message", "field", "fragment"),
    [
        ({**BUY, "order_type": "limit"}, "limit_price", "required"),
        ({**BUY, "order_type": "limit", "limit_price": "None"}, "limit_price", "no value"),
        ({**BUY, "order_type": "stop"}, "stop_price", "required"),
        ({**BUY, "order_type": "stop", "stop_price": "NaN"}, "stop_price", "no value"),
        ({**BUY, "order_type": "stop_limit", "stop_price": 5}, "limit_price", "stop_limit"),
        ({**BUY, "order_type": "stop_limit", "limit_price": 5}, "stop_price", "required"),
        ({**BUY, "order_type": "stop", "stop_price": 5, "limit_price": 4}, "limit_price", "only"),
        ({**BUY, "limit_price": 5}, "limit_price", "only goes with"),
        ({**BUY, "stop_price": 5}, "stop_price", "only goes with"),
        ({**BUY, "order_type": "limit", "limit_price": 5, "stop_price": 4}, "stop_price", "only"),
        ({**BUY, "order_type": "trailing_stop"}, "trail_amount", "required"),
        (
            {**BUY, "order_type": "trailing_stop", "trail_amount": 1, "trail_percent": 1},
            "trail_amount",
            "not both",
        ),
        ({**BUY, "order_type": "trailing_stop", "trail_percent": 100}, "trail_percent", "below"),
        ({**BUY, "trail_percent": 2}, "trail_percent", "only goes with"),
        ({**BUY, "order_type": "iceberg"}, "order_type", "iceberg"),
        ({**BUY, "time_in_force": "opg"}, "time_in_force", "day, gtc, ioc, fok"),
        ({**BUY, "tif": ""}, "time_in_force", "no value"),
        ({**BUY, "outside_rth": "maybe"}, "outside_rth", "true or false"),
        (
            {**BUY, "order_type": "stop", "stop_price": 5, "outside_rth": True},
            "outside_rth",
            "limit",
        ),
        ({**BUY, "order_type": "limit", "limit_price": 0}, "limit_price", "greater than 0"),
        ({**BUY, "order_type": "stop", "stop_price": -1}, "stop_price", "greater than 0"),
        ({**BUY, "strategy": "x" * 65}, "strategy", "1-64"),
        ({**BUY, "strategy": "a\u200bb"}, "strategy", "printable"),
        ({"symbol": "AAPL", "action": "cancel", "order_type": "limit"}, "order_type", "cancel"),
        ({"symbol": "AAPL", "action": "cancel", "limit_price": 5}, "limit_price", "cancel"),
    ],
)
def test_order_problems_name_the_field(message: dict[str, Any], field: str, fragment: str) -> None:
    errors = errors_of(message)
    assert field in errors and any(fragment in m for m in errors[field]), errors


@pytest.mark.parametrize(
    ("message", "quantity", "quantity_type"),
    [
        ({"symbol": "AAPL", "action": "buy"}, None, "units"),
        ({**BUY, "quantity_type": "units"}, 10, "units"),
        ({**BUY, "quantityType": "fixed_quantity"}, 10, "units"),
        ({**BUY, "quantity": "1000", "quantityType": "dollar_amount"}, 1000, "cash"),
        ({**BUY, "quantity": "1000", "quantity_type": "CASH"}, 1000, "cash"),
        ({**BUY, "quantityType": "percent_of_equity"}, 10, "percent_of_equity"),
        (
            {**BUY, "quantity": 100, "quantityType": "risk_dollar_amount", "stop_loss": 90},
            100,
            "risk",
        ),
        (
            {**BUY, "quantity": "0.25", "quantity_type": "risk_percent"}
            | {"stopLoss": {"stopPrice": 90}},
            D("0.25"),
            "risk_percent",
        ),
        (
            {**BUY, "quantity_type": "risk", "stop_loss_type": "trailing_stop"}
            | {"stop_loss_trail_amount": 2},
            10,
            "risk",
        ),
        ({"symbol": "AAPL", "action": "buy", "sentiment": "long", "quantity": 5}, 5, "units"),
        (
            {"symbol": "AAPL", "action": "buy", "sentiment": "long", "quantity": 500}
            | {"quantityType": "dollar_amount"},
            500,
            "cash",
        ),
        ({"symbol": "AAPL", "action": "close"}, None, "units"),
        ({"symbol": "AAPL", "action": "close", "quantity": 3}, 3, "units"),
    ],
)
def test_sizing(message: dict[str, Any], quantity: D | int | None, quantity_type: str) -> None:
    has(alert_of(message), quantity=quantity, quantity_type=quantity_type)


@pytest.mark.parametrize(
    ("message", "field", "fragment"),
    [
        ({**BUY, "quantity_type": "risk"}, "quantity_type", "stop loss"),
        ({**BUY, "quantityType": "risk_percent", "quantity": 1}, "quantity_type", "stop loss"),
        ({"symbol": "AAPL", "action": "buy", "quantity_type": "cash"}, "quantity", "required"),
        ({**BUY, "quantity": 150, "quantity_type": "percent_of_equity"}, "quantity", "100"),
        ({**BUY, "quantityType": "percent_of_position"}, "quantity_type", "not supported"),
        ({**BUY, "quantity_type": "lots"}, "quantity_type", "lots"),
        ({"symbol": "AAPL", "action": "close", "quantity_type": "cash"}, "quantity_type", "entry"),
        (
            {"symbol": "AAPL", "action": "buy", "position_size": 5, "quantity_type": "cash"},
            "quantity_type",
            "entry",
        ),
        ({"symbol": "AAPL", "action": "reverse", "quantity": 2}, "quantity", "reverse"),
        ({**BUY, "quantity": "0"}, "quantity", "greater than 0"),
        ({**BUY, "quantity": "null"}, "quantity", "no value"),
    ],
)
def test_sizing_problems_name_the_field(message: dict[str, Any], field: str, fragment: str) -> None:
    errors = errors_of(message)
    assert field in errors and any(fragment in m for m in errors[field]), errors
