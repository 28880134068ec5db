"""BROKER=oanda: settings that cannot work refuse start-up, saying which one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from config.settings import ConfigError, load_settings
from tests.oanda.conftest import ACCOUNT, TOKEN
from trading.brokers.oanda import OandaBroker
from trading.brokers.oanda_wire import base_url
from trading.brokers.registry import make_broker


def oanda_settings(tmp_path: Path, **overrides: Any) -> Any:
    values: dict[str, Any] = {
        "broker": "oanda",
        "database_url": f"sqlite:///{tmp_path / 'ledger.db'}",
        "oanda_api_token": TOKEN,
        "oanda_account_id": ACCOUNT,
        "oanda_url": "",
        "oanda_env": "practice",
    }
    return load_settings(**{**values, **overrides})


@pytest.mark.parametrize(
    ("overrides", "missing"),
    [
        ({"oanda_api_token": None}, "OANDA_API_TOKEN"),
        ({"oanda_api_token": "  "}, "OANDA_API_TOKEN"),
        ({"oanda_account_id": ""}, "OANDA_ACCOUNT_ID"),
        ({"oanda_api_token": None, "oanda_account_id": ""}, "OANDA_API_TOKEN and OANDA_ACCOUNT_ID"),
    ],
)
def test_missing_token_or_account_refuses_start_up(
    tmp_path: Path, overrides: dict[str, Any], missing: str
) -> None:
    with pytest.raises(ConfigError, match=f"BROKER=oanda needs {missing}"):
        make_broker(oanda_settings(tmp_path, **overrides))


@pytest.mark.parametrize("account", ["101/../../x", "101-004 1", "abc?x=1"])
def test_an_account_id_that_would_change_the_url_is_refused(tmp_path: Path, account: str) -> None:
    with pytest.raises(ConfigError, match="is not an OANDA account id"):
        make_broker(oanda_settings(tmp_path, oanda_account_id=account))


def test_the_token_is_never_in_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as raised:
        make_broker(oanda_settings(tmp_path, oanda_account_id=""))
    assert TOKEN not in str(raised.value)


@pytest.mark.parametrize(
    ("environment", "override", "url"),
    [
        ("practice", "", "https://api-fxpractice.oanda.com"),
        ("live", "", "https://api-fxtrade.oanda.com"),
        ("live", "http://127.0.0.1:9/", "http://127.0.0.1:9"),
    ],
)
def test_base_url(environment: str, override: str, url: str) -> None:
    assert base_url(environment, override) == url


def test_make_broker_builds_the_oanda_adapter(tmp_path: Path) -> None:
    broker = make_broker(oanda_settings(tmp_path, oanda_env="live"))
    assert isinstance(broker, OandaBroker)
    assert broker.name == "oanda" and broker._http.url == "https://api-fxtrade.oanda.com"
    assert broker._http.read_timeout == 5.0 and broker._http.place_timeout == 10.0
