"""Action words, TradersPost sentiments and strategy targets: what each alert asks for."""

from __future__ import annotations

from decimal import Decimal as D
from typing import Any

import pytest

from tests.alert_support import alert_of, errors_of, has


@pytest.mark.parametrize(
    ("name", "word", "action", "intent"),
    [
        ("action", "buy", "buy", "add"),
        ("action", "BUY", "buy", "add"),
        ("side", "long", "buy", "add"),
        ("signal", "Long", "buy", "add"),
        ("order_action", "B", "buy", "add"),
        ("action", "b", "buy", "add"),
        ("action", "sell", "sell", "add"),
        ("side", "SHORT", "sell", "add"),
        ("action", "S", "sell", "add"),
        ("action", "close", "close", "close"),
        ("action", "exit", "close", "close"),
        ("action", "Flat", "close", "close"),
        ("action", "flatten", "close", "close"),
        ("action", "CLOSE_ALL", "close", "close"),
        ("action", "reverse", "reverse", "reverse"),
        ("action", "Cancel", "cancel", "cancel"),
        ("direction", "long", "buy", "add"),
        ("direction", "exit", "close", "close"),
        ("action", "enter_long", "buy", "add"),
        ("action", "enter_short", "sell", "add"),
        ("action", "exit_long", "close", "close"),
        ("action", "exit_short", "close", "close"),
    ],
)
def test_every_action_spelling(name: str, word: str, action: str, intent: str) -> None:
    alert = alert_of({"symbol": "AAPL", name: word})
    has(alert, action=action, target_side=None, target_position=None)
    assert alert.intent == intent


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        # TradersPost's own examples (docs.traderspost.io, "Webhooks").
        ({"ticker": "SQ", "action": "sell", "sentiment": "flat"}, ("close", None)),
        ({"ticker": "SQ", "action": "buy", "sentiment": "flat"}, ("close", None)),
        ({"ticker": "SQ", "action": "cancel", "sentiment": "flat"}, ("cancel", None)),
        ({"ticker": "SQ", "action": "buy", "sentiment": "long"}, ("buy", "buy")),
        ({"ticker": "SQ", "action": "buy", "sentiment": "bullish"}, ("buy", "buy")),
        ({"ticker": "SQ", "action": "sell", "sentiment": "short"}, ("sell", "sell")),
        ({"ticker": "SQ", "action": "sell", "sentiment": "Bearish"}, ("sell", "sell")),
        ({"ticker": "SQ", "action": "add", "sentiment": "long"}, ("buy", None)),
        ({"ticker": "SQ", "action": "add", "sentiment": "bearish"}, ("sell", None)),
        ({"ticker": "SQ", "action": "exit", "sentiment": "long"}, ("close", None)),
    ],
)
def test_traderspost_sentiment(message: dict[str, Any], expected: tuple[str, str | None]) -> None:
    alert = alert_of(message)
    assert (alert.action, alert.target_side) == expected
    assert alert.source_format == "traderspost"


def test_a_traderspost_entry_is_a_target_side_with_its_quantity() -> None:
    alert = alert_of(
        {"ticker": "TSLA", "action": "buy", "sentiment": "long", "price": 420.69, "quantity": 5}
    )
    has(alert, action="buy", target_side="buy", quantity=5, price=D("420.69"))
    assert alert.intent == "target"


@pytest.mark.parametrize(
    ("message", "target", "action"),
    [
        ({"ticker": "NVDA", "action": "buy", "position_size": "3"}, 3, "buy"),
        ({"ticker": "NVDA", "action": "sell", "position_size": "-2.5"}, D("-2.5"), "sell"),
        ({"ticker": "NVDA", "action": "sell", "position_size": "0"}, 0, "sell"),
        ({"ticker": "NVDA", "position_size": "-4"}, -4, "sell"),
        ({"ticker": "NVDA", "position_size": "0"}, 0, "close"),
        (
            {"ticker": "NVDA", "action": "buy", "market_position": "long"}
            | {"market_position_size": "3"},
            3,
            "buy",
        ),
        (
            {"ticker": "NVDA", "action": "sell", "market_position": "SHORT"}
            | {"market_position_size": "2"},
            -2,
            "sell",
        ),
        ({"ticker": "NVDA", "action": "sell", "market_position": "flat"}, 0, "sell"),
        (
            {"ticker": "NVDA", "action": "sell", "market_position": "flat"}
            | {"market_position_size": "0"},
            0,
            "sell",
        ),
        (
            {"ticker": "NVDA", "action": "buy", "position_size": "3"}
            | {"market_position": "long", "market_position_size": "3"},
            3,
            "buy",
        ),
        (
            {"ticker": "NVDA", "action": "buy", "sentiment": "long", "position_size": "1"},
            1,
            "buy",
        ),
        (
            {"ticker": "NVDA", "action": "sell", "position_size": "1"}
            | {"prev_market_position": "long", "prev_market_position_size": "NaN"},
            1,
            "sell",
        ),
        ({"ticker": "NVDA", "action": "close", "position_size": "0"}, 0, "close"),
    ],
)
def test_target_forms(message: dict[str, Any], target: D | int, action: str) -> None:
    alert = alert_of(message)
    has(alert, target_position=target, action=action, target_side=None)
    assert alert.intent == "target"


