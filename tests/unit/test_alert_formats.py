"""Other bridges' real messages, as their documentation shows them, read as they meant.

TradersPost: docs.traderspost.io and traderspost.io/reference. 3Commas: "Signal bot: JSON
file for Strategy type". PickMyTrade and TBOT have their own files.
"""

from __future__ import annotations

from decimal import Decimal as D
from typing import Any

import pytest

from tests.alert_support import alert_of, errors_of, has
from trading.alerts.model import PriceSpec, StopLoss
from trading.alerts.spellings import ALIASES, FIELDS, markdown_table

# --- TradersPost ------------------------------------------------------------------------

TRADERSPOST = [
    (
        {
            "ticker": "AMD",
            "action": "buy",
            "signalPrice": 143.12,
            "quantity": 1,
            "takeProfit": {"percent": 10},
            "stopLoss": {"type": "stop", "percent": 5},
        },
        {
            "symbol": "AMD",
            "action": "buy",
            "quantity": 1,
            "price": D("143.12"),
            "take_profit": PriceSpec(percent=D(10)),
            "stop_loss": StopLoss(trigger=PriceSpec(percent=D(5))),
            "intent": "add",
            "source_format": "traderspost",
        },
    ),
    (
        # The strategy template: {{strategy.order.action}} and {{strategy.market_position}}.
        {"ticker": "TSLA", "action": "sell", "sentiment": "flat", "price": "420.69"},
        {"symbol": "TSLA", "action": "close", "target_side": None, "intent": "close"}
        | {"source_format": "traderspost"},
    ),
    (
        {"ticker": "TSLA", "action": "buy", "sentiment": "long", "price": "420.69"},
        {"action": "buy", "target_side": "buy", "quantity": None, "intent": "target"}
        | {"source_format": "traderspost"},
    ),
    (
        {
            "ticker": "AAPL",
            "action": "buy",
            "orderType": "limit",
            "limitPrice": 180,
            "quantityType": "risk_dollar_amount",
            "quantity": 100,
            "stopLoss": {"type": "stop", "stopPrice": "170"},
        },
        {
            "order_type": "limit",
            "limit_price": 180,
            "quantity_type": "risk",
            "quantity": 100,
            "stop_loss": StopLoss(trigger=PriceSpec(price=D(170))),
            "source_format": "traderspost",
        },
    ),
    (
        {
            "ticker": "AAPL",
            "action": "buy",
            "orderType": "limit",
            "limitPrice": 100,
            "stopLoss": {"type": "trailing_stop", "trailPercent": "5"},
        },
        {"stop_loss": StopLoss("trailing_stop", trail_percent=D(5)), "limit_price": 100}
        | {"source_format": "traderspost"},
    ),
    (
        {
            "ticker": "AAPL",
            "action": "sell",
            "orderType": "limit",
            "limitPrice": 150,
            "timeInForce": "day",
            "extendedHours": True,
        },
        {"action": "sell", "time_in_force": "day", "outside_rth": True, "intent": "add"}
        # Nothing here is TradersPost's alone: it reads as our own format.
        | {"source_format": None},
    ),
    (
        {"ticker": "SQ", "action": "add", "sentiment": "bullish", "quantity": 5},
        {"action": "buy", "target_side": None, "quantity": 5, "intent": "add"}
        | {"source_format": "traderspost"},
    ),
]


@pytest.mark.parametrize(("message", "expected"), TRADERSPOST)
def test_traderspost_messages(message: dict[str, Any], expected: dict[str, Any]) -> None:
    alert = alert_of(message)
    has(alert, **{k: v for k, v in expected.items() if k != "intent"})
    assert alert.intent == expected.get("intent", alert.intent)


# --- 3Commas ----------------------------------------------------------------------------


