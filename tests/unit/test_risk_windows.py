"""Trading windows: local hours across DST, weekends, overnight sessions and holidays."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from trading.planning import PlannedLeg
from trading.risk import RiskContext, RiskLimits, check_orders, parse_risk_file

D = Decimal

RISK_FILE = """
[calendar]
windows = [{days = "mon-fri", start = "09:30", end = "16:00", timezone = "America/New_York"}]
holidays = ["2026-12-25", 2026-07-03]

[symbols."ES1!"]
windows = [{days = "sun-thu", start = "18:00", end = "17:00", timezone = "America/Chicago"}]
holidays = []

[symbols."7203"]
windows = [{days = "mon-fri", start = "00:00", end = "24:00", timezone = "Asia/Tokyo"}]
holidays = ["2026-01-01"]

[symbols.BTCUSD]
windows = [
  {days = "mon-fri", start = "00:00", end = "24:00", timezone = "UTC"},
  {days = "sat,sun", start = "10:00", end = "14:00", timezone = "Europe/London"},
]
"""
LIMITS = parse_risk_file(RISK_FILE)


def utc(year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def opening(symbol: str, now: datetime) -> RiskContext:
    return RiskContext(
        symbol=symbol,
        legs=(PlannedLeg("entry", "buy", D(1)),),
        position_before=D(0),
        position_after=D(1),
        now=now,
        alert_age_seconds=0.5,
        alert_price=D(100),
        daily_pnl=D(0),
    )


def is_open(symbol: str, now: datetime, limits: RiskLimits = LIMITS) -> bool:
    refusal = check_orders(limits, opening(symbol, now))
    assert refusal is None or refusal.rule == "trading_window"
    return refusal is None


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        # Winter (EST, UTC-5): 09:30-16:00 is 14:30-21:00 UTC.
        (utc(2026, 1, 14, 14, 29), False),
        (utc(2026, 1, 14, 14, 30), True),
        (utc(2026, 1, 14, 20, 59), True),
        (utc(2026, 1, 14, 21, 0), False),
        # Summer (EDT, UTC-4): 13:30-20:00 UTC.
        (utc(2026, 7, 15, 13, 29), False),
        (utc(2026, 7, 15, 13, 30), True),
        (utc(2026, 7, 15, 19, 59), True),
        (utc(2026, 7, 15, 20, 0), False),
        # Across the spring change (Sunday 2026-03-08): the same UTC time, an hour apart.
        (utc(2026, 3, 6, 13, 45), False),  # Fri 08:45 EST
        (utc(2026, 3, 9, 13, 45), True),  # Mon 09:45 EDT
        # Across the autumn change (Sunday 2026-11-01).
        (utc(2026, 10, 30, 13, 45), True),  # Fri 09:45 EDT
        (utc(2026, 11, 2, 13, 45), False),  # Mon 08:45 EST
        # Weekend.
        (utc(2026, 1, 17, 15, 0), False),
        (utc(2026, 1, 18, 15, 0), False),
        # Friday night in New York is already Saturday in UTC.
        (utc(2026, 1, 17, 0, 30), False),
        # Holidays, written as a string and as a TOML date.
        (utc(2026, 12, 25, 15, 0), False),
        (utc(2026, 12, 24, 15, 0), True),
        (utc(2026, 7, 3, 15, 0), False),
    ],
)
def test_new_york_hours(now: datetime, expected: bool) -> None:
    assert is_open("AAPL", now) is expected


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (utc(2026, 1, 18, 23, 59), False),  # Sun 17:59 CST: before the open
        (utc(2026, 1, 19, 0, 0), True),  # Sun 18:00 CST
        (utc(2026, 1, 19, 22, 59), True),  # Mon 16:59 CST
        (utc(2026, 1, 19, 23, 30), False),  # Mon 17:30 CST: the daily break
        (utc(2026, 1, 20, 0, 0), True),  # Mon 18:00 CST: the next session
        (utc(2026, 1, 23, 22, 0), True),  # Fri 16:00 CST: Thursday's session
        (utc(2026, 1, 23, 23, 30), False),  # Fri 17:30 CST: no Friday session
        (utc(2026, 1, 24, 18, 0), False),  # Saturday
        (utc(2026, 7, 19, 22, 59), False),  # Sun 17:59 CDT
        (utc(2026, 7, 19, 23, 0), True),  # Sun 18:00 CDT
        (utc(2026, 12, 25, 15, 0), True),  # its own (empty) holidays replace the calendar's
    ],
)
def test_an_overnight_session_runs_past_midnight(now: datetime, expected: bool) -> None:
    assert is_open("ES1!", now) is expected


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (utc(2025, 12, 31, 14, 59), True),  # 23:59 on the 31st in Tokyo
        (utc(2025, 12, 31, 15, 0), False),  # 00:00 on the 1st in Tokyo, still the 31st in UTC
        (utc(2026, 1, 1, 15, 0), True),  # the 2nd in Tokyo
    ],
)
def test_a_holiday_is_a_date_in_the_windows_own_zone(now: datetime, expected: bool) -> None:
    assert is_open("7203", now) is expected


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (utc(2026, 1, 16, 23, 59), True),  # Friday, up to 24:00 UTC
        (utc(2026, 1, 17, 9, 59), False),  # Saturday 09:59 GMT
        (utc(2026, 1, 17, 10, 0), True),  # Saturday 10:00 GMT
        (utc(2026, 7, 18, 9, 30), True),  # Saturday 10:30 BST
        (utc(2026, 7, 18, 13, 0), False),  # Saturday 14:00 BST
    ],
)
def test_any_of_several_windows_opens(now: datetime, expected: bool) -> None:
    assert is_open("BTCUSD", now) is expected


def test_no_windows_means_always_open() -> None:
    assert is_open("AAPL", utc(2026, 1, 17, 3, 0), RiskLimits())


def test_a_close_outside_the_window_passes() -> None:
    saturday = utc(2026, 1, 17, 15, 0)
    close = RiskContext(
        symbol="AAPL",
        legs=(PlannedLeg("close", "sell", D(5)),),
        position_before=D(5),
        position_after=D(0),
        now=saturday,
        alert_age_seconds=0.5,
    )
    assert check_orders(LIMITS, close) is None


def test_the_refusal_shows_the_hours_and_the_local_time() -> None:
    refusal = check_orders(LIMITS, opening("AAPL", utc(2026, 1, 17, 15, 0)))
    assert refusal is not None
    assert refusal.limit == "mon-fri 09:30-16:00 America/New_York"
    assert refusal.value == "Sat 2026-01-17 10:00 America/New_York"
    assert refusal.setting == "calendar.windows in RISK_CONFIG_FILE"
    assert "AAPL opens only mon-fri 09:30-16:00 America/New_York" in refusal.message
    holiday = check_orders(LIMITS, opening("AAPL", utc(2026, 12, 25, 15, 0)))
    assert holiday is not None and holiday.limit == "2026-12-25"
    assert "calendar.holidays in RISK_CONFIG_FILE" in holiday.message


@pytest.mark.parametrize(
    ("days", "open_on"),
    [
        ("mon-fri", {0, 1, 2, 3, 4}),
        ("sat,sun", {5, 6}),
        ("fri-mon", {4, 5, 6, 0}),
        ("Mon, WED ,fri", {0, 2, 4}),
        ("tue-tue", {1}),
    ],
)
def test_day_lists_and_ranges(days: str, open_on: set[int]) -> None:
    text = (
        f'[calendar]\nwindows = [{{days = "{days}", start = "00:00", end = "24:00", '
        'timezone = "UTC"}]'
    )
    limits = parse_risk_file(text)
    monday = 19  # 2026-01-19
    opened = {day for day in range(7) if is_open("X", utc(2026, 1, monday + day, 12, 0), limits)}
    assert opened == open_on
