"""Other bridges' message shapes, turned into our flat field names before validation.

Nested objects we understand (TradersPost's ``takeProfit``/``stopLoss``, 3Commas'
``strategy_info``/``order``, TBOT's ``metrics`` list) become dotted names such as
``takeProfit.percent`` or ``metrics.qty``, which ``spellings.FIELDS`` lists as accepted
names. Every key inside them must be understood: an unknown one is refused, never ignored,
because it may be a protective order the sender counts on. The format's own conventions are
applied here too: PickMyTrade's ``0`` meaning "not set", TBOT's negative ``qty`` meaning
"all". See ``spellings`` for each format with an example.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from trading.alerts.fields import Parsed
from trading.alerts.spellings import (
    BOOLEANS,
    CONTAINER_EXAMPLES,
    CONTAINERS,
    PICKMYTRADE_ONLY,
    PICKMYTRADE_UNSET_WHEN_ZERO,
    PICKMYTRADE_UNSUPPORTED,
    REFUSED_FIELDS,
    REFUSED_KEYS_INSIDE,
    TBOT_CANCELLING,
    TBOT_CLOSING,
    TBOT_METRICS,
)

# Values that ask for nothing, as the risk guard sees them.
_EMPTY: tuple[Any, ...] = (None, "", {}, [])
_THREE_COMMAS_NAMES = frozenset({"tv_instrument", "tv_exchange", "trigger_price", "bot_uuid"})
_TBOT_PRICES = (
    "metrics.entry.limit",
    "metrics.entry.stop",
    "metrics.exit.limit",
    "metrics.exit.stop",
)


@dataclass
class Flattened:
    """The alert as flat names, with what the format said and what was refused."""

    fields: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, list[str]] = field(default_factory=dict)
    # raw paths read or refused here, which the risk guard must leave alone
    understood: set[str] = field(default_factory=set)
    # canonical name -> the name a value was moved from (PickMyTrade's risk_percentage)
    renamed: dict[str, str] = field(default_factory=dict)
    source_format: str | None = None
    side_is_target: bool = False
    tbot_closing: bool = False

    def fail(self, key: str, message: str) -> None:
        self.errors.setdefault(key, []).append(message)


def flatten(raw: Mapping[str, Any]) -> Flattened:
    """Flat names for the alert's fields, with each bridge's conventions applied."""
    out = Flattened()
    for name, value in raw.items():
        if name in CONTAINERS:
            _container(name, value, out)
        elif name == "metrics" and isinstance(value, list):
            _metrics(value, out)
        elif name == "multiple_accounts" and isinstance(value, list):
            _accounts(value, out)
        elif name == "data" and isinstance(value, dict | list):
            continue  # someone's own wrapper object, not PickMyTrade's side; the guard walks it
        else:
            out.fields[name] = value
    out.source_format = _source_format(out.fields)
    if out.source_format == "pickmytrade":
        _pickmytrade(out)
    else:
        _not_pickmytrade(out)
    if out.source_format == "tbot":
        _tbot(out)
    _refused_fields(out)
    return out


def _container(name: str, value: Any, out: Flattened) -> None:
    if value in _EMPTY:
        out.understood.add(name)
        return
    if not isinstance(value, dict):
        if name in ("takeProfit", "stopLoss"):
            # A bare number could be a price, points or pips depending on the bridge.
            out.fail(name, f"must be an object like {CONTAINER_EXAMPLES[name]}, got {value!r}")
            out.understood.add(name)
        return
    out.understood.add(name)
    for key, inner in value.items():
        path = f"{name}.{key}"
        if key in CONTAINERS[name]:
            out.fields[path] = inner
        elif path in REFUSED_KEYS_INSIDE:
            out.fail(name, f"{key} {REFUSED_KEYS_INSIDE[path]}")
        else:
            out.fail(
                name,
                f"{key!r} is not understood inside {name}, so it is refused rather than "
                f"ignored (accepted: {', '.join(CONTAINERS[name])})",
            )


def _metrics(items: list[Any], out: Flattened) -> None:
    """TBOT's ``[{"name": "qty", "value": 1}, ...]``."""
    out.understood.add("metrics")
    for index, item in enumerate(items):
        if not (isinstance(item, dict) and set(item) == {"name", "value"}):
            out.fail("metrics", f'item {index} must be {{"name": ..., "value": ...}}')
            continue
        name = item["name"]
        if name not in TBOT_METRICS:
            out.fail(
                "metrics",
                f"item {index} names {name!r}, which is not understood, so it is refused "
                f"rather than ignored (accepted: {', '.join(TBOT_METRICS)})",
            )
            continue
        path = f"metrics.{name}"
        if path in out.fields and out.fields[path] != item["value"]:
            out.fail("metrics", f"gives {name} twice with different values; send it once")
        out.fields[path] = item["value"]


