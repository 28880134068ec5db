"""PickMyTrade's messages, from its "Generate Alert" JSON and its Rithmic/Tradovate guides."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal as D
from typing import Any

import pytest

from tests.alert_support import alert_of, errors_of, has
from trading.alerts.model import PriceSpec, StopLoss

# --- PickMyTrade ------------------------------------------------------------------------

PICKMYTRADE_STRATEGY = {
    "symbol": "NQ",
    "date": "2025-11-26T14:30:00Z",
    "data": "buy",
    "quantity": "2",
    "risk_percentage": 0,
    "price": "18250.25",
    "tp": 0,
    "percentage_tp": 0,
    "dollar_tp": 0,
    "sl": 0,
    "dollar_sl": 0,
    "percentage_sl": 0,
    "trail": 0,
    "trail_stop": 0,
    "trail_trigger": 0,
    "trail_freq": 0,
    "update_tp": False,
    "update_sl": False,
    "breakeven": 0,
    "token": "your_token_here",
    "pyramid": True,
    "reverse_order_close": False,
    "account_id": "your_account_id",
    "multiple_accounts": [
        {
            "token": "your_token_here",
            "account_id": "FFFF",
            "risk_percentage": 0,
            "quantity_multiplier": 1,
        }
    ],
}
PICKMYTRADE_INDICATOR = {
    "symbol": "NQM5",
    "date": "2025-11-26T14:30:00Z",
    "data": "sell",
    "quantity": 10,
    "risk_percentage": 0,
    "price": "18250.25",
    "tp": 0,
    "percentage_tp": 1,
    "dollar_tp": 0,
    "sl": 0,
    "dollar_sl": 0,
    "percentage_sl": "0.5",
    "order_type": "MKT",
    "update_tp": False,
    "update_sl": False,
    "token": "URe9daf2bc49008ba62dc3",
    "duplicate_position_allow": True,
    "platform": "RITHMIC",
    "reverse_order_close": True,
    "multiple_accounts": [
        {
            "token": "URe9daf2bc49008ba62dc3",
            "account_id": "BG28198",
            "connection_name": "RITHMIC1",
            "risk_percentage": 0,
            "quantity_multiplier": 1,
        }
    ],
}
# Numbers as strings, as PickMyTrade's own alert page writes them.
PICKMYTRADE_STRINGS = {
    "symbol": "MES1!",
    "date": "2025-11-26T14:30:00Z",
    "data": "buy",
    "quantity": "1",
    "risk_percentage": "0",
    "price": "6010.5",
    "tp": "6030",
    "percentage_tp": "0",
    "dollar_tp": "0",
    "sl": "6000.25",
    "dollar_sl": "0",
    "percentage_sl": "0",
    "trail": "0",
    "trail_stop": "0",
    "trail_trigger": "0",
    "trail_freq": "0",
    "update_tp": "false",
    "update_sl": "false",
    "token": "Ct8tPtD345345t3fty2EtYtCtVtVtUtL",
    "duplicate_position_allow": "true",
    "reverse_order_close": "true",
    "multiple_accounts": [{"account_id": "2", "risk_percentage": "0", "quantity_multiplier": 0}],
}


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        (
            PICKMYTRADE_STRATEGY,
            {
                "symbol": "NQ",
                "action": "buy",
                "quantity": 2,
                "price": D("18250.25"),
                "target_side": None,
                "take_profit": None,
                "stop_loss": None,
                "timestamp": datetime(2025, 11, 26, 14, 30, tzinfo=UTC),
            },
        ),
        (
            PICKMYTRADE_INDICATOR,
            {
                "action": "sell",
                "target_side": "sell",
                "quantity": 10,
                "order_type": "market",
                "take_profit": PriceSpec(percent=D(1)),
                "stop_loss": StopLoss(trigger=PriceSpec(percent=D("0.5"))),
            },
        ),
        (
            PICKMYTRADE_STRINGS,
            {
                "symbol": "MES1!",
                "target_side": "buy",
                "take_profit": PriceSpec(price=D(6030)),
                "stop_loss": StopLoss(trigger=PriceSpec(price=D("6000.25"))),
            },
        ),
        (
            {**PICKMYTRADE_STRATEGY, "data": "close"},
            {"action": "close", "quantity": 2, "intent": "close"},
        ),
        (
            {**PICKMYTRADE_STRATEGY, "quantity": "0", "risk_percentage": "1", "sl": "18200"},
            {"quantity": 1, "quantity_type": "risk_percent"},
        ),
        (
            {**PICKMYTRADE_STRATEGY, "dollar_tp": "25", "dollar_sl": "10"},
            {
                "take_profit": PriceSpec(offset=D(25)),
                "stop_loss": StopLoss(trigger=PriceSpec(offset=D(10))),
            },
        ),
        (
            {**PICKMYTRADE_STRATEGY, "data": "exit", "quantity": "2"},
            {"action": "close", "quantity": 2},
        ),
    ],
)
def test_pickmytrade_messages(message: dict[str, Any], expected: dict[str, Any]) -> None:
    alert = alert_of(message)
    has(alert, **{k: v for k, v in expected.items() if k != "intent"})
    assert alert.intent == expected.get("intent", alert.intent)
    assert alert.source_format == "pickmytrade"


@pytest.mark.parametrize(
    ("change", "field", "fragment"),
    [
        ({"trail": "1", "trail_stop": "10"}, "trail", "trailing"),
        ({"trail_trigger": "5"}, "trail_trigger", "not mapped"),
        ({"update_sl": True}, "update_sl", "not supported"),
        ({"update_tp": "maybe"}, "update_tp", "true or false"),
        ({"breakeven": "4"}, "breakeven", "break-even"),
        ({"same_direction_ignore": "true"}, "same_direction_ignore", "not supported"),
        ({"reverse_order_close": True, "pyramid": True}, "pyramid", "not supported"),
        ({"risk_percentage": "1"}, "risk_percentage", "either quantity"),
        ({"risk_percentage": "1", "quantity": "0"}, "quantity_type", "stop loss"),
        ({"tp": "None"}, "take_profit", "no value"),
        ({"sl": "18300"}, "stop_loss", "below the entry price"),
        (
            {"multiple_accounts": [{"account_id": "A", "quantity_multiplier": 2}]},
            "multiple_accounts",
            "quantity_multiplier",
        ),
        (
            {"multiple_accounts": [{"account_id": "A", "risk_percentage": 2}]},
            "multiple_accounts",
            "risk_percentage",
        ),
        ({"data": "hold"}, "action", "hold"),
    ],
)
def test_pickmytrade_problems(change: dict[str, Any], field: str, fragment: str) -> None:
    errors = errors_of({**PICKMYTRADE_STRATEGY, **change})
    assert field in errors and any(fragment in m for m in errors[field]), errors
