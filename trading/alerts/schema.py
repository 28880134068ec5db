"""Validate decoded alert fields into an Alert, reporting every field error at once.

Users already have alert templates written for other bridges, so each field accepts the
names those use (``ticker`` for ``symbol``, ``qty`` for ``quantity``...). Values are
case-insensitive and numbers may arrive as strings.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, fields, post_load, validate, validates

from trading.alerts.guards import ascii_problem, control_characters, number_problem, risk_fields
from trading.alerts.model import Alert
from trading.errors import AlertInvalid

# canonical name -> names accepted in the body, in order of preference
ALIASES: dict[str, tuple[str, ...]] = {
    "symbol": ("symbol", "ticker"),
    "action": ("action", "side", "order_action", "signal"),
    "quantity": ("quantity", "qty", "contracts", "size", "amount"),
    "price": ("price", "close", "signalPrice", "signal_price"),
    "timestamp": ("timestamp", "time", "timenow", "date"),
    "order_type": ("order_type", "orderType", "type"),
    "limit_price": ("limit_price", "limitPrice"),
    # Not "id": templates fill it with {{strategy.order.id}} ("Long"), which would make
    # every later entry a duplicate for a day.
    "alert_id": ("alert_id", "alertId"),
    "sentiment": ("sentiment",),
    "sec_type": ("sec_type", "secType"),
    "exchange": ("exchange",),
    "currency": ("currency",),
    "position_after": ("position_after",),
}

ACTIONS = {
    "buy": "buy",
    "long": "buy",
    "sell": "sell",
    "short": "sell",
    "exit": "close",
    "close": "close",
    "flat": "close",
    "flatten": "close",
}
ORDER_TYPES = {"market": "market", "mkt": "market", "limit": "limit", "lmt": "limit"}
SEC_TYPES = ("STK", "CASH", "CRYPTO", "FUT")
SENTIMENTS = ("long", "short", "flat", "bullish", "bearish")
_SYMBOL = re.compile(r"^[A-Z0-9][A-Z0-9._/!&-]{0,31}$")
_EXCHANGE = re.compile(r"^[A-Z][A-Z0-9_]{0,19}$")
MAX_ALERT_ID = 128
_PLACEHOLDER = re.compile(r"\{\{.*?\}\}")
_NOT_A_VALUE = {"nan", "none", "null", "na", "n/a", "undefined", "inf", "-inf", "infinity"}
MAX_QUANTITY = Decimal("100000000")
# Alert times outside these years are typos or attacks, and near datetime's own limits
# the arithmetic of the age clock would overflow.
EARLIEST_YEAR, LATEST_YEAR = 2000, 2100
_EPOCH = re.compile(r"^[+-]?[0-9]{1,20}(?:\.[0-9]{1,9})?$")
_NUMERIC = ("quantity", "price", "limit_price", "position_after")


def _choices(mapping: Mapping[str, str]) -> str:
    return ", ".join(sorted(mapping))


class _Lenient(fields.String):
    """A string field that also takes numbers, trimmed."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
            value = str(value)
        return str(super()._deserialize(value, attr, data, **kwargs)).strip()


class _Upper(_Lenient):
    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        return super()._deserialize(value, attr, data, **kwargs).upper()


