"""Validate decoded alert fields into an Alert, reporting every field error at once.

Users already have alert templates written for other bridges, so each field accepts the
names those use (``ticker`` for ``symbol``, ``qty`` for ``quantity``, TradersPost's
``takeProfit.percent``...): ``spellings.FIELDS`` lists them all. Values are case-insensitive
and numbers may arrive as strings. The steps: other bridges' shapes are flattened
(``formats``), names resolved to ours, values parsed here, then the action (``intents``),
the order's terms and sizing (``orders``) and its bracket (``brackets``) are checked together.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate

from trading.alerts.brackets import brackets, stop_loss_kind
from trading.alerts.fields import Parsed, error_key
from trading.alerts.formats import apply_tbot_exits, flatten
from trading.alerts.guards import ascii_problem, control_characters, number_problem, risk_fields
from trading.alerts.intents import resolve_intent
from trading.alerts.model import Alert
from trading.alerts.orders import order_terms, reference_price, sec_type, sizing
from trading.alerts.spellings import ALIASES, ORDER_TYPES, SOFT_FIELDS, UNDERSTOOD_NAMES
from trading.errors import AlertInvalid

__all__ = ["ALIASES", "validate_alert"]

_SYMBOL = re.compile(r"^[A-Z0-9][A-Z0-9._/!&-]{0,31}$")
_EXCHANGE = re.compile(r"^[A-Z][A-Z0-9_]{0,19}$")
MAX_ALERT_ID = 128
MAX_STRATEGY = 64
_PLACEHOLDER = re.compile(r"\{\{.*?\}\}")
_NOT_A_VALUE = {"nan", "none", "null", "na", "n/a", "undefined", "inf", "-inf", "infinity", ""}
MAX_QUANTITY = Decimal("100000000")
# Alert times outside these years are typos or attacks, and near datetime's own limits
# the arithmetic of the age clock would overflow.
EARLIEST_YEAR, LATEST_YEAR = 2000, 2100
_EPOCH = re.compile(r"^[+-]?[0-9]{1,20}(?:\.[0-9]{1,9})?$")
# Prices and amounts: greater than 0.
_POSITIVE = (
    "quantity",
    "price",
    "limit_price",
    "stop_price",
    "trail_amount",
    "trail_percent",
    "take_profit",
    "take_profit_percent",
    "take_profit_offset",
    "stop_loss",
    "stop_loss_percent",
    "stop_loss_offset",
    "stop_loss_limit",
    "stop_loss_trail_amount",
    "stop_loss_trail_percent",
    "exit_limit_price",
    "exit_stop_price",
)
_NUMERIC = frozenset({*_POSITIVE, "position_size", "market_position_size"})
# Words checked against their spelling tables after loading.
_WORDS = (
    "action",
    "sentiment",
    "order_type",
    "quantity_type",
    "time_in_force",
    "market_position",
    "stop_loss_type",
    "sec_type",
)
# Free text that may hold any printable character.
_TEXT = frozenset({"alert_id", "strategy"})
_UNKNOWN_RISK = (
    "is not supported under this name: it looks like a stop, target, trail, leverage, "
    "bracket, OCO, reduce-only or margin setting that tvbridge does not read, so it is "
    "refused rather than ignored (the order would not be protected as you meant). Accepted "
    "names for stops and targets: take_profit, stop_loss and the others in the README"
)


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


def _printable(limit: int) -> Callable[[str], None]:
    def check(value: str) -> None:
        # Templates build ids from {{strategy.order.id}} ("Long Entry"), so spaces and any
        # printable text are fine; broker references digest what they cannot carry.
        if not 1 <= len(value) <= limit or not value.isprintable():
            raise ValidationError(
                f"must be 1-{limit} printable characters (letters, digits, spaces, "
                "punctuation; no control or invisible characters)"
            )

    return check


AlertSchema = Schema.from_dict(
    {
        "symbol": _Lenient(
            required=True,
            validate=validate.Length(min=1, max=64),
            error_messages={
                "required": "is required (accepted names: symbol, ticker, tv_instrument)"
            },
        ),
        **{name: _positive(name) for name in _POSITIVE},
        **{name: _Lenient() for name in _WORDS},
        "position_size": fields.Decimal(
            allow_nan=False,
            validate=validate.Range(
                min=-MAX_QUANTITY, max=MAX_QUANTITY, error="must be between {min} and {max}"
            ),
        ),
        "market_position_size": fields.Decimal(
            allow_nan=False,
            validate=validate.Range(
                min=0, max=MAX_QUANTITY, error="must be between {min} and {max} (absolute)"
            ),
        ),
        "alert_id": _Lenient(validate=_printable(MAX_ALERT_ID)),
        "strategy": _Lenient(validate=_printable(MAX_STRATEGY)),
        "timestamp": _Timestamp(),
        "exchange": _Upper(
            validate=validate.Regexp(
                _EXCHANGE, error="must be an exchange code like SMART or nasdaq (any case)"
            )
        ),
        "currency": _Lenient(validate=validate.Regexp(r"^[A-Za-z]{3}$", error="must be 3 letters")),
        "outside_rth": fields.Raw(),
    },
    name="AlertSchema",
)
# Built once: loading keeps no state on the schema, and building it costs more than a load.
_SCHEMA = AlertSchema()


def resolve_aliases(
    raw: Mapping[str, Any],
) -> tuple[dict[str, Any], dict[str, str], dict[str, str], dict[str, list[str]]]:
    """Map accepted field names to canonical ones: (values, name each was sent under,
    empty placeholders treated as absent, errors)."""
    errors: dict[str, list[str]] = {}
    canonical: dict[str, Any] = {}
    sent: dict[str, str] = {}
    emptied: dict[str, str] = {}
    for name, accepted in ALIASES.items():
        present = [(alias, raw[alias]) for alias in accepted if alias in raw]
        if not present:
            continue
        alias, value = present[0]
        sent[name] = alias
        key = error_key(name, alias)
        if len({str(v).strip().lower() for _, v in present}) > 1:
            names = ", ".join(a for a, _ in present)
            errors.setdefault(key, []).append(
                f"was given more than once with different values ({names})"
            )
            continue
        if _is_no_value(value) and name in SOFT_FIELDS:
            emptied[name] = str(value)
            continue
        problem = _field_problem(name, value)
        if problem:
            errors.setdefault(key, []).append(f"({alias}) {problem}")
            continue
        canonical[name] = value
    return canonical, sent, emptied, errors


def _is_no_value(value: Any) -> bool:
    return value is None or (isinstance(value, str) and value.strip().lower() in _NOT_A_VALUE)


def _field_problem(name: str, value: Any) -> str | None:
    problem = _value_problem(value)
    if problem is None and name not in _TEXT:
        problem = ascii_problem(value) if isinstance(value, str) else None
    if problem is None and name in _NUMERIC:
        problem = number_problem(value)
    return problem


def _value_problem(value: Any) -> str | None:
    if isinstance(value, dict | list):
        return "must be a single value, not an object or list"
    if _is_no_value(value):
        shown = "null" if value is None else repr(value)
        return f"has no value ({shown}); TradingView rendered an empty placeholder"
    if isinstance(value, str) and _PLACEHOLDER.search(value):
        return (
            f"contains an unrendered TradingView placeholder {value!r}; "
            "check its spelling (placeholders are case-sensitive)"
        )
    return None


def _load(
    canonical: dict[str, Any], sent: dict[str, str], errors: dict[str, list[str]]
) -> tuple[dict[str, Any], set[str]]:
    """Parse the values; errors are reported under the name the sender can find."""
    try:
        return dict(_SCHEMA.load(canonical)), set()
    except ValidationError as error:
        messages = error.messages if isinstance(error.messages, dict) else {"_": error.messages}
        for name, problems in messages.items():
            key = error_key(str(name), sent.get(str(name), str(name)))
            if key in errors:
                continue  # already explained by alias resolution
            listed = problems if isinstance(problems, list) else [str(problems)]
            errors.setdefault(key, []).extend(str(problem) for problem in listed)
        valid = error.valid_data if isinstance(error.valid_data, dict) else {}
        return dict(valid), {str(name) for name in messages}


def validate_alert(raw: Mapping[str, Any]) -> Alert:
    """Validate decoded fields into an Alert or raise AlertInvalid with every problem."""
    flat = flatten(raw)
    canonical, sent, emptied, errors = resolve_aliases(flat.fields)
    sent.update(flat.renamed)
    for key, problems in flat.errors.items():
        errors.setdefault(key, []).extend(problems)
    # A name we read holds one value; anything nested under it is still walked by the guard.
    understood = flat.understood | {
        name
        for name in flat.fields.keys() & UNDERSTOOD_NAMES
        if not isinstance(flat.fields[name], dict | list)
    }
    for path in risk_fields(dict(raw), understood):
        errors.setdefault(path, []).append(_UNKNOWN_RISK)
    for path, char in control_characters(dict(raw)).items():
        errors.setdefault(path, []).append(
            f"contains a control character ({char}); remove line breaks, tabs and other "
            "control characters"
        )
    data, failed = _load(canonical, sent, errors)
    parsed = Parsed(
        data=data,
        sent=sent,
        emptied=emptied,
        failed=failed | (canonical.keys() - data.keys()),
        errors=errors,
        source_format=flat.source_format,
        side_is_target=flat.side_is_target,
        tbot_closing=flat.tbot_closing,
        prior=frozenset(errors),
    )
    alert = _build(parsed)
    if parsed.errors or alert is None:
        raise AlertInvalid(parsed.errors)
    return alert


def _build(p: Parsed) -> Alert | None:
    exchange, symbol = _split_symbol(p)
    intent = resolve_intent(p)
    if p.source_format == "tbot":
        apply_tbot_exits(p)
    kind = stop_loss_kind(p)
    ordered = ORDER_TYPES.get(str(p.data.get("order_type", "")).strip().lower())
    flat_trail = kind == "trailing_stop" and ordered != "trailing_stop"
    terms = order_terms(p, intent, stop_loss_trails=flat_trail)
    reference = reference_price(p, terms)
    take_profit, stop_loss = brackets(
        p, intent.entry_side, reference, kind, flat_trail, protect=intent.action == "protect"
    )
    if intent.action in ("cancel", "protect"):
        quantity, quantity_type = p.data.get("quantity"), "units"
    else:
        quantity, quantity_type = sizing(p, intent, has_stop_loss=stop_loss is not None)
    contract = sec_type(p)
    if p.errors or symbol is None:
        return None
    return Alert(
        symbol=symbol,
        exchange=p.data.get("exchange") or exchange,
        action=intent.action,  # type: ignore[arg-type]
        quantity=quantity,
        price=p.data.get("price"),
        order_type=terms.order_type,  # type: ignore[arg-type]
        limit_price=terms.limit_price,
        alert_id=p.data.get("alert_id"),
        timestamp=p.data.get("timestamp"),
        sec_type=contract,
        currency=(p.data.get("currency") or "").upper() or None,
        target_position=intent.target_position,
        target_side=intent.target_side,  # type: ignore[arg-type]
        quantity_type=quantity_type,  # type: ignore[arg-type]
        stop_price=terms.stop_price,
        trail_amount=terms.trail_amount,
        trail_percent=terms.trail_percent,
        time_in_force=terms.time_in_force,  # type: ignore[arg-type]
        outside_rth=terms.outside_rth,
        take_profit=take_profit,
        stop_loss=stop_loss,
        strategy=p.data.get("strategy"),
        source_format=p.source_format,
    )


def _split_symbol(p: Parsed) -> tuple[str | None, str | None]:
    raw = p.data.get("symbol")
    if raw is None:
        return None, None
    if not raw.isascii():
        # Checked before upper(): Python upper-cases "\u017fpy" to SPY, "\u0131bm" to IBM.
        p.fail("symbol", f"must be plain ASCII like AAPL or NASDAQ:AAPL, got {raw!a}")
        return None, None
    exchange, _, symbol = raw.upper().rpartition(":")
    if not _SYMBOL.match(symbol):
        p.fail("symbol", f"{raw!r} is not a ticker like AAPL, NASDAQ:AAPL, EURUSD or ES1!")
    if exchange and not _EXCHANGE.match(exchange):
        p.fail("symbol", f"{raw!r} has an exchange prefix that is not like NASDAQ:")
    return exchange or None, symbol
