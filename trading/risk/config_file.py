"""RISK_CONFIG_FILE: the risk limits written as TOML, read once at start-up.

Every key is checked; an unknown key is refused rather than ignored, because a limit
spelt wrong would otherwise silently not apply. Errors name the file, the key path, the
value and what is accepted. The layout::

    max_order_quantity = 100          # the global limits, as RISK_* without the prefix
    daily_loss_limit = 2500
    allow = ["AAPL", "MSFT", "ES1!"]
    deny = ["GME"]

    [calendar]                        # when openings are allowed, for every symbol
    windows = [{days = "mon-fri", start = "09:30", end = "16:00",
                timezone = "America/New_York"}]
    holidays = ["2026-12-25"]

    [symbols.AAPL]                    # one symbol's own limits beat the global ones
    max_order_quantity = 500
    max_position = 1000

    [symbols."ES1!"]                  # keys that are not plain words need quotes
    windows = [{days = "sun-thu", start = "18:00", end = "17:00",
                timezone = "America/Chicago"}]
"""

from __future__ import annotations

import difflib
import math
import re
import tomllib
from dataclasses import replace
from datetime import date, time
from decimal import Decimal
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal, NoReturn
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from trading.risk.limits import (
    DAY_NAMES,
    FILE_SETTING,
    Limit,
    RiskLimits,
    SymbolLimits,
    Window,
    normal_symbol,
)

NumberKind = Literal["amount", "count"]

# The global limits a file may set: the names of RiskLimits' fields and of the settings
# without their RISK_ prefix.
GLOBAL_NUMBERS: dict[str, NumberKind] = {
    "max_order_quantity": "amount",
    "max_order_notional": "amount",
    "max_position": "amount",
    "max_open_positions": "count",
    "daily_loss_limit": "amount",
    "max_orders_per_minute": "count",
    "max_orders_per_minute_per_instrument": "count",
    "price_collar_percent": "amount",
    "max_alert_age_seconds": "count",
}
SYMBOL_NUMBERS = ("max_order_quantity", "max_order_notional", "max_position")
TOP_KEYS = (*GLOBAL_NUMBERS, "allow", "deny", "calendar", "symbols")
CALENDAR_KEYS = ("windows", "holidays")
SYMBOL_KEYS = (*SYMBOL_NUMBERS, *CALENDAR_KEYS)
WINDOW_KEYS = ("days", "start", "end", "timezone")

# The shapes a traded symbol takes (as trading.symbol_map accepts them), upper-cased.
_SYMBOL = re.compile(r"^[A-Z0-9][A-Z0-9._/!&-]{0,31}$")
_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")
_CLOCK = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DAY_NUMBERS = {name: n for n, name in enumerate(DAY_NAMES)}

_ACCEPTED = {
    "amount": "a number greater than 0, e.g. 100 or 2.5",
    "count": "a whole number of at least 1",
    "symbols": 'a list of symbols as traded, e.g. ["AAPL", "ES1!", "EURUSD"]',
    "days": "days like mon-fri, sat,sun, sun-thu or mon,wed,fri "
    "(mon tue wed thu fri sat sun; a range may run past sun)",
    "clock": "a time HH:MM between 00:00 and 23:59 (end may also be 24:00)",
    "timezone": "an IANA time zone name such as America/New_York, Europe/London or UTC",
    "holiday": 'a date YYYY-MM-DD, e.g. "2026-12-25"',
}
SYMBOL_SHAPE = "a symbol is letters, digits and . _ / ! & - (AAPL, ES1!, BRK.B, BTC/USD)"


class RiskConfigError(ValueError):
    """The risk file cannot be used; the message says where and what is accepted."""


def load_risk_file(path: str | Path) -> RiskLimits:
    """The limits written in the TOML file at ``path``; RiskConfigError if unusable."""
    try:
        text = Path(path).expanduser().read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        raise RiskConfigError(f"cannot read the risk file {path}: {error}") from error
    return parse_risk_file(text, path=str(path))


