"""Choose the broker adapter named by ``BROKER``."""

from __future__ import annotations

from config.settings import Settings
from trading.brokers.paper import PaperBroker
from trading.brokers.port import Broker
from trading.errors import OperationalError
from trading.ledger.db import get_database


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
    raise OperationalError(
        f"BROKER={settings.broker} is not available in this build; use BROKER=paper"
    )
