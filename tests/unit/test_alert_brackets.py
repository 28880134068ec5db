"""Take-profit and stop-loss in every form they are sent, and the side checks on them."""

from __future__ import annotations

from decimal import Decimal as D
from typing import Any

import pytest

from tests.alert_support import alert_of, errors_of
from trading.alerts.model import PriceSpec, StopLoss

BUY = {"symbol": "AAPL", "action": "buy", "quantity": "10", "price": "100"}
SELL = {**BUY, "action": "sell"}


@pytest.mark.parametrize(
    ("exits", "take_profit", "stop_loss"),
    [
        ({"take_profit": 110}, PriceSpec(price=D(110)), None),
        ({"take_profit_percent": "5"}, PriceSpec(percent=D(5)), None),
        ({"take_profit_offset": "2.5"}, PriceSpec(offset=D("2.5")), None),
        ({"stop_loss": 95}, None, StopLoss(trigger=PriceSpec(price=D(95)))),
        ({"stop_loss_percent": 2}, None, StopLoss(trigger=PriceSpec(percent=D(2)))),
        ({"stop_loss_offset": 1}, None, StopLoss(trigger=PriceSpec(offset=D(1)))),
        (
            {"take_profit": 110, "stop_loss": 95},
            PriceSpec(price=D(110)),
            StopLoss(trigger=PriceSpec(price=D(95))),
        ),
        (
            {"stop_loss_type": "stop_limit", "stop_loss": 95, "stop_loss_limit": "94.5"},
            None,
            StopLoss("stop_limit", PriceSpec(price=D(95)), PriceSpec(price=D("94.5"))),
        ),
        (
            {"stop_loss_type": "STOP-LIMIT", "stop_loss_percent": 3, "stop_loss_limit": 96},
            None,
            StopLoss("stop_limit", PriceSpec(percent=D(3)), PriceSpec(price=D(96))),
        ),
        (
            {"stop_loss_type": "trailing_stop", "trail_amount": 2},
            None,
            StopLoss("trailing_stop", trail_amount=D(2)),
        ),
        (
            {"stop_loss_type": "trailing", "trail_percent": "1.5"},
            None,
            StopLoss("trailing_stop", trail_percent=D("1.5")),
        ),
        (
            {"stop_loss_trail_amount": 3},
            None,
            StopLoss("trailing_stop", trail_amount=D(3)),
        ),
        (
            {"stop_loss_type": "stop", "stop_loss": 95},
            None,
            StopLoss("stop", PriceSpec(price=D(95))),
        ),
    ],
)
def test_our_flat_exit_fields(
    exits: dict[str, Any], take_profit: PriceSpec | None, stop_loss: StopLoss | None
) -> None:
    alert = alert_of({**BUY, **exits})
    assert (alert.take_profit, alert.stop_loss) == (take_profit, stop_loss)
    assert alert.source_format is None


@pytest.mark.parametrize(
    ("exits", "take_profit", "stop_loss"),
    [
        # The examples of TradersPost's "Allow signal take profit / stop loss" pages.
        ({"takeProfit": {"amount": 10}}, PriceSpec(offset=D(10)), None),
        ({"takeProfit": {"percent": 10}}, PriceSpec(percent=D(10)), None),
        ({"takeProfit": {"limitPrice": 110}}, PriceSpec(price=D(110)), None),
        (
            {"stopLoss": {"type": "stop", "amount": 10}},
            None,
            StopLoss(trigger=PriceSpec(offset=D(10))),
        ),
        (
            {"stopLoss": {"type": "stop", "percent": 10}},
            None,
            StopLoss(trigger=PriceSpec(percent=D(10))),
        ),
        ({"stopLoss": {"stopPrice": 90}}, None, StopLoss(trigger=PriceSpec(price=D(90)))),
        (
            {"stopLoss": {"type": "stop_limit", "stopPrice": 90, "limitPrice": 89}},
            None,
            StopLoss("stop_limit", PriceSpec(price=D(90)), PriceSpec(price=D(89))),
        ),
        (
            {"stopLoss": {"type": "trailing_stop", "trailAmount": "2"}},
            None,
            StopLoss("trailing_stop", trail_amount=D(2)),
        ),
        (
            {"stopLoss": {"type": "trailing_stop", "trailPercent": "5"}},
            None,
            StopLoss("trailing_stop", trail_percent=D(5)),
        ),
        (
            {"takeProfit": {"percent": 10}, "stopLoss": {"type": "stop", "percent": 5}},
            PriceSpec(percent=D(10)),
            StopLoss(trigger=PriceSpec(percent=D(5))),
        ),
    ],
)
def test_traderspost_exit_objects(
    exits: dict[str, Any], take_profit: PriceSpec | None, stop_loss: StopLoss | None
) -> None:
    message = {"ticker": "AAPL", "action": "buy", "orderType": "limit", "limitPrice": 100}
    alert = alert_of({**message, **exits})
    assert (alert.take_profit, alert.stop_loss) == (take_profit, stop_loss)
    assert alert.source_format == "traderspost"


