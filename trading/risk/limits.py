"""The limits the pre-trade check enforces, and the trading-window arithmetic.

Pure data: ``trading.risk.build.limits_from`` fills it from the settings and the risk
file once, at start-up. Every limit carries where it was set (``Limit.source``), so a
refusal names the exact setting or file key to change.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from types import MappingProxyType
from typing import Generic, TypeVar
from zoneinfo import ZoneInfo

T = TypeVar("T")

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

# Where a file key is said to be set; the path itself is in start-up errors only.
FILE_SETTING = "RISK_CONFIG_FILE"


@dataclass(frozen=True)
class Limit(Generic[T]):
    """A limit and the setting or file key that set it."""

    value: T
    source: str


@dataclass(frozen=True)
class Window:
    """Open on ``days`` (0 = Monday) from ``start`` to ``end``, local time in ``zone``.

    ``end`` None is the end of the day (written 24:00). An ``end`` before ``start`` runs
    past midnight: the window opens on one of ``days`` and closes the next morning, as
    futures sessions do (sun-thu 18:00-17:00).
    """

    days: frozenset[int]
    start: time
    end: time | None
    zone: ZoneInfo
    text: str

    def contains(self, moment: datetime) -> bool:
        local = moment.astimezone(self.zone)
        clock, weekday = local.time(), local.weekday()
        if self.end is None:
            return weekday in self.days and clock >= self.start
        if self.start < self.end:
            return weekday in self.days and self.start <= clock < self.end
        opened_today = weekday in self.days and clock >= self.start
        opened_yesterday = (weekday - 1) % 7 in self.days and clock < self.end
        return opened_today or opened_yesterday

    def local_date(self, moment: datetime) -> date:
        return moment.astimezone(self.zone).date()


@dataclass(frozen=True)
class Calendar:
    """When opening trades is allowed: inside one of ``windows``, never on a holiday.

    A holiday is closed for the whole of its date in each window's own time zone.
    """

    windows: Limit[tuple[Window, ...]]
    holidays: Limit[frozenset[date]] | None = None

    def holiday(self, moment: datetime) -> date | None:
        if self.holidays is None:
            return None
        for window in self.windows.value:
            day = window.local_date(moment)
            if day in self.holidays.value:
                return day
        return None

    def is_open(self, moment: datetime) -> bool:
        if self.holiday(moment) is not None:
            return False
        return any(window.contains(moment) for window in self.windows.value)


@dataclass(frozen=True)
class SymbolLimits:
    """One symbol's own limits from the risk file; None falls back to the global one."""

    max_order_quantity: Limit[Decimal] | None = None
    max_order_notional: Limit[Decimal] | None = None
    max_position: Limit[Decimal] | None = None
    windows: Limit[tuple[Window, ...]] | None = None
    holidays: Limit[frozenset[date]] | None = None


@dataclass(frozen=True)
class RiskLimits:
    """Every pre-trade limit; None = no limit. ``RiskLimits()`` checks nothing."""

    max_order_quantity: Limit[Decimal] | None = None
    max_order_notional: Limit[Decimal] | None = None
    max_position: Limit[Decimal] | None = None
    max_open_positions: Limit[int] | None = None
    daily_loss_limit: Limit[Decimal] | None = None
    max_orders_per_minute: Limit[int] | None = None
    max_orders_per_minute_per_instrument: Limit[int] | None = None
    price_collar_percent: Limit[Decimal] | None = None
    max_alert_age_seconds: Limit[int] | None = None
    allowed_symbols: Limit[frozenset[str]] | None = None
    denied_symbols: Limit[frozenset[str]] | None = None
    windows: Limit[tuple[Window, ...]] | None = None
    holidays: Limit[frozenset[date]] | None = None
    # Upper-case symbol as traded → its own limits.
    symbols: Mapping[str, SymbolLimits] = field(default_factory=lambda: MappingProxyType({}))

    def for_symbol(self, symbol: str) -> SymbolLimits:
        """The limits that apply to ``symbol``: each of its own, else the global one."""
        own = self.symbols.get(normal_symbol(symbol), SymbolLimits())
        return SymbolLimits(
            max_order_quantity=own.max_order_quantity or self.max_order_quantity,
            max_order_notional=own.max_order_notional or self.max_order_notional,
            max_position=own.max_position or self.max_position,
            windows=own.windows or self.windows,
            holidays=own.holidays or self.holidays,
        )

    def calendar_for(self, symbol: str) -> Calendar | None:
        """The trading calendar of ``symbol``; None when no windows are configured."""
        limits = self.for_symbol(symbol)
        if limits.windows is None:
            return None
        return Calendar(limits.windows, limits.holidays)


def normal_symbol(symbol: str) -> str:
    return symbol.strip().upper()
