"""Decoding and validating what TradingView (and users' templates) really send."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from trading.alerts import decode_body, validate_alert
from trading.errors import AlertInvalid


def parse(raw: bytes):  # type: ignore[no-untyped-def]
    decoded = decode_body(raw)
    return decoded, validate_alert(decoded.fields)


@pytest.mark.parametrize(
    ("raw", "symbol", "exchange", "action", "quantity"),
    [
        (b'{"symbol":"AAPL","action":"buy","quantity":1,"price":150}', "AAPL", None, "buy", "1"),
        (b'{"ticker":"NASDAQ:aapl","side":"BUY","qty":"2.5"}', "AAPL", "NASDAQ", "buy", "2.5"),
        (
            b'{"symbol":"EURUSD","order_action":"short","contracts":"10000"}',
            "EURUSD",
            None,
            "sell",
            "10000",
        ),
        (b'{"symbol":"ES1!","signal":"Long","size":1}', "ES1!", None, "buy", "1"),
        (b'{"symbol":"BRK.B","action":"sell","amount":"3"}', "BRK.B", None, "sell", "3"),
        (b'{"symbol":"AAPL","action":"exit"}', "AAPL", None, "close", None),
        (b'{"symbol":"AAPL","action":"buy","sentiment":"flat"}', "AAPL", None, "close", None),
        (b'\xef\xbb\xbf{"symbol":"AAPL","action":"buy","quantity":1}\n', "AAPL", None, "buy", "1"),
        (
            b'{"message":"order buy @ 3 filled on NVDA. New strategy position is 3"}',
            "NVDA",
            None,
            "buy",
            "3",
        ),
        (
            b"order sell @ 2 filled on NASDAQ:NVDA. New strategy position is -2",
            "NVDA",
            "NASDAQ",
            "sell",
            "2",
        ),
        (
            b"MACD Strategy (12, 26): Order buy @ 1,000 filled on TSLA. "
            b"New strategy position is 1,000",
            "TSLA",
            None,
            "buy",
            "1000",
        ),
        (
            b'{"message":"{\\"symbol\\":\\"AAPL\\",\\"action\\":\\"buy\\",\\"quantity\\":4}"}',
            "AAPL",
            None,
            "buy",
            "4",
        ),
    ],
)
def test_accepted_shapes(
    raw: bytes, symbol: str, exchange: str | None, action: str, quantity: str | None
) -> None:
    _, alert = parse(raw)
    assert (alert.symbol, alert.exchange, alert.action) == (symbol, exchange, action)
    assert alert.quantity == (Decimal(quantity) if quantity else None)


def test_strategy_sentence_is_a_target_position() -> None:
    _, alert = parse(b"order sell @ 3 filled on NVDA. New strategy position is -3")
    assert (alert.action, alert.quantity, alert.target_position) == ("sell", 3, -3)
    assert alert.intent == "target"


def test_recorded_position_after_is_still_read_as_the_target() -> None:
    alert = validate_alert({"symbol": "NVDA", "action": "buy", "position_after": "2"})
    assert alert.target_position == Decimal(2)


@pytest.mark.parametrize(
    ("raw", "price"),
    [
        (b'{"symbol":"AAPL","action":"buy"}', None),
        (b'{"symbol":"AAPL","action":"buy","quantity":1,"price":"None"}', None),
        (b'{"symbol":"AAPL","action":"buy","quantity":1,"price":"NaN"}', None),
        (b'{"symbol":"AAPL","action":"buy","quantity":1,"price":""}', None),
        (b'{"symbol":"AAPL","action":"buy","quantity":1,"price":null}', None),
    ],
)
def test_no_quantity_and_empty_market_price_are_accepted(raw: bytes, price: None) -> None:
    # No quantity: the worker applies the configured default size. A market order's price
    # only describes the signal, so an empty placeholder there changes nothing.
    _, alert = parse(raw)
    assert alert.price is price and alert.intent == "add"


@pytest.mark.parametrize(
    ("raw", "field", "fragment"),
    [
        (b"", "body", "empty"),
        (b"\xff\xfe", "body", "UTF-8"),
        (b"symbol,action\nAAPL,buy", "body", "accepted formats"),
        (b'{"symbol": "AAPL",', "body", "does not parse"),
        (b"[1, 2]", "body", "one alert per order"),
        (b'[{"symbol":"AAPL","action":"buy"}]', "body", "batch"),
        (b"42", "body", "not an object"),
        (b'{"action":"buy","quantity":1}', "symbol", "required"),
        (b'{"symbol":"AAPL","quantity":1}', "action", "required"),
        (b'{"symbol":"AAPL","action":"hold","quantity":1}', "action", "hold"),
        (b'{"symbol":"AAPL","action":"buy","quantity":0}', "quantity", "greater than 0"),
        (b'{"symbol":"AAPL","action":"buy","quantity":-1}', "quantity", "greater than 0"),
        (b'{"symbol":"AAPL","action":"buy","quantity":"abc"}', "quantity", "number"),
        (b'{"symbol":"AAPL","action":"buy","quantity":"NaN"}', "quantity", "no value"),
        (b'{"symbol":"AAPL","action":"buy","quantity":NaN}', "quantity", "no value"),
        (b'{"symbol":"{{ticker}}","action":"buy","quantity":1}', "symbol", "placeholder"),
        (
            b'{"symbol":"AAPL","action":"buy","quantity":"{{strategy.order.contracts}}"}',
            "quantity",
            "placeholder",
        ),
        (
            b'{"symbol":"AAPL","action":"buy","quantity":1,"order_type":"limit","price":"NaN"}',
            "limit_price",
            "required",
        ),
        (b'{"symbol":"AAPL","action":"buy","quantity":"None"}', "quantity", "no value"),
        (
            b'{"symbol":"AAPL","action":"buy","quantity":1,"order_type":"stop"}',
            "stop_price",
            "required",
        ),
        (
            b'{"symbol":"AAPL","action":"buy","quantity":1,"order_type":"iceberg"}',
            "order_type",
            "iceberg",
        ),
        (
            b'{"symbol":"AAPL","action":"buy","quantity":1,"order_type":"limit"}',
            "limit_price",
            "required",
        ),
        (
            b'{"symbol":"AAPL","action":"buy","quantity":1,"limit_price":5}',
            "limit_price",
            "only goes with",
        ),
        (
            b'{"symbol":"AAPL","action":"buy","quantity":1,"price":150,"take_profit":140}',
            "take_profit",
            "above the entry price",
        ),
        (
            b'{"symbol":"AAPL","action":"buy","quantity":1,"stopLoss":{"price":140}}',
            "stopLoss",
            "not understood",
        ),
        (
            b'{"symbol":"AAPL","ticker":"MSFT","action":"buy","quantity":1}',
            "symbol",
            "more than once",
        ),
        (b'{"symbol":"AA PL","action":"buy","quantity":1}', "symbol", "not a ticker"),
        (
            b'{"symbol":"AAPL","action":"buy","quantity":1,"timestamp":"yesterday"}',
            "timestamp",
            "ISO-8601",
        ),
        (
            b'{"symbol":"AAPL","action":"buy","quantity":1,"alert_id":"has\\u0007bell"}',
            "alert_id",
            "control character",
        ),
        (b'{"symbol":"AAPL","action":"buy","quantity":{"n":1}}', "quantity", "single value"),
    ],
)
def test_rejected_with_field_and_reason(raw: bytes, field: str, fragment: str) -> None:
    with pytest.raises(AlertInvalid) as caught:
        parse(raw)
    assert field in caught.value.errors, caught.value.errors
    assert any(fragment in message for message in caught.value.errors[field]), caught.value.errors


def test_every_field_error_is_reported_at_once() -> None:
    with pytest.raises(AlertInvalid) as caught:
        parse(b'{"symbol":"{{ticker}}","action":"hold","quantity":"NaN","takeProfit":1}')
    assert {"symbol", "action", "quantity", "takeProfit"} <= caught.value.errors.keys()


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1764115200", datetime(2025, 11, 26, tzinfo=UTC)),
        (1764115200000, datetime(2025, 11, 26, tzinfo=UTC)),
        ("2025-11-26T00:00:00Z", datetime(2025, 11, 26, tzinfo=UTC)),
        ("2025-11-26T01:00:00+01:00", datetime(2025, 11, 26, tzinfo=UTC)),
        ("2025-11-26 00:00:00", datetime(2025, 11, 26, tzinfo=UTC)),
    ],
)
def test_timestamps_in_every_form(value: object, expected: datetime) -> None:
    alert = validate_alert({"symbol": "AAPL", "action": "buy", "quantity": 1, "time": value})
    assert alert.timestamp == expected


@pytest.mark.parametrize("name", ["secret", "passphrase", "key", "token", "SECRET"])
def test_secret_fields_are_removed_from_the_fields(name: str) -> None:
    decoded = decode_body(f'{{"{name}":"hunter2","symbol":"AAPL"}}'.encode())
    assert decoded.secret == "hunter2"
    assert "hunter2" not in repr(decoded)
    assert decoded.fields == {"symbol": "AAPL"}


def test_limit_price_falls_back_to_price() -> None:
    alert = validate_alert(
        {"symbol": "AAPL", "action": "buy", "quantity": 1, "order_type": "LMT", "price": "9.5"}
    )
    assert (alert.order_type, alert.limit_price) == ("limit", Decimal("9.5"))


def test_alert_round_trips_through_json() -> None:
    alert = validate_alert(
        {
            "symbol": "NYSE:IBM",
            "action": "sell",
            "quantity": "1.25",
            "price": "99.10",
            "timestamp": 1764115200,
            "alert_id": "a-1",
        }
    )
    from trading.alerts.model import Alert

    assert Alert.from_json(alert.to_json()) == alert


def test_bracketed_target_alert_round_trips_through_json() -> None:
    alert = validate_alert(
        {
            "ticker": "AAPL",
            "action": "buy",
            "sentiment": "long",
            "orderType": "stop_limit",
            "stopPrice": "101",
            "limitPrice": "101.5",
            "quantityType": "risk_percent",
            "quantity": "0.5",
            "takeProfit": {"percent": "4"},
            "stopLoss": {"type": "stop_limit", "stopPrice": "97", "limitPrice": "96.5"},
            "timeInForce": "gtc",
            "extendedHours": True,
            "strategy": "Breakout",
        }
    )
    from trading.alerts.model import Alert

    assert Alert.from_json(alert.to_json()) == alert
    assert (alert.target_side, alert.source_format) == ("buy", "traderspost")