def test_a_sells_bracket_sits_the_other_way() -> None:
    alert = alert_of({**SELL, "take_profit": 90, "stop_loss": 105})
    assert alert.take_profit == PriceSpec(price=D(90))
    assert alert.stop_loss == StopLoss(trigger=PriceSpec(price=D(105)))


def test_the_side_of_a_target_position_orients_its_bracket() -> None:
    message = {"symbol": "AAPL", "action": "buy", "position_size": "-2", "price": 100}
    alert = alert_of({**message, "take_profit": 90, "stop_loss": 105})
    assert alert.target_position == -2 and alert.take_profit == PriceSpec(price=D(90))


def test_the_limit_price_is_the_reference_for_the_sides() -> None:
    # The signal price is far away; the entry happens at the limit.
    alert = alert_of(
        {**BUY, "price": 120, "order_type": "limit", "limit_price": 100, "stop_loss": 99}
    )
    assert alert.stop_loss == StopLoss(trigger=PriceSpec(price=D(99)))


@pytest.mark.parametrize(
    ("message", "field", "fragment"),
    [
        ({**BUY, "take_profit": 99}, "take_profit", "above the entry price 100"),
        ({**BUY, "stop_loss": 101}, "stop_loss", "below the entry price 100"),
        ({**SELL, "take_profit": 101}, "take_profit", "below the entry price 100"),
        ({**SELL, "stop_loss": 99}, "stop_loss", "above the entry price 100"),
        (
            {"symbol": "AAPL", "action": "buy", "take_profit": 90, "stop_loss": 95},
            "take_profit",
            "above the stop loss",
        ),
        (
            {**BUY, "order_type": "limit", "limit_price": 50, "take_profit": 49},
            "take_profit",
            "above the entry price 50",
        ),
        ({**BUY, "takeProfit": {"limitPrice": 1}}, "takeProfit", "above the entry price"),
        ({**BUY, "take_profit": 110, "take_profit_percent": 5}, "take_profit", "one way only"),
        ({**BUY, "stop_loss": 90, "stop_loss_offset": 5}, "stop_loss", "one way only"),
        ({**BUY, "takeProfit": {"percent": 5, "amount": 1}}, "takeProfit", "one way only"),
        ({**BUY, "take_profit_percent": -5}, "take_profit_percent", "greater than 0"),
        ({**BUY, "stop_loss_offset": 0}, "stop_loss_offset", "greater than 0"),
        ({**BUY, "stop_loss_percent": 100}, "stop_loss_percent", "below 100"),
        ({**SELL, "take_profit_percent": 100}, "take_profit_percent", "below 100"),
        ({**BUY, "stop_loss_type": "stop_limit", "stop_loss": 95}, "stop_loss_limit", "required"),
        ({**BUY, "stop_loss_type": "stop"}, "stop_loss", "trigger"),
        ({**BUY, "stop_loss": 95, "stop_loss_limit": 94}, "stop_loss_limit", "stop_limit"),
        ({**BUY, "stop_loss_type": "trailing_stop"}, "stop_loss_type", "trail"),
        (
            {**BUY, "stop_loss_type": "trailing_stop", "stop_loss": 95, "trail_amount": 1},
            "stop_loss",
            "distance",
        ),
        (
            {**BUY, "stop_loss_type": "trailing_stop", "stop_loss_trail_percent": 100},
            "stop_loss_trail_percent",
            "below 100",
        ),
        ({**BUY, "stop_loss_type": "guaranteed"}, "stop_loss_type", "guaranteed"),
        ({**BUY, "stopLoss": {"type": "stop", "trailAmount": 1}}, "stopLoss", "trailing_stop"),
        ({**BUY, "stopLoss": 90}, "stopLoss", "must be an object"),
        ({**BUY, "takeProfit": {"pnlAmount": 100}}, "takeProfit", "pnlAmount"),
        ({**BUY, "take_profit": "None"}, "take_profit", "no value"),
        ({**BUY, "stop_loss": ""}, "stop_loss", "no value"),
        ({**BUY, "stop_loss": "{{plot_1}}"}, "stop_loss", "placeholder"),
        ({"symbol": "AAPL", "action": "close", "take_profit": 5}, "take_profit", "entry"),
        ({"symbol": "AAPL", "action": "cancel", "stop_loss": 5}, "stop_loss", "entry"),
        ({"symbol": "AAPL", "action": "reverse", "stop_loss": 5}, "stop_loss", "entry"),
        ({"symbol": "AAPL", "position_size": 0, "take_profit": 5}, "take_profit", "entry"),
    ],
)
def test_bracket_problems_name_the_field(
    message: dict[str, Any], field: str, fragment: str
) -> None:
    errors = errors_of(message)
    assert field in errors and any(fragment in m for m in errors[field]), errors