@pytest.mark.parametrize(
    ("message", "fields", "fragment"),
    [
        ({"ticker": "SQ", "action": "buy", "sentiment": "short"}, {"sentiment"}, "contradicts"),
        ({"ticker": "SQ", "action": "sell", "sentiment": "long"}, {"sentiment"}, "contradicts"),
        ({"ticker": "SQ", "action": "add"}, {"action"}, "sentiment"),
        ({"ticker": "SQ", "action": "add", "sentiment": "flat"}, {"sentiment"}, "flat"),
        ({"ticker": "SQ", "action": "buy", "sentiment": "sideways"}, {"sentiment"}, "sideways"),
        ({"ticker": "SQ", "action": "hold"}, {"action"}, "hold"),
        ({"ticker": "SQ"}, {"action"}, "required"),
        ({"ticker": "SQ", "action": "hold", "position_size": 1}, {"action"}, "hold"),
        (
            {"ticker": "SQ", "action": "buy", "position_size": "3"}
            | {"market_position": "long", "market_position_size": "2"},
            {"position_size", "market_position"},
            "disagree",
        ),
        (
            {"ticker": "SQ", "action": "buy", "market_position": "long"},
            {"market_position"},
            "required",
        ),
        (
            {"ticker": "SQ", "action": "buy", "market_position_size": "1"},
            {"market_position_size"},
            "market_position",
        ),
        (
            {"ticker": "SQ", "action": "buy", "market_position": "up"},
            {"market_position"},
            "long, short or flat",
        ),
        (
            {"ticker": "SQ", "action": "sell", "market_position": "flat"}
            | {"market_position_size": "2"},
            {"market_position_size"},
            "flat",
        ),
        ({"ticker": "SQ", "action": "close", "position_size": "2"}, {"action"}, "contradicts"),
        ({"ticker": "SQ", "action": "cancel", "position_size": "2"}, {"action"}, "contradicts"),
        ({"ticker": "SQ", "action": "buy", "position_size": "None"}, {"position_size"}, "no value"),
        (
            {"ticker": "SQ", "action": "buy", "position_size": "1", "sentiment": "short"},
            {"sentiment"},
            "disagrees",
        ),
        ({"ticker": "SQ", "direction": "strategy.cancellong"}, {"action"}, "cancel_all"),
        ({"ticker": "SQ", "direction": "strategy.alert"}, {"action"}, "not an order"),
        ({"ticker": "SQ", "action": "breakeven"}, {"action"}, "not supported"),
    ],
)
def test_contradictions_are_refused_naming_the_fields(
    message: dict[str, Any], fields: set[str], fragment: str
) -> None:
    errors = errors_of(message)
    assert fields <= errors.keys(), errors
    assert all(any(fragment in m for m in errors[field]) for field in fields), errors


def test_a_target_in_3commas_strategy_info_is_named_by_its_object() -> None:
    errors = errors_of(
        {"tv_instrument": "BTCUSDT", "action": "buy", "strategy_info": {"market_position": "long"}}
    )
    assert "market_position_size" in errors["strategy_info"][0]


@pytest.mark.parametrize("word", ["protect", "UPDATE_EXITS", "set_exits"])
def test_protect_carries_new_exits_whatever_the_side(word: str) -> None:
    moved = alert_of(
        {"symbol": "AAPL", "action": word, "stop_loss_offset": 2, "take_profit": 120, "price": 100}
    )
    assert moved.intent == "protect" and moved.quantity is None
    assert moved.stop_loss is not None and moved.stop_loss.trigger is not None
    assert moved.stop_loss.trigger.offset == D(2)
    assert moved.take_profit is not None and moved.take_profit.price == D(120)


def test_protect_without_exits_is_refused_naming_what_it_needs() -> None:
    assert "take_profit" in " ".join(errors_of({"symbol": "AAPL", "action": "protect"})["action"])
