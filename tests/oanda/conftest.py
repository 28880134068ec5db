"""Fixtures: a fresh OANDA stand-in on loopback, and an OandaBroker pointed at it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.oanda.standin import OandaStandIn
from trading.brokers.oanda import OandaBroker

TOKEN = "oanda-test-token-0123456789abcdef"
ACCOUNT = "101-004-1234567-001"
# Short, so the timeout tests stay fast; far above a loopback round trip on a busy machine.
READ_TIMEOUT = 1.0
PLACE_TIMEOUT = 1.0


@pytest.fixture
def standin() -> Iterator[OandaStandIn]:
    server = OandaStandIn(TOKEN, ACCOUNT).start()
    yield server
    server.stop()


@pytest.fixture
def broker(standin: OandaStandIn) -> Iterator[OandaBroker]:
    adapter = OandaBroker(
        url=standin.url,
        token=TOKEN,
        account_id=ACCOUNT,
        read_timeout=READ_TIMEOUT,
        place_timeout=PLACE_TIMEOUT,
    )
    yield adapter
    adapter.close()
