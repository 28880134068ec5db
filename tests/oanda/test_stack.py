"""End to end with BROKER=oanda: a webhook alert becomes one order at the OANDA stand-in."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.oanda.conftest import ACCOUNT, TOKEN
from tests.oanda.standin import OandaStandIn
from tests.support import RedisServer, Stack, migrate, sqlite_url, wait_for


@pytest.fixture(scope="module")
def oanda() -> Iterator[OandaStandIn]:
    server = OandaStandIn(TOKEN, ACCOUNT).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, oanda: OandaStandIn) -> Iterator[Stack]:
    directory: Path = tmp_path_factory.mktemp("oanda-stack")
    url = sqlite_url(directory)
    migrate(url)
    redis_server = RedisServer(directory / "redis").start()
    stack = Stack(
        directory,
        redis_server.url,
        url,
        BROKER="oanda",
        OANDA_URL=oanda.url,
        OANDA_API_TOKEN=TOKEN,
        OANDA_ACCOUNT_ID=ACCOUNT,
    )
    try:
        stack.start_web()
        stack.start_worker("worker", concurrency=1)
        yield stack
    finally:
        stack.stop_all()
        redis_server.stop()


def test_alert_becomes_exactly_one_oanda_order(stack: Stack, oanda: OandaStandIn) -> None:
    response = stack.alert(
        {
            "symbol": "EURUSD",
            "action": "buy",
            "price": 1.1,
            "quantity": 1000,
            "alert_id": "e2e-oanda-1",
            "timestamp": int(time.time()),
        }
    )
    assert response.status_code == 202, response.text

    state = stack.wait_alert("e2e-oanda-1")

    [order] = state["orders"]
    assert order["status"] == "filled"
    posts = oanda.order_posts()
    assert len(posts) == 1
    assert posts[0].body is not None
    sent = posts[0].body["order"]
    assert sent["clientExtensions"]["id"] == order["order_ref"]
    assert (sent["instrument"], sent["units"], sent["type"]) == ("EUR_USD", "1000", "MARKET")
    assert len(state["fills"]) == 1


def test_account_and_health_come_from_oanda(stack: Stack, oanda: OandaStandIn) -> None:
    wait_for(lambda: oanda.order_posts(), message="the first test's order")
    account = stack.api("/api/account").json()
    assert account["broker"] == "oanda"
    assert account["summary"]["TotalCashValue"] == 100000
    positions = {p["symbol"]: p["quantity"] for p in account["positions"]}
    assert positions == {"EUR_USD": 1000}
    health = stack.session.get(stack.url + "/health", timeout=5).json()
    assert health["broker"]["type"] == "oanda"
    assert health["broker"]["health"]["connected"] is True


def test_the_token_is_in_no_log(stack: Stack) -> None:
    for name in ("web", "worker"):
        assert TOKEN not in stack.log(name)
