"""Checks that refuse alerts which would trade differently from what the sender meant.

Each returns what is wrong (to be reported under the field's name) rather than raising, so
the schema can report every problem of an alert at once.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection, Iterator
from decimal import Decimal, InvalidOperation
from typing import Any

from trading.alerts.redact import normalised_name

MAX_DEPTH = 8
MAX_DECIMAL_PLACES = 10
MAX_NUMBER_CHARACTERS = 40

# A field whose normalised name is one of these (once qualifiers such as ``_percent`` or
# ``dollar_`` are taken off) asks for protection or leverage. The parser reads the names
# listed in ``spellings``; under any other name such a field is refused, since ignoring it
# would leave the order unprotected (or leveraged) against the sender's intent.
_RISK_CORES = frozenset(
    {
        "tp",
        "sl",
        "takeprofit",
        "stoploss",
        "stop",
        "stopprice",
        "stoplimit",
        "trail",
        "trailing",
        "trailingstop",
        "leverage",
        "oco",
        "bracket",
        "margin",
        "reduceonly",
        "reverse",
        "profittarget",
    }
)
# Names containing these can only mean a protective order or leverage.
_RISK_STEMS = ("takeprofit", "stoploss", "trailingstop", "reduceonly", "leverage", "bracket")
# Names starting with these are variants (``stop_limit``, ``trail_amount``, ``margin_mode``).
_RISK_PREFIXES = ("stop", "trail", "margin", "oco", "leverage")
# Bare "profit"/"loss" may be a report; with a qualifier (``profit_offset``) it is a target.
_QUALIFIED_ONLY = frozenset({"profit", "loss"})
_QUALIFIER_SUFFIX = re.compile(
    r"(percentage|percent|perc|pct|offset|prices?|ticks?|pips?|points?|pts|distance|dist|"
    r"level|value|amount|trigger|type|mode|usd|dollars?|ratio|atr|mult|multiplier|abs|"
    r"on|enabled|\d+)$"
)
_QUALIFIER_PREFIX = re.compile(r"^(percentage|percent|pct|dollars?|usd|price|use|fixed|initial)")
# Values that mean "not set"; a protective field sent empty asks for nothing.
_EMPTY: tuple[Any, ...] = (None, "", {}, [])

_NUMBER = re.compile(r"^[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]{1,3})?$")


def risk_field_problem(name: str) -> bool:
    """True when the field name means a stop, target, trail, leverage, bracket or margin."""
    normal = normalised_name(name)
    if any(stem in normal for stem in _RISK_STEMS) or normal.startswith(_RISK_PREFIXES):
        return True
    core, qualified = normal, False
    for _ in range(3):  # ``take_profit_percent_2``: at most a few qualifiers
        stripped = _QUALIFIER_PREFIX.sub("", _QUALIFIER_SUFFIX.sub("", core))
        if stripped == core or not stripped:
            break
        core, qualified = stripped, True
    return core in _RISK_CORES or (qualified and core in _QUALIFIED_ONLY)


def risk_fields(fields: dict[str, Any], understood: Collection[str] = ()) -> list[str]:
    """The paths of every non-empty risk field, at any depth, outside ``understood``.

    ``understood`` holds the paths the parser reads (or refuses with its own reason): a
    stop it turns into a bracket is not a stop to refuse. Anything below them is the
    parser's too. Every other risk-looking name is still refused, never ignored.
    """
    found: list[str] = []
    skipped = list(understood)
    for path, name, value in _walk(fields):
        if _below(path, skipped) or _below(path, found):
            continue
        if name and value not in _EMPTY and risk_field_problem(name):
            found.append(path)
    return found


def _below(path: str, parents: Collection[str]) -> bool:
    """``path`` is one of ``parents`` or lies inside one of them."""
    return any(
        path == parent or path.startswith((parent + ".", parent + "[")) for parent in parents
    )


def control_characters(fields: dict[str, Any]) -> dict[str, str]:
    """Fields (by path) whose name or text value holds a control character, and which one."""
    found: dict[str, str] = {}
    for path, name, value in _walk(fields):
        for text in (name, value):
            if isinstance(text, str) and (bad := _first_control(text)) is not None:
                found.setdefault(path, bad)
    return found


def nesting_depth(value: Any) -> int:
    """How many objects/lists deep a JSON value goes (without recursion)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict | list):
            deepest = max(deepest, depth)
            children = node.values() if isinstance(node, dict) else node
            stack.extend((child, depth + 1) for child in children)
    return deepest


def number_problem(value: Any) -> str | None:
    """Why a quantity or price as sent is not a plain decimal we can trade, or None."""
    if isinstance(value, bool):
        return "must be a number, not true/false"
    text = str(value).strip()
    if len(text) > MAX_NUMBER_CHARACTERS or not _NUMBER.match(text):
        return (
            f"must be a plain decimal number written with the digits 0-9 "
            f"(like 10, 0.5 or 1e3), got {_shown(text)}"
        )
    try:
        exponent = Decimal(text).normalize().as_tuple().exponent
    except InvalidOperation:
        return f"is not a number, got {_shown(text)}"
    if isinstance(exponent, int) and -exponent > MAX_DECIMAL_PLACES:
        return (
            f"has more than {MAX_DECIMAL_PLACES} decimal places, got {_shown(text)} "
            f"(accepted: at most {MAX_DECIMAL_PLACES})"
        )
    return None


def ascii_problem(value: Any) -> str | None:
    """Letters that only look like ASCII (long s, dotless i) upper-case into other tickers."""
    if isinstance(value, str) and not value.isascii():
        return f"must be plain ASCII, got {value!a}"
    return None


def _shown(text: str) -> str:
    return ascii(text if len(text) <= 48 else text[:45] + "...")


def _first_control(text: str) -> str | None:
    for char in text:
        if unicodedata.category(char) in ("Cc", "Cs", "Zl", "Zp"):
            return f"U+{ord(char):04X}"
    return None


def _walk(value: Any, prefix: str = "") -> Iterator[tuple[str, str | None, Any]]:
    """(path, key name or None for list items, value) for every node below ``value``."""
    if isinstance(value, dict):
        for key, child in value.items():
            path = f"{prefix}.{key}" if prefix else str(key)
            yield path, str(key), child
            yield from _walk(child, path)
    elif isinstance(value, list):
        for index, child in enumerate(value):
            path = f"{prefix}[{index}]"
            yield path, None, child
            yield from _walk(child, path)