def parse_risk_file(text: str, *, path: str = FILE_SETTING) -> RiskLimits:
    """The limits written in ``text`` (the file's content; ``path`` names it in errors)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise RiskConfigError(f"{path} is not valid TOML: {error}") from None
    return _Reader(path).limits(data)


def parse_symbol_list(text: str) -> frozenset[str]:
    """The symbols of a comma-separated list such as RISK_ALLOWED_SYMBOLS (upper-cased)."""
    symbols = set()
    for item in (piece.strip() for piece in text.split(",")):
        if not item:
            continue
        symbol = normal_symbol(item)
        if not item.isascii() or not _SYMBOL.match(symbol):
            raise ValueError(f"{item!r} is not a symbol as traded; {SYMBOL_SHAPE}")
        symbols.add(symbol)
    return frozenset(symbols)


def file_source(key_path: str) -> str:
    return f"{key_path} in {FILE_SETTING}"


class _Reader:
    """Walks the parsed TOML; every problem becomes one RiskConfigError naming its key."""

    def __init__(self, path: str) -> None:
        self._path = path

    def limits(self, data: dict[str, Any]) -> RiskLimits:
        self._known(data, "", TOP_KEYS)
        numbers: dict[str, Any] = {
            key: Limit(self._number(key, data[key], kind), file_source(key))
            for key, kind in GLOBAL_NUMBERS.items()
            if key in data
        }
        allowed = self._symbol_list("allow", data["allow"]) if "allow" in data else None
        denied = self._symbol_list("deny", data["deny"]) if "deny" in data else None
        if allowed is not None and denied is not None and allowed & denied:
            both = ", ".join(sorted(allowed & denied))
            self._fail("deny", data["deny"], f"{both} also in allow; list a symbol in one only")
        limits = RiskLimits(
            allowed_symbols=Limit(allowed, file_source("allow")) if allowed is not None else None,
            denied_symbols=Limit(denied, file_source("deny")) if denied is not None else None,
            **numbers,
        )
        if "calendar" in data:
            calendar = self._table("calendar", data["calendar"], CALENDAR_KEYS)
            own = self._calendar("calendar", calendar)
            limits = replace(limits, windows=own.windows, holidays=own.holidays)
            self._holidays_need_windows("calendar", own, limits)
        if "symbols" in data:
            symbols = self._symbols(self._table("symbols", data["symbols"], None), limits)
            limits = replace(limits, symbols=MappingProxyType(symbols))
        return limits

    # --- sections ----------------------------------------------------------------------

    def _symbols(self, table: dict[str, Any], limits: RiskLimits) -> dict[str, SymbolLimits]:
        found: dict[str, SymbolLimits] = {}
        written: dict[str, str] = {}
        for name, entry in table.items():
            where = f"symbols.{_key(name)}"
            symbol = normal_symbol(name)
            if not name.isascii() or not _SYMBOL.match(symbol):
                self._fail(where, name, f"not a symbol as traded; {SYMBOL_SHAPE}")
            if symbol in found:
                self._fail(where, name, f"the same symbol as symbols.{_key(written[symbol])}")
            section = self._table(where, entry, SYMBOL_KEYS)
            own = self._calendar(where, section)
            numbers = {
                key: Limit(
                    self._number(f"{where}.{key}", section[key], "amount"),
                    file_source(f"{where}.{key}"),
                )
                for key in SYMBOL_NUMBERS
                if key in section
            }
            found[symbol] = replace(own, **numbers)
            written[symbol] = name
            self._holidays_need_windows(where, found[symbol], limits)
        return found

    def _calendar(self, where: str, table: dict[str, Any]) -> SymbolLimits:
        windows = holidays = None
        if "windows" in table:
            key = f"{where}.windows"
            windows = Limit(self._windows(key, table["windows"]), file_source(key))
        if "holidays" in table:
            key = f"{where}.holidays"
            holidays = Limit(self._holidays(key, table["holidays"]), file_source(key))
        return SymbolLimits(windows=windows, holidays=holidays)

    def _holidays_need_windows(self, where: str, own: SymbolLimits, limits: RiskLimits) -> None:
        # A holiday is a date in a window's time zone: without a window it would mean nothing.
        if own.holidays is not None and own.windows is None and limits.windows is None:
            self._fail(
                f"{where}.holidays",
                sorted(own.holidays.value),
                "holidays need trading windows (their time zone decides the date): "
                "add windows here or under [calendar]",
            )

    def _windows(self, where: str, value: Any) -> tuple[Window, ...]:
        example = '[{days = "mon-fri", start = "09:30", end = "16:00", timezone = "UTC"}]'
        if not isinstance(value, list) or not value:
            self._fail(where, value, f"must be a non-empty list of windows like {example}")
        return tuple(self._window(f"{where}[{n}]", item) for n, item in enumerate(value))

    def _window(self, where: str, value: Any) -> Window:
        table = self._table(where, value, WINDOW_KEYS)
        for key in WINDOW_KEYS:
            if key not in table:
                self._fail(where, table, f"{key} is missing; a window has {', '.join(WINDOW_KEYS)}")
        days = self._days(f"{where}.days", table["days"])
        start = self._clock(f"{where}.start", table["start"])
        # 24:00 is the end of the day, which no time of day can hold.
        midnight = isinstance(table["end"], str) and table["end"].strip() == "24:00"
        end = None if midnight else self._clock(f"{where}.end", table["end"])
        if start == end:
            self._fail(f"{where}.end", table["end"], "equals start; a whole day is 00:00 to 24:00")
        zone = self._zone(f"{where}.timezone", table["timezone"])
        shown_end = "24:00" if end is None else end.strftime("%H:%M")
        written_days = ",".join(part.strip() for part in table["days"].lower().split(","))
        text = f"{written_days} {start:%H:%M}-{shown_end} {zone.key}"
        return Window(days, start, end, zone, text)

    # --- values ------------------------------------------------------------------------

    def _number(self, where: str, value: Any, kind: NumberKind) -> Any:
        accepted = _ACCEPTED[kind]
        if isinstance(value, bool) or not isinstance(value, int | float):
            self._fail(where, value, f"must be {accepted}")
        if isinstance(value, float) and not math.isfinite(value):
            self._fail(where, value, f"must be a finite number: {accepted}")
        if value <= 0:
            self._fail(where, value, f"must be greater than 0: {accepted}")
        if kind == "count":
            if isinstance(value, float) and not value.is_integer():
                self._fail(where, value, f"must be {accepted}")
            return int(value)
        # Through str so 0.1 stays 0.1 rather than its binary approximation.
        return Decimal(str(value))

    def _symbol_list(self, where: str, value: Any) -> frozenset[str]:
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            self._fail(where, value, f"must be {_ACCEPTED['symbols']}")
        try:
            return parse_symbol_list(",".join(value))
        except ValueError as error:
            self._fail(where, value, str(error))

    def _days(self, where: str, value: Any) -> frozenset[int]:
        if not isinstance(value, str) or not value.strip():
            self._fail(where, value, f"must be {_ACCEPTED['days']}")
        days: set[int] = set()
        for part in (piece.strip().lower() for piece in value.split(",")):
            ends = [end.strip() for end in part.split("-")]
            if not part or len(ends) > 2:
                self._fail(where, value, f"{part!r} is not a day or a range; {_ACCEPTED['days']}")
            unknown = [end for end in ends if end not in _DAY_NUMBERS]
            if unknown:
                self._fail(where, value, f"{unknown[0]!r} is not a day; {_ACCEPTED['days']}")
            day, last = _DAY_NUMBERS[ends[0]], _DAY_NUMBERS[ends[-1]]
            days.add(day)
            while day != last:
                day = (day + 1) % 7
                days.add(day)
        return frozenset(days)

    def _clock(self, where: str, value: Any) -> time:
        if isinstance(value, time) and value.tzinfo is None:
            return value
        if isinstance(value, str):
            match = _CLOCK.match(value.strip())
            if match:
                return time(int(match[1]), int(match[2]))
        self._fail(where, value, f"must be {_ACCEPTED['clock']}")

    def _zone(self, where: str, value: Any) -> ZoneInfo:
        if isinstance(value, str) and value.strip():
            try:
                return ZoneInfo(value.strip())
            except (ZoneInfoNotFoundError, ValueError):
                pass
        self._fail(where, value, f"is not a known time zone; use {_ACCEPTED['timezone']}")

    def _holidays(self, where: str, value: Any) -> frozenset[date]:
        if not isinstance(value, list):
            self._fail(where, value, f"must be a list of dates, each {_ACCEPTED['holiday']}")
        days = set()
        for n, item in enumerate(value):
            days.add(self._date(f"{where}[{n}]", item))
        return frozenset(days)

    def _date(self, where: str, value: Any) -> date:
        # TOML's own dates arrive as date; a date-time is a moment, not a holiday.
        if isinstance(value, date) and type(value) is date:
            return value
        if isinstance(value, str) and _DATE.match(value.strip()):
            try:
                return date.fromisoformat(value.strip())
            except ValueError:
                pass
        self._fail(where, value, f"must be {_ACCEPTED['holiday']}")

    # --- structure ---------------------------------------------------------------------

    def _table(self, where: str, value: Any, keys: tuple[str, ...] | None) -> dict[str, Any]:
        if not isinstance(value, dict):
            self._fail(where, value, "must be a table")
        if keys is not None:
            self._known(value, f"{where}.", keys)
        return value

    def _known(self, table: dict[str, Any], prefix: str, keys: tuple[str, ...]) -> None:
        for name in table:
            if name in keys:
                continue
            hint = ""
            close = difflib.get_close_matches(name.lower().removeprefix("risk_"), keys, n=1)
            if close:
                hint = f" (did you mean {close[0]}?)"
            raise RiskConfigError(
                f"{self._path}: unknown key {prefix}{_key(name)}{hint}; "
                f"accepted here: {', '.join(keys)}"
            )

    def _fail(self, where: str, value: Any, problem: str) -> NoReturn:
        raise RiskConfigError(f"{self._path}: {where} = {_show(value)}: {problem}")


def _key(name: str) -> str:
    return name if _BARE_KEY.match(name) else f'"{name}"'


def _show(value: Any) -> str:
    """A value as TOML writes it, cut short: the reader looks for it in the file."""
    shown = _toml(value)
    return shown if len(shown) <= 80 else shown[:77] + "..."


def _toml(value: Any) -> str:
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, list):
        return "[" + ", ".join(_toml(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_key(k)} = {_toml(v)}" for k, v in value.items()) + "}"
    return str(value)
