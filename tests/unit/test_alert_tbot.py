"""TBOT (TradingBoat) messages, from the repository's webhook schema and examples."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal as D
from typing import Any

import pytest

from tests.alert_support import alert_of, errors_of, has
from trading.alerts.model import PriceSpec, StopLoss

# --- TBOT -------------------------------------------------------------------------------


def tbot(direction: str, *, contract: str = "stock", **metrics: float) -> dict[str, Any]:
    return {
        "timestamp": 1764167400000,
        "ticker": "TSLA",
        "currency": "USD",
        "timeframe": "D",
        "clientId": 1,
        "key": "WebhookReceived:8c43d5",
        "contract": contract,
        "orderRef": "LOT1001",
        "direction": direction,
        "metrics": [
            {"name": name.replace("_", "."), "value": value} for name, value in metrics.items()
        ],
    }


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        (
            # The repository's own test message: a bracket around a market entry.
            tbot(
                "strategy.entrylong",
                entry_limit=0,
                entry_stop=0,
                exit_limit=180,
                exit_stop=150.01,
                qty=100,
            ),
            {
                "symbol": "TSLA",
                "action": "buy",
                "target_side": "buy",
                "quantity": 100,
                "order_type": "market",
                "sec_type": "STK",
                "currency": "USD",
                "take_profit": PriceSpec(price=D(180)),
                "stop_loss": StopLoss(trigger=PriceSpec(price=D("150.01"))),
                "timestamp": datetime(2025, 11, 26, 14, 30, tzinfo=UTC),
            },
        ),
        (
            tbot(
                "strategy.close_all",
                entry_limit=0,
                entry_stop=0,
                exit_limit=0,
                exit_stop=0,
                qty=-10000000000,
                price=116.0,
            ),
            {"action": "close", "quantity": None, "price": D("116.0"), "intent": "close"},
        ),
        (
            tbot("strategy.entryshort", entry_limit=250.5, entry_stop=0, qty=10),
            {
                "action": "sell",
                "target_side": "sell",
                "order_type": "limit",
                "limit_price": D("250.5"),
            },
        ),
        (
            tbot("strategy.entrylong", entry_limit=251, entry_stop=250, qty=10),
            {"order_type": "stop_limit", "limit_price": 251, "stop_price": 250},
        ),
        (
            tbot("strategy.exitlong", exit_limit=260, exit_stop=0, qty=10),
            {"action": "close", "order_type": "limit", "limit_price": 260, "take_profit": None},
        ),
        (
            tbot("strategy.exitshort", exit_limit=0, exit_stop=255, qty=10),
            {"action": "close", "order_type": "stop", "stop_price": 255, "stop_loss": None},
        ),
        (
            tbot("strategy.cancel_all", qty=-10000000000, price=4.275),
            {"action": "cancel", "intent": "cancel"},
        ),
        (
            tbot("strategy.entrylong", contract="forex", qty=20000) | {"ticker": "EURUSD"},
            {"sec_type": "CASH", "symbol": "EURUSD"},
        ),
        (
            tbot("strategy.entrylong", contract="crypto", qty=1) | {"ticker": "BTCUSD"},
            {"sec_type": "CRYPTO"},
        ),
    ],
)
def test_tbot_messages(message: dict[str, Any], expected: dict[str, Any]) -> None:
    alert = alert_of(message)
    has(alert, **{k: v for k, v in expected.items() if k != "intent"})
    assert alert.intent == expected.get("intent", alert.intent)
    assert alert.source_format == "tbot"


@pytest.mark.parametrize(
    ("message", "field", "fragment"),
    [
        (tbot("strategy.exitlong", exit_limit=260, exit_stop=250, qty=1), "metrics", "OCO"),
        (tbot("strategy.entrylong", qty=-10000000000), "metrics", "greater than 0"),
        (tbot("strategy.cancellong", qty=1), "action", "cancel_all"),
        (
            tbot("strategy.entrylong", qty=1) | {"metrics": [{"name": "trail", "value": 1}]},
            "metrics",
            "trail",
        ),
        (tbot("strategy.entrylong", qty=1) | {"metrics": [{"qty": 1}]}, "metrics", "name"),
        (
            tbot("strategy.entrylong", qty=1)
            | {"metrics": [{"name": "qty", "value": 1}, {"name": "qty", "value": 2}]},
            "metrics",
            "twice",
        ),
        (tbot("strategy.entrylong", contract="option", qty=1), "sec_type", "option"),
        (
            tbot("strategy.entrylong", contract="future", qty=1)
            | {"ticker": "ES1!", "lastTradeDateOrContractMonth": "202603"},
            "lastTradeDateOrContractMonth",
            "contract month",
        ),
    ],
)
def test_tbot_problems(message: dict[str, Any], field: str, fragment: str) -> None:
    errors = errors_of(message)
    assert field in errors and any(fragment in m for m in errors[field]), errors