def three_commas(
    action: str, position: str, size: str, amount: str, **extra: Any
) -> dict[str, Any]:
    return {
        "secret": "eyJhbGciOiJIUzI1NiJ9",
        "max_lag": "300",
        "timestamp": "2025-11-26T14:30:00Z",
        "trigger_price": "64250.5",
        "tv_exchange": "BINANCE",
        "tv_instrument": "BTCUSDT",
        "action": action,
        "bot_uuid": "9a7b4b2e-0000-4000-8000-3c0mmas00000",
        "strategy_info": {
            "market_position": position,
            "market_position_size": size,
            "prev_market_position": "flat",
            "prev_market_position_size": "0",
        },
        "order": {"amount": amount, "currency_type": "base"},
        **extra,
    }


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        (
            three_commas("buy", "long", "0.01", "0.01"),
            {
                "symbol": "BTCUSDT",
                "exchange": "BINANCE",
                "action": "buy",
                "target_position": D("0.01"),
                "quantity": D("0.01"),
                "price": D("64250.5"),
                "quantity_type": "units",
            },
        ),
        (
            three_commas("sell", "flat", "0", "0.01"),
            {"action": "sell", "target_position": 0, "quantity": D("0.01")},
        ),
        (
            three_commas("sell", "short", "0.02", "0.03"),
            {"action": "sell", "target_position": D("-0.02"), "quantity": D("0.03")},
        ),
        (
            three_commas("buy", "long", "0.01", "0.01", tv_instrument="BINANCE:ETHUSDT"),
            {"symbol": "ETHUSDT", "exchange": "BINANCE"},
        ),
    ],
)
def test_3commas_strategy_messages(message: dict[str, Any], expected: dict[str, Any]) -> None:
    alert = alert_of(message)
    has(alert, **expected)
    assert alert.source_format == "3commas" and alert.intent == "target"


@pytest.mark.parametrize(
    ("message", "field", "fragment"),
    [
        (three_commas("buy", "long", "", "0.01"), "strategy_info", "no value"),
        (
            three_commas("buy", "long", "0.01", "0.01") | {"order": {"amount": "1"} | {"sl": 1}},
            "order",
            "'sl'",
        ),
        (three_commas("hold", "long", "0.01", "0.01"), "action", "hold"),
        (
            three_commas("buy", "long", "0.01", "0.01", tv_instrument="{{ticker}}"),
            "symbol",
            "placeholder",
        ),
        (
            three_commas("buy", "long", "0.01", "0.01")
            | {"order": {"amount": "10", "currency_type": "margin_percent"}},
            "order",
            "margin_percent",
        ),
    ],
)
def test_3commas_problems(message: dict[str, Any], field: str, fragment: str) -> None:
    errors = errors_of(message)
    assert field in errors and any(fragment in m for m in errors[field]), errors


def test_3commas_quote_currency_is_a_cash_amount() -> None:
    message = three_commas("buy", "long", "0.01", "500")
    message["order"]["currency_type"] = "quote"
    message.pop("strategy_info")
    has(alert_of(message), quantity=500, quantity_type="cash", target_position=None)


# --- the accepted names -------------------------------------------------------------------


def test_every_accepted_name_is_in_the_table() -> None:
    table = markdown_table()
    for names in ALIASES.values():
        for name in names:
            assert f"`{name}`" in table
    assert ALIASES.keys() == FIELDS.keys()


@pytest.mark.parametrize(
    "extra",
    [
        {"comment": "Long", "interval": "5"},
        {"prev_market_position": "None", "prev_market_position_size": "NaN"},
        {"reverse": False},
        {"orderRef": "Long", "timeframe": "D", "clientId": 1},
    ],
)
def test_informational_fields_are_accepted(extra: dict[str, Any]) -> None:
    has(alert_of({"symbol": "AAPL", "action": "buy", **extra}), action="buy", quantity=None)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("reverse", True),
        ("expiration", "+1 month"),
        ("optionType", "call"),
        ("multiplier", "50"),
    ],
)
def test_fields_that_would_trade_something_else_are_refused(name: str, value: Any) -> None:
    errors = errors_of({"symbol": "AAPL", "action": "buy", name: value})
    assert name in errors and "refused rather than ignored" in errors[name][0]