def _accounts(accounts: list[Any], out: Flattened) -> None:
    """PickMyTrade's per-account list: only a plain copy of the alert is supported."""
    out.understood.add("multiple_accounts")
    for index, account in enumerate(accounts):
        if not isinstance(account, dict):
            out.fail("multiple_accounts", f"item {index} must be an object")
            continue
        multiplier = _number(account.get("quantity_multiplier", 1))
        if multiplier not in (Decimal(0), Decimal(1)):
            out.fail(
                "multiple_accounts",
                f"item {index} has quantity_multiplier {account.get('quantity_multiplier')!r}; "
                "per-account sizing is not supported (accepted: 0 or 1; size with quantity)",
            )
        if _number(account.get("risk_percentage", 0)) != 0:
            out.fail(
                "multiple_accounts",
                f"item {index} has risk_percentage {account.get('risk_percentage')!r}; "
                "per-account sizing is not supported (accepted: 0; size with the top-level "
                "risk_percentage or quantity)",
            )


def _source_format(fields: Mapping[str, Any]) -> str | None:
    direction = str(fields.get("direction", "")).strip().lower()
    if direction.startswith("strategy.") or any(k.startswith("metrics.") for k in fields):
        return "tbot"
    nested = any(k.startswith(("strategy_info.", "order.")) for k in fields)
    if nested or _THREE_COMMAS_NAMES & fields.keys():
        return "3commas"
    if "data" in fields:
        return "pickmytrade"
    traderspost = any(k.startswith(("takeProfit.", "stopLoss.")) for k in fields)
    if traderspost or "sentiment" in fields or "quantityType" in fields:
        return "traderspost"
    return None


def _pickmytrade(out: Flattened) -> None:
    fields = out.fields
    for name in PICKMYTRADE_UNSET_WHEN_ZERO & fields.keys():
        if _number(fields[name]) == 0:
            del fields[name]
            out.understood.add(name)
    for name, reason in PICKMYTRADE_UNSUPPORTED.items():
        if name not in fields:
            continue
        value = fields.pop(name)
        out.understood.add(name)
        flag = _flag(value)
        if flag is None and name in ("update_tp", "update_sl", "same_direction_ignore"):
            out.fail(name, f"must be true or false, got {value!r}")
        elif flag is not False:
            out.fail(name, f"is {value!r}: {reason}; it is refused rather than ignored")
    _pickmytrade_risk(out)
    _pickmytrade_reversal(out)


def _pickmytrade_risk(out: Flattened) -> None:
    """``risk_percentage`` sizes by risk, with ``quantity`` sent as 0."""
    if "risk_percentage" not in out.fields:
        return
    value = out.fields.pop("risk_percentage")
    out.understood.add("risk_percentage")
    quantity = out.fields.get("quantity")
    if quantity is not None and _number(quantity) != 0:
        out.fail(
            "risk_percentage",
            "give either quantity or risk_percentage (with quantity 0), not both: which "
            "size was meant is a guess",
        )
        return
    out.fields["quantity"] = value
    out.renamed["quantity"] = "risk_percentage"
    out.fields.setdefault("quantity_type", "risk_percent")


