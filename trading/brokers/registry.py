"""Choose the broker adapter named by ``BROKER``."""

from __future__ import annotations

import re

from config.settings import ConfigError, Settings
from trading.brokers.paper import PaperBroker
from trading.brokers.port import Broker
from trading.ledger.db import get_database

# OANDA account ids look like 101-004-1234567-001; anything else would change the URL path.
_OANDA_ACCOUNT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,63}$")


def make_broker(settings: Settings) -> Broker:
    if settings.broker == "paper":
        return PaperBroker(
            get_database(settings.database_url),
            settings.paper_starting_cash,
            ack_delay_seconds=settings.paper_ack_delay_seconds,
        )
    if settings.broker == "ibkr":
        from trading.brokers.ibkr import IbkrBroker

        return IbkrBroker(
            settings.redis_url,
            rpc_timeout=settings.ibkr_rpc_timeout_seconds,
            place_timeout=settings.ibkr_place_timeout_seconds,
        )
    return _oanda(settings)


def _oanda(settings: Settings) -> Broker:
    from trading.brokers.oanda import OandaBroker
    from trading.brokers.oanda_wire import base_url

    token = settings.oanda_api_token.get_secret_value() if settings.oanda_api_token else ""
    missing = [
        name
        for name, value in (
            ("OANDA_API_TOKEN", token.strip()),
            ("OANDA_ACCOUNT_ID", settings.oanda_account_id.strip()),
        )
        if not value
    ]
    if missing:
        raise ConfigError(
            f"BROKER=oanda needs {' and '.join(missing)} (the API token and the account id "
            "from OANDA's 'Manage API Access' page; OANDA_ENV=practice or live picks the host)"
        )
    if not _OANDA_ACCOUNT_ID.match(settings.oanda_account_id.strip()):
        raise ConfigError(
            f"OANDA_ACCOUNT_ID={settings.oanda_account_id!r} is not an OANDA account id "
            "(like 101-004-1234567-001)"
        )
    if settings.oanda_url and not settings.oanda_url.startswith(("https://", "http://")):
        raise ConfigError(f"OANDA_URL={settings.oanda_url!r} must start with https:// or http://")
    return OandaBroker(
        url=base_url(settings.oanda_env, settings.oanda_url),
        token=token.strip(),
        account_id=settings.oanda_account_id.strip(),
        environment=settings.oanda_env if not settings.oanda_url else "custom url",
        read_timeout=settings.oanda_request_timeout_seconds,
        place_timeout=settings.oanda_place_timeout_seconds,
    )
