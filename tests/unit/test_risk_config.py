"""RISK_* settings and RISK_CONFIG_FILE: validation at start-up, and how they merge."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from config.settings import ConfigError, Settings, load_settings
from tests.support import ROOT
from trading.risk import Limit, RiskConfigError, limits_from, parse_risk_file

D = Decimal

GOOD_FILE = """
max_order_quantity = 100
max_order_notional = 25000.5
daily_loss_limit = 2500
max_orders_per_minute = 30
price_collar_percent = 2.5
allow = ["aapl", "MSFT", "ES1!"]
deny = ["GME"]

[calendar]
windows = [{days = "mon-fri", start = "09:30", end = "16:00", timezone = "America/New_York"}]
holidays = ["2026-12-25"]

[symbols.AAPL]
max_order_quantity = 500
max_position = 1000

[symbols."ES1!"]
max_order_notional = 1e6
"""


def write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "risk.toml"
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_a_full_file_parses_with_each_key_named_as_its_source() -> None:
    limits = parse_risk_file(GOOD_FILE)
    assert limits.max_order_quantity == Limit(D(100), "max_order_quantity in RISK_CONFIG_FILE")
    assert limits.max_order_notional is not None
    assert limits.max_order_notional.value == D("25000.5")
    assert limits.price_collar_percent is not None
    assert limits.price_collar_percent.value == D("2.5")
    assert limits.allowed_symbols is not None
    assert limits.allowed_symbols.value == {"AAPL", "MSFT", "ES1!"}
    assert limits.holidays is not None and limits.holidays.value == {date(2026, 12, 25)}
    aapl = limits.for_symbol("aapl")
    assert aapl.max_order_quantity == Limit(
        D(500), "symbols.AAPL.max_order_quantity in RISK_CONFIG_FILE"
    )
    assert aapl.max_order_notional == limits.max_order_notional
    es = limits.for_symbol("ES1!")
    assert es.max_order_notional is not None and es.max_order_notional.value == D(1000000)
    assert es.max_order_quantity == limits.max_order_quantity
    assert limits.max_open_positions is None


def test_an_empty_file_sets_no_limit() -> None:
    limits = parse_risk_file("# nothing yet\n")
    assert limits.max_order_quantity is None and limits.calendar_for("AAPL") is None


WINDOW = '{days = "mon-fri", start = "09:30", end = "16:00", timezone = "UTC"}'


def calendar(old: str, new: str) -> str:
    """A [calendar] of one window with ``old`` written as ``new``."""
    return f"[calendar]\nwindows = [{WINDOW.replace(old, new)}]"


@pytest.mark.parametrize(
    ("text", "fragments"),
    [
        ("max_order_quantity = 5 5", ["is not valid TOML", "line 1"]),
        ("[symbols.AAPL\n", ["is not valid TOML"]),
        (
            "max_order_qty = 5",
            ["unknown key max_order_qty", "did you mean max_order_quantity", "accepted here:"],
        ),
        ("risk_max_position = 5", ["unknown key risk_max_position", "did you mean max_position"]),
        (
            "[symbols.AAPL]\nmax_open_positions = 1",
            ["unknown key symbols.AAPL.max_open_positions", "max_order_quantity, "],
        ),
        ("[calendar]\ntimezone = 'UTC'", ["unknown key calendar.timezone"]),
        (
            '[calendar]\nwindows = [{days = "mon", start = "09:30", end = "16:00", '
            'timezone = "UTC", tz = "UTC"}]',
            ["unknown key calendar.windows[0].tz"],
        ),
        (
            calendar('"UTC"', '"America/New_Yrok"'),
            [
                'calendar.windows[0].timezone = "America/New_Yrok"',
                "is not a known time zone",
                "America/New_York",
            ],
        ),
        (
            calendar('"UTC"', '"../etc/passwd"'),
            ["is not a known time zone"],
        ),
        (
            calendar("mon-fri", "mon-fry"),
            ['calendar.windows[0].days = "mon-fry"', "'fry' is not a day", "mon-fri"],
        ),
        (
            calendar("mon-fri", "mon-fri-sat"),
            ["'mon-fri-sat' is not a day or a range"],
        ),
        (
            calendar("mon-fri", "mon,,fri"),
            ["'' is not a day or a range"],
        ),
        (
            calendar('"09:30"', '"9:75"'),
            ['calendar.windows[0].start = "9:75"', "HH:MM"],
        ),
        (
            calendar('"09:30"', '"24:00"'),
            ["calendar.windows[0].start", "HH:MM"],
        ),
        (
            calendar('"16:00"', '"09:30"'),
            ["calendar.windows[0].end", "equals start", "00:00 to 24:00"],
        ),
        (
            '[calendar]\nwindows = [{days = "mon", start = "09:30", end = "16:00"}]',
            ["timezone is missing"],
        ),
        ("[calendar]\nwindows = []", ["calendar.windows = []", "non-empty list"]),
        (
            f'[calendar]\nwindows = [{WINDOW}]\nholidays = ["2026-13-01"]',
            ['calendar.holidays[0] = "2026-13-01"', "YYYY-MM-DD"],
        ),
        (
            f'[calendar]\nwindows = [{WINDOW}]\nholidays = ["12/25/2026"]',
            ['calendar.holidays[0] = "12/25/2026"'],
        ),
        ('[calendar]\nholidays = ["2026-12-25"]', ["holidays need trading windows"]),
        (
            '[symbols.AAPL]\nholidays = ["2026-12-25"]',
            ["symbols.AAPL.holidays", "holidays need trading windows"],
        ),
        ("max_order_quantity = -5", ["max_order_quantity = -5: must be greater than 0"]),
        ("daily_loss_limit = 0", ["daily_loss_limit = 0: must be greater than 0"]),
        ("[symbols.AAPL]\nmax_position = -1.5", ["symbols.AAPL.max_position = -1.5"]),
        ("max_open_positions = 2.5", ["max_open_positions = 2.5", "whole number"]),
        ('max_position = "100"', ['max_position = "100"', "must be a number greater than 0"]),
        ("max_position = true", ["max_position = true", "must be a number"]),
        ("max_order_notional = nan", ["max_order_notional = nan", "finite"]),
        ("max_order_notional = inf", ["finite"]),
        ('allow = "AAPL"', ['allow = "AAPL"', "must be a list of symbols"]),
        ('deny = ["GME", "NASDAQ:AAPL"]', ["deny", "'NASDAQ:AAPL' is not a symbol"]),
        ('allow = ["AAPL"]\ndeny = ["aapl"]', ["AAPL also in allow"]),
        ('[symbols."NASDAQ:AAPL"]', ['symbols."NASDAQ:AAPL"', "not a symbol as traded"]),
        ("[symbols.AAPL]\n[symbols.aapl]", ["symbols.aapl", "the same symbol as symbols.AAPL"]),
        ("symbols = {AAPL = 5}", ["symbols.AAPL = 5: must be a table"]),
    ],
)
def test_file_errors_name_key_value_and_what_is_accepted(text: str, fragments: list[str]) -> None:
    with pytest.raises(RiskConfigError) as caught:
        parse_risk_file(text, path="/etc/tvbridge/risk.toml")
    message = str(caught.value)
    assert message.startswith("/etc/tvbridge/risk.toml")
    for fragment in fragments:
        assert fragment in message


def test_a_bad_file_stops_start_up_naming_the_setting(tmp_path: Path) -> None:
    path = write(tmp_path, "max_order_quantity = -5\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(risk_config_file=path)
    assert f"RISK_CONFIG_FILE='{path}'" in str(caught.value)
    assert "max_order_quantity = -5: must be greater than 0" in str(caught.value)
    with pytest.raises(ConfigError, match="cannot read the risk file"):
        load_settings(risk_config_file=str(tmp_path / "missing.toml"))


def test_the_file_age_limit_must_be_tighter_than_the_alerts(tmp_path: Path) -> None:
    path = write(tmp_path, "max_alert_age_seconds = 600\n")
    with pytest.raises(ConfigError, match=r"at most ALERT_MAX_AGE_SECONDS \(120\)"):
        load_settings(risk_config_file=path)
    assert load_settings(risk_config_file=path, alert_max_age_seconds=600).risk_config_file


@pytest.mark.parametrize(
    ("name", "value", "fragment"),
    [
        ("risk_max_order_quantity", "-1", "RISK_MAX_ORDER_QUANTITY='-1': Input should be greater"),
        ("risk_max_order_notional", "lots", "RISK_MAX_ORDER_NOTIONAL='lots'"),
        ("risk_max_position", "inf", "RISK_MAX_POSITION='inf': Input should be a finite number"),
        ("risk_max_open_positions", "0", "RISK_MAX_OPEN_POSITIONS='0'"),
        ("risk_daily_loss_limit", "-500", "RISK_DAILY_LOSS_LIMIT='-500'"),
        ("risk_max_orders_per_minute", "0", "RISK_MAX_ORDERS_PER_MINUTE='0'"),
        ("risk_price_collar_percent", "0", "RISK_PRICE_COLLAR_PERCENT='0'"),
        ("risk_max_alert_age_seconds", "121", "at most ALERT_MAX_AGE_SECONDS (120)"),
        ("risk_allowed_symbols", "AAPL,NASDAQ:MSFT", "'NASDAQ:MSFT' is not a symbol as traded"),
    ],
)
def test_bad_risk_settings_name_variable_value_and_accepted(
    name: str, value: str, fragment: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(**{name: value})
    assert fragment in str(caught.value)


def test_defaults_limit_only_the_order_rates() -> None:
    limits = limits_from(load_settings())
    assert limits.max_orders_per_minute == Limit(300, "RISK_MAX_ORDERS_PER_MINUTE")
    assert limits.max_orders_per_minute_per_instrument == Limit(
        30, "RISK_MAX_ORDERS_PER_MINUTE_PER_INSTRUMENT"
    )
    unset = (
        limits.max_order_quantity,
        limits.max_order_notional,
        limits.max_position,
        limits.max_open_positions,
        limits.daily_loss_limit,
        limits.price_collar_percent,
        limits.max_alert_age_seconds,
        limits.allowed_symbols,
        limits.denied_symbols,
        limits.windows,
    )
    assert unset == (None,) * len(unset)


def test_environment_settings_round_trip(monkeypatch: pytest.MonkeyPatch) -> None:
    environment = {
        "RISK_MAX_ORDER_QUANTITY": "100",
        "RISK_MAX_ORDER_NOTIONAL": "25000.50",
        "RISK_MAX_POSITION": "1e3",
        "RISK_MAX_OPEN_POSITIONS": "5",
        "RISK_DAILY_LOSS_LIMIT": "2500",
        "RISK_ALLOWED_SYMBOLS": " aapl, ES1! ,",
        "RISK_MAX_ORDERS_PER_MINUTE": "off",
        "RISK_MAX_ORDERS_PER_MINUTE_PER_INSTRUMENT": "",
        "RISK_PRICE_COLLAR_PERCENT": "2.5",
        "RISK_MAX_ALERT_AGE_SECONDS": "30",
    }
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    settings = Settings()
    assert settings.risk_max_order_notional == D("25000.50")
    assert settings.risk_max_orders_per_minute is None
    limits = limits_from(settings)
    assert limits.max_order_quantity == Limit(D(100), "RISK_MAX_ORDER_QUANTITY")
    assert limits.max_position is not None and limits.max_position.value == D(1000)
    assert limits.max_open_positions == Limit(5, "RISK_MAX_OPEN_POSITIONS")
    assert limits.daily_loss_limit == Limit(D(2500), "RISK_DAILY_LOSS_LIMIT")
    assert limits.allowed_symbols == Limit(frozenset({"AAPL", "ES1!"}), "RISK_ALLOWED_SYMBOLS")
    assert limits.max_orders_per_minute is None
    assert limits.max_orders_per_minute_per_instrument is None
    assert limits.price_collar_percent == Limit(D("2.5"), "RISK_PRICE_COLLAR_PERCENT")
    assert limits.max_alert_age_seconds == Limit(30, "RISK_MAX_ALERT_AGE_SECONDS")


def test_a_set_variable_beats_the_files_global_key(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD_FILE)
    limits = limits_from(load_settings(risk_config_file=path, risk_max_order_quantity="50"))
    assert limits.max_order_quantity == Limit(D(50), "RISK_MAX_ORDER_QUANTITY")
    # ... but a symbol's own entry beats both.
    own = limits.for_symbol("AAPL").max_order_quantity
    assert own is not None and own.value == D(500)


def test_an_unset_variable_leaves_the_files_key_over_the_default(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD_FILE)
    limits = limits_from(load_settings(risk_config_file=path, risk_max_order_quantity="off"))
    assert limits.max_order_quantity == Limit(D(100), "max_order_quantity in RISK_CONFIG_FILE")
    assert limits.max_orders_per_minute == Limit(30, "max_orders_per_minute in RISK_CONFIG_FILE")
    assert limits.max_orders_per_minute_per_instrument == Limit(
        30, "RISK_MAX_ORDERS_PER_MINUTE_PER_INSTRUMENT"
    )


def test_allowed_symbols_from_the_environment_replace_the_files_allow(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD_FILE)
    from_file = limits_from(load_settings(risk_config_file=path))
    assert from_file.allowed_symbols is not None
    assert from_file.allowed_symbols.source == "allow in RISK_CONFIG_FILE"
    chosen = limits_from(load_settings(risk_config_file=path, risk_allowed_symbols="SPY"))
    assert chosen.allowed_symbols == Limit(frozenset({"SPY"}), "RISK_ALLOWED_SYMBOLS")
    assert chosen.denied_symbols == from_file.denied_symbols


def test_the_readme_example_file_loads(tmp_path: Path) -> None:
    readme = (ROOT / "README.md").read_text()
    example = re.search(r"```toml\n(.*?)```", readme, re.S)
    assert example is not None
    limits = limits_from(load_settings(risk_config_file=write(tmp_path, example[1])))
    assert limits.for_symbol("AAPL").max_order_quantity is not None
    assert limits.denied_symbols is not None and "GME" in limits.denied_symbols.value