def _pickmytrade_reversal(out: Flattened) -> None:
    """``reverse_order_close`` makes buy/sell mean "be on that side"; with ``pyramid`` a
    same-side signal would add but an opposite one flip, which one alert cannot say."""
    reverse = out.fields.pop("reverse_order_close", None)
    pyramid = out.fields.pop("pyramid", None)
    out.understood.update({"reverse_order_close", "pyramid"})
    for name, value in (("reverse_order_close", reverse), ("pyramid", pyramid)):
        if value is not None and _flag(value) is None:
            out.fail(name, f"must be true or false, got {value!r}")
    if _flag(reverse):
        if _flag(pyramid):
            out.fail(
                "pyramid",
                "true with reverse_order_close true (add on the same side, flip on the other) "
                "is not supported: send pyramid false to be on the signal's side, or "
                "reverse_order_close false to add",
            )
        out.side_is_target = True


def _not_pickmytrade(out: Flattened) -> None:
    for name in PICKMYTRADE_ONLY.keys() & out.fields.keys():
        value = out.fields.pop(name)
        out.understood.add(name)
        if value in _EMPTY:
            continue
        out.fail(
            name,
            f"is PickMyTrade's name, read only in a PickMyTrade alert (one sending the side as "
            f'"data"); elsewhere it may mean points or pips. Send {PICKMYTRADE_ONLY[name]} '
            "instead",
        )


def _tbot(out: Flattened) -> None:
    fields = out.fields
    direction = str(fields.get("direction", "")).strip().lower()
    out.tbot_closing = direction in TBOT_CLOSING
    for name in _TBOT_PRICES:
        if name in fields and _number(fields[name]) == 0:
            del fields[name]
    quantity = _number(fields.get("metrics.qty"))
    closing = out.tbot_closing or direction in TBOT_CANCELLING
    if closing and quantity is not None and quantity < 0:
        del fields["metrics.qty"]  # TBOT's "all contracts"


def _refused_fields(out: Flattened) -> None:
    for name in REFUSED_FIELDS.keys() & out.fields.keys():
        value = out.fields.pop(name)
        out.understood.add(name)
        if value in _EMPTY or _flag(value) is False:
            continue
        out.fail(name, f"{REFUSED_FIELDS[name]}; it is refused rather than ignored")


def apply_tbot_exits(p: Parsed) -> None:
    """TBOT's ``exit.limit``/``exit.stop``: an entry's bracket, or an exit order's price."""
    data = p.data
    exit_limit = data.pop("exit_limit_price", None)
    exit_stop = data.pop("exit_stop_price", None)
    if p.tbot_closing:
        if exit_limit is not None and exit_stop is not None:
            p.fail(
                "exit_limit_price",
                "an exit with both exit.limit and exit.stop (an OCO exit) is not supported; "
                "send one of them, or 0 for both to exit at market",
            )
        elif exit_limit is not None:
            _move(p, "exit_limit_price", "limit_price", exit_limit)
        elif exit_stop is not None:
            _move(p, "exit_stop_price", "stop_price", exit_stop)
    else:
        if exit_limit is not None:
            _move(p, "exit_limit_price", "take_profit", exit_limit)
        if exit_stop is not None:
            _move(p, "exit_stop_price", "stop_loss", exit_stop)
    if "order_type" not in p.sent:
        # TBOT has no order type: which prices are set says it.
        has_limit, has_stop = "limit_price" in data, "stop_price" in data
        kinds = {(True, True): "stop_limit", (False, True): "stop", (True, False): "limit"}
        if (has_limit, has_stop) in kinds:
            data["order_type"] = kinds[(has_limit, has_stop)]


def _move(p: Parsed, source: str, target: str, value: Decimal) -> None:
    if target in p.data and p.data[target] != value:
        p.fail(source, f"conflicts with {p.name(target)} ({p.data[target]}); send one")
        return
    p.data[target] = value
    p.sent[target] = p.name(source)


def _number(value: Any) -> Decimal | None:
    if value is None or isinstance(value, bool | dict | list):
        return None
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None
    # NaN cannot be compared with 0 (a signalling one raises): it is simply not a number.
    return number if number.is_finite() else None


def _flag(value: Any) -> bool | None:
    """True/False for booleans as bridges write them ("true", 1, "no"), None otherwise."""
    if isinstance(value, bool):
        return value
    if value is None:
        return None
    return BOOLEANS.get(str(value).strip().lower())