class _Timestamp(fields.Field):
    """Seconds or milliseconds since the epoch, or ISO-8601; always returned in UTC."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> datetime:
        text = str(value).strip()
        if _EPOCH.match(text):
            number = Decimal(text)
            seconds = number / 1000 if abs(number) > Decimal("100000000000") else number
            try:
                parsed = datetime.fromtimestamp(float(seconds), tz=UTC)
            except (OverflowError, OSError, ValueError):
                raise ValidationError(_implausible_time()) from None
        else:
            try:
                parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
            except ValueError:
                raise ValidationError(
                    "must be epoch seconds, epoch milliseconds or ISO-8601 "
                    "(TradingView's {{timenow}})"
                ) from None
            try:
                # Near year 1 or 9999 the conversion to UTC leaves datetime's range.
                parsed = (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)
            except OverflowError:
                raise ValidationError(_implausible_time()) from None
        if not EARLIEST_YEAR <= parsed.year < LATEST_YEAR:
            raise ValidationError(_implausible_time())
        return parsed


def _implausible_time() -> str:
    return f"is not a plausible time (accepted: years {EARLIEST_YEAR} to {LATEST_YEAR - 1}, UTC)"


def _positive(name: str) -> fields.Decimal:
    return fields.Decimal(
        allow_nan=False,
        validate=validate.Range(
            min=0,
            min_inclusive=False,
            max=MAX_QUANTITY,
            error=f"{name} must be greater than 0 and at most {{max}}",
        ),
    )


class AlertSchema(Schema):
    """Canonical alert fields (after alias resolution)."""

    class Meta:
        unknown = EXCLUDE

    symbol = _Lenient(
        required=True,
        validate=validate.Length(min=1, max=64),
        error_messages={"required": "is required (accepted names: symbol, ticker)"},
    )
    action = _Lenient(load_default=None)
    sentiment = _Lenient(load_default=None)
    quantity = _positive("quantity")
    price = _positive("price")
    order_type = _Lenient(load_default="market")
    limit_price = _positive("limit_price")
    alert_id = _Lenient()
    timestamp = _Timestamp()
    sec_type = _Upper(validate=validate.OneOf(SEC_TYPES, error="must be one of {choices}"))
    exchange = _Upper(
        validate=validate.Regexp(
            _EXCHANGE, error="must be an exchange code like SMART or nasdaq (any case)"
        )
    )
    currency = _Lenient(validate=validate.Regexp(r"^[A-Za-z]{3}$", error="must be 3 letters"))
    position_after = fields.Decimal(
        allow_nan=False,
        validate=validate.Range(
            min=-MAX_QUANTITY, max=MAX_QUANTITY, error="must be between {min} and {max}"
        ),
    )

    @validates("action")
    def _action(self, value: str | None, **_: Any) -> None:
        if value is not None and value.lower() not in ACTIONS:
            raise ValidationError(f"must be one of {_choices(ACTIONS)}, got {value!r}")

    @validates("alert_id")
    def _alert_id(self, value: str, **_: Any) -> None:
        # Templates build ids from {{strategy.order.id}} ("Long Entry"), so spaces and any
        # printable text are fine; broker references digest what they cannot carry.
        if not 1 <= len(value) <= MAX_ALERT_ID or not value.isprintable():
            raise ValidationError(
                f"must be 1-{MAX_ALERT_ID} printable characters (letters, digits, spaces, "
                "punctuation; no control or invisible characters)"
            )

    @validates("sentiment")
    def _sentiment(self, value: str | None, **_: Any) -> None:
        if value is not None and value.lower() not in SENTIMENTS:
            raise ValidationError(f"must be one of {', '.join(SENTIMENTS)}, got {value!r}")

    @validates("order_type")
    def _order_type(self, value: str, **_: Any) -> None:
        if value.lower() not in ORDER_TYPES:
            raise ValidationError(
                f"must be one of {_choices(ORDER_TYPES)} (other types are not supported yet), "
                f"got {value!r}"
            )

    @post_load
    def _build(self, data: dict[str, Any], **_: Any) -> Alert:
        errors: dict[str, list[str]] = {}
        exchange, symbol = _split_symbol(data["symbol"], errors)
        action = _resolve_action(data.get("action"), data.get("sentiment"), errors)
        order_type = ORDER_TYPES[data["order_type"].lower()]
        limit_price = data.get("limit_price")
        if order_type == "limit" and limit_price is None:
            limit_price = data.get("price")
            if limit_price is None:
                errors["limit_price"] = ["is required for a limit order (or send price)"]
        if order_type == "market" and data.get("limit_price") is not None:
            errors["limit_price"] = ["only goes with order_type limit"]
        quantity = data.get("quantity")
        if quantity is None and action in ("buy", "sell"):
            errors["quantity"] = [
                "is required to buy or sell (accepted names: "
                + ", ".join(ALIASES["quantity"])
                + ")"
            ]
        if errors:
            raise ValidationError(errors)
        return Alert(
            symbol=symbol,
            exchange=data.get("exchange") or exchange,
            action=action,  # type: ignore[arg-type]
            quantity=quantity,
            price=data.get("price"),
            order_type=order_type,  # type: ignore[arg-type]
            limit_price=limit_price,
            alert_id=data.get("alert_id"),
            timestamp=data.get("timestamp"),
            sec_type=(data.get("sec_type") or "").upper() or None,
            currency=(data.get("currency") or "").upper() or None,
            position_after=data.get("position_after"),
        )


def _split_symbol(raw: str, errors: dict[str, list[str]]) -> tuple[str | None, str]:
    if not raw.isascii():
        # Checked before upper(): Python upper-cases "\u017fpy" to SPY, "\u0131bm" to IBM.
        errors["symbol"] = [f"must be plain ASCII like AAPL or NASDAQ:AAPL, got {raw!a}"]
        return None, raw
    exchange, _, symbol = raw.upper().rpartition(":")
    if not _SYMBOL.match(symbol):
        errors["symbol"] = [f"{raw!r} is not a ticker like AAPL, NASDAQ:AAPL, EURUSD or ES1!"]
    if exchange and not _EXCHANGE.match(exchange):
        errors["symbol"] = [f"{raw!r} has an exchange prefix that is not like NASDAQ:"]
    return exchange or None, symbol


def _resolve_action(action: str | None, sentiment: str | None, errors: dict[str, list[str]]) -> str:
    resolved = ACTIONS.get(action.lower()) if action else None
    if sentiment and sentiment.lower() == "flat":
        # TradersPost-style: sentiment flat means "end flat", whatever the side says.
        return "close"
    if resolved is None:
        errors["action"] = [
            "is required: one of "
            + _choices(ACTIONS)
            + " (accepted names: "
            + ", ".join(ALIASES["action"])
            + ")"
        ]
        return "buy"
    return resolved


def resolve_aliases(raw: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """Map accepted field names to canonical ones; report conflicts and bad placeholders."""
    errors: dict[str, list[str]] = {}
    canonical: dict[str, Any] = {}
    for name, accepted in ALIASES.items():
        present = [(alias, raw[alias]) for alias in accepted if alias in raw]
        if not present:
            continue
        values = {str(v).strip().lower() for _, v in present}
        if len(values) > 1:
            names = ", ".join(alias for alias, _ in present)
            errors[name] = [f"was given more than once with different values ({names})"]
            continue
        alias, value = present[0]
        problem = _field_problem(name, value)
        if problem:
            errors[name] = [f"({alias}) {problem}"]
            continue
        canonical[name] = value
    for path in risk_fields(dict(raw)):
        errors[path] = [
            "is not supported yet: stops, targets, trails, leverage, brackets, OCO, "
            "reduce-only and margin settings are refused rather than ignored; remove it "
            "(the order would not be protected as you meant)"
        ]
    for path, char in control_characters(dict(raw)).items():
        errors.setdefault(path, []).append(
            f"contains a control character ({char}); remove line breaks, tabs and other "
            "control characters"
        )
    return canonical, errors


def _field_problem(name: str, value: Any) -> str | None:
    problem = _value_problem(value)
    if problem is None and name != "alert_id":
        problem = ascii_problem(value) if isinstance(value, str) else None
    if problem is None and name in _NUMERIC:
        problem = number_problem(value)
    return problem


def _value_problem(value: Any) -> str | None:
    if isinstance(value, dict | list):
        return "must be a single value, not an object or list"
    if isinstance(value, str):
        if _PLACEHOLDER.search(value):
            return (
                f"contains an unrendered TradingView placeholder {value!r}; "
                "check its spelling (placeholders are case-sensitive)"
            )
        if value.strip().lower() in _NOT_A_VALUE:
            return f"has no value ({value!r}); TradingView rendered an empty placeholder"
    return None


# Built once: loading keeps no state on the schema, and building it costs more than a load.
_SCHEMA = AlertSchema()


def validate_alert(raw: Mapping[str, Any]) -> Alert:
    """Validate decoded fields into an Alert or raise AlertInvalid with every problem."""
    canonical, errors = resolve_aliases(raw)
    try:
        alert: Alert = _SCHEMA.load(canonical)
    except ValidationError as error:
        messages = error.messages if isinstance(error.messages, dict) else {"_": error.messages}
        for field_name, problems in messages.items():
            if field_name in errors:
                continue  # already explained by alias resolution
            listed = problems if isinstance(problems, list) else [str(problems)]
            errors.setdefault(str(field_name), []).extend(str(p) for p in listed)
        raise AlertInvalid(errors) from None
    if errors:
        raise AlertInvalid(errors)
    return alert
