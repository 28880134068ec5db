"""What real templates and an outside audit sent: accepted when meant, refused when risky."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from trading.alerts import BodyInvalid, decode_body, validate_alert
from trading.alerts.brackets import BRACKET_FIELDS
from trading.alerts.guards import MAX_DEPTH, risk_field_problem
from trading.alerts.spellings import ALIASES
from trading.errors import AlertInvalid
from trading.keys import order_reference

BASE = {"symbol": "AAPL", "action": "buy", "quantity": "1"}


def refused(raw: bytes | dict[str, Any]) -> dict[str, list[str]]:
    body = raw if isinstance(raw, bytes) else json.dumps(raw).encode()
    with pytest.raises(AlertInvalid) as caught:
        validate_alert(decode_body(body).fields)
    return caught.value.errors


# --- item 5: the README's own template --------------------------------------------------


def test_template_alert_id_with_spaces_is_accepted() -> None:
    alert_id = "AAPL-Long Entry-2026-12-03T13:30:00Z"
    alert = validate_alert({**BASE, "alert_id": alert_id})
    assert alert.alert_id == alert_id


@pytest.mark.parametrize("alert_id", ["x" * 129, "tab\there", "new\nline", "zero\u200bwidth"])
def test_alert_id_refuses_control_invisible_or_overlong_text(alert_id: str) -> None:
    assert "alert_id" in refused({**BASE, "alert_id": alert_id})


def test_order_reference_of_a_spaced_key_is_broker_safe() -> None:
    reference = order_reference("AAPL-Long Entry-2026-12-03T13:30:00Z", "entry")
    assert " " not in reference and ":" not in reference
    assert len(reference) <= 40 and reference.startswith("tvb.x-")


# --- item 6: what the README promises ---------------------------------------------------


def test_secret_inside_a_message_string_is_found() -> None:
    inner = json.dumps({"secret": "hunter2", **BASE})
    decoded = decode_body(json.dumps({"message": inner}).encode())
    assert decoded.secret == "hunter2"
    assert "secret" not in decoded.fields


@pytest.mark.parametrize(
    "fields",
    [
        {**BASE, "exchange": "nasdaq"},
        {**BASE, "symbol": "nasdaq:aapl"},
    ],
)
def test_exchange_is_case_insensitive(fields: dict[str, Any]) -> None:
    alert = validate_alert(fields)
    assert (alert.exchange, alert.symbol) == ("NASDAQ", "AAPL")


@pytest.mark.parametrize("prefix", [b"\xef\xbb\xbf\n", b"\xef\xbb\xbf\r\n  ", b"\n\xef\xbb\xbf\n"])
def test_byte_order_mark_with_blank_lines_parses(prefix: bytes) -> None:
    decoded = decode_body(prefix + json.dumps({"secret": "s", **BASE}).encode())
    assert decoded.secret == "s" and decoded.fields == BASE


# --- item 7: protective fields under any common name -------------------------------------
# Stops and targets under the names the parser reads become the alert's bracket (see
# test_alert_formats.py); under any other name they are still refused, never ignored.

RISK_NAMES = [
    "TP",
    "SL",
    "TakeProfit",
    "takeprofit",
    "StopLoss",
    "stoploss",
    "stop",
    "tp_percent",
    "sl_percent",
    "trail_offset",
    "trailing",
    "trailing_stop",
    "Leverage",
    "reduce_only",
    "reduceOnly",
    "oco",
    "bracket",
    "margin",
    "tp_offset",
    "profit_offset",
    "Take-Profit",
    "tp1",
    "take_profit_2",
    "stop_loss_pips",
    "margin_mode",
]


@pytest.mark.parametrize("name", RISK_NAMES)
def test_unknown_risk_field_is_refused_naming_it(name: str) -> None:
    errors = refused({**BASE, name: "5"})
    assert name in errors and "refused rather than ignored" in errors[name][0], errors


@pytest.mark.parametrize("name", ["tp", "sl", "dollar_tp", "percentage_sl", "trail"])
def test_pickmytrade_names_outside_a_pickmytrade_alert_are_refused(name: str) -> None:
    # Without PickMyTrade's "data", "tp"/"sl" may be points or pips: guessing would misplace
    # the stop.
    errors = refused({**BASE, name: "5"})
    assert name in errors and "PickMyTrade" in errors[name][0], errors


@pytest.mark.parametrize(
    ("name", "field"),
    [
        ("stop_price", "stop_price"),
        ("stopPrice", "stop_price"),
        ("trail_amount", "trail_amount"),
        ("stop_loss_limit", "stop_loss_limit"),
    ],
)
def test_a_read_field_that_does_not_fit_the_order_is_refused(name: str, field: str) -> None:
    errors = refused({**BASE, name: "5"})
    assert field in errors and "only goes with" in " ".join(errors[field]), errors


@pytest.mark.parametrize("name", ["tp", "StopLoss", "trail_offset"])
def test_risk_field_inside_message_is_refused(name: str) -> None:
    assert name in refused({"message": json.dumps({**BASE, name: 1})})


def test_unknown_keys_inside_understood_objects_are_refused() -> None:
    errors = refused({**BASE, "takeProfit": {"pnlAmount": 100}, "order": {"sl": 2}})
    assert {"takeProfit", "order"} <= errors.keys(), errors
    assert "pnlAmount" in errors["takeProfit"][0] and "'sl'" in errors["order"][0]


@pytest.mark.parametrize("parent", ["extra", "comment", "data", "order"])
def test_risk_field_inside_another_object_is_refused_by_its_path(parent: str) -> None:
    # "comment" is read and ignored, "data" and "order" are other bridges' names: none of
    # them makes a stop nested inside it harmless.
    errors = refused({**BASE, parent: {"stop_loss": 5}})
    assert f"{parent}.stop_loss" in errors or parent in errors, errors


@pytest.mark.parametrize("name", ["leverage", "trail_offset", "reduce_only", "TakeProfit"])
@pytest.mark.parametrize("value", [None, "", {}, []])
def test_empty_unknown_risk_field_asks_for_nothing(name: str, value: object) -> None:
    assert validate_alert({**BASE, name: value}).stop_loss is None


@pytest.mark.parametrize("value", [None, "", "None", "NaN"])
def test_empty_placeholder_in_a_read_stop_is_refused(value: object) -> None:
    # The sender asked for a stop and TradingView rendered nothing: trading without it
    # would leave the position unprotected.
    errors = refused({**BASE, "stop_loss": value})
    assert "no value" in errors["stop_loss"][0]


def test_empty_traderspost_objects_ask_for_nothing() -> None:
    alert = validate_alert({**BASE, "takeProfit": {}, "stopLoss": {}})
    assert (alert.take_profit, alert.stop_loss) == (None, None)


def test_zero_is_not_an_empty_stop() -> None:
    assert "sl" in refused({**BASE, "sl": 0})


def test_ordinary_field_names_are_not_risk_fields() -> None:
    ordinary = [
        alias
        for field, names in ALIASES.items()
        if field not in BRACKET_FIELDS
        and field not in ("stop_price", "trail_amount", "trail_percent", "exit_stop_price")
        for alias in names
    ]
    ordinary += ["comment", "strategy", "interval", "message", "profit", "slippage", "http"]
    assert [name for name in ordinary if risk_field_problem(name)] == []


# --- item 8: values that trade something else --------------------------------------------


@pytest.mark.parametrize(
    ("fields", "field", "fragment"),
    [
        ({**BASE, "symbol": "\u017fpy"}, "symbol", "ASCII"),
        ({**BASE, "symbol": "\u0131bm"}, "symbol", "ASCII"),
        ({**BASE, "symbol": "NASDAQ\n:X"}, "symbol", "control character"),
        ({**BASE, "comment": "a\x00b"}, "comment", "control character"),
        ({**BASE, "note\tx": "a"}, "note\tx", "control character"),
        ({**BASE, "quantity": "\uff11\uff10"}, "quantity", "ASCII"),
        ({**BASE, "quantity": "1_0"}, "quantity", "digits 0-9"),
        ({**BASE, "price": "1_000"}, "price", "digits 0-9"),
        ({**BASE, "quantity": "1e-400"}, "quantity", "decimal places"),
        ({**BASE, "quantity": "0.00000000001"}, "quantity", "decimal places"),
        ({**BASE, "quantity": "1e400"}, "quantity", "at most"),
        ({**BASE, "quantity": "1" * 60}, "quantity", "plain decimal"),
        ({**BASE, "exchange": "nasda\u017f"}, "exchange", "ASCII"),
        ({**BASE, "sec_type": "\u017ftk"}, "sec_type", "ASCII"),
    ],
)
def test_hostile_values_are_refused_naming_the_field(
    fields: dict[str, Any], field: str, fragment: str
) -> None:
    errors = refused(fields)
    assert field in errors and any(fragment in m for m in errors[field]), errors


def test_ten_decimal_places_are_accepted() -> None:
    assert validate_alert({**BASE, "quantity": "0.0000000001"}).quantity == Decimal("1e-10")


def test_conflicting_duplicate_keys_are_refused_naming_the_key() -> None:
    raw = b'{"secret":"s","symbol":"AAPL","action":"buy","action":"sell","quantity":1}'
    with pytest.raises(BodyInvalid) as caught:
        decode_body(raw)
    assert "action" in caught.value.errors
    assert caught.value.secret == "s"  # so the sender is told why, not just "401"


def test_identical_duplicate_keys_are_accepted() -> None:
    raw = b'{"symbol":"AAPL","action":"buy","action":"buy","quantity":1}'
    assert validate_alert(decode_body(raw).fields).action == "buy"


def test_two_strategy_sentences_are_refused() -> None:
    raw = (
        b"order buy @ 1 filled on AAPL. New strategy position is 1\n"
        b"order sell @ 1 filled on MSFT. New strategy position is -1"
    )
    errors = refused(raw)
    assert "more than one strategy order sentence" in errors["body"][0]


# --- item 9: no 500 at the limits --------------------------------------------------------


@pytest.mark.parametrize(
    "timestamp",
    [
        "9999-12-31T23:59:59-12:00",
        "0001-01-01T00:00:00+14:00",
        "9999-12-31T23:59:59Z",
        "1" * 20,
        "99999999999999999999.5",
        "1e300",
        "1_764_115_200",
    ],
)
def test_timestamp_at_the_limits_is_refused(timestamp: str) -> None:
    assert "timestamp" in refused({**BASE, "timestamp": timestamp})


def test_deep_nesting_is_refused_at_the_door() -> None:
    deep: Any = 1
    for _ in range(MAX_DEPTH):
        deep = {"x": deep}
    with pytest.raises(BodyInvalid) as caught:
        decode_body(json.dumps({"secret": "s", **BASE, "extra": deep}).encode())
    assert f"nested more than {MAX_DEPTH} levels" in caught.value.errors["body"][0]
    assert caught.value.secret == "s"


def test_nesting_too_deep_for_the_parser_is_refused() -> None:
    with pytest.raises(BodyInvalid) as caught:
        decode_body(b'{"a":' + b"[" * 100_000 + b"]" * 100_000 + b"}")
    assert "nested more than" in caught.value.errors["body"][0]


def test_nesting_within_the_bound_is_accepted() -> None:
    shallow: Any = 1
    for _ in range(MAX_DEPTH - 1):
        shallow = {"x": shallow}
    decoded = decode_body(json.dumps({**BASE, "extra": shallow}).encode())
    assert validate_alert(decoded.fields).symbol == "AAPL"
