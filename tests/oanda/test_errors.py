"""What each OANDA failure becomes, what is retried, and that nothing is sent twice."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from tests.oanda.conftest import ACCOUNT, PLACE_TIMEOUT, TOKEN
from tests.oanda.standin import OandaStandIn
from tests.support import free_port
from trading.brokers import port
from trading.brokers.oanda import OandaBroker
from trading.brokers.port import OrderRequest
from trading.errors import (
    BrokerStateUnknown,
    BrokerUnavailable,
    OperationalError,
    OrderRejected,
    RequestRefused,
    TemporaryError,
    TvbridgeError,
)

ORDERS = r"/orders$"


def market(reference: str = "tvb.e1.entry", units: int = 100) -> OrderRequest:
    return OrderRequest(reference, "EURUSD", "buy", Decimal(units))


def place(broker: OandaBroker) -> object:
    return broker.submit(market())


def summary(broker: OandaBroker) -> object:
    return broker.account_summary()


def positions(broker: OandaBroker) -> object:
    return broker.positions()


def lookup(broker: OandaBroker) -> object:
    return broker.order_by_reference("tvb.e1.entry")


# (call, method, path pattern, status) → the error the caller sees. Reads are retried three
# times, so a read fault is set for every attempt.
MATRIX: list[tuple[Callable[[OandaBroker], object], str, str, int, type[TvbridgeError]]] = [
    (place, "POST", ORDERS, 401, OperationalError),
    (place, "POST", ORDERS, 403, OperationalError),
    (place, "POST", ORDERS, 404, OperationalError),
    (place, "POST", ORDERS, 429, TemporaryError),
    (place, "POST", ORDERS, 500, BrokerStateUnknown),
    (place, "POST", ORDERS, 503, BrokerStateUnknown),
    (summary, "GET", r"/summary$", 400, RequestRefused),
    (summary, "GET", r"/summary$", 401, OperationalError),
    (summary, "GET", r"/summary$", 403, OperationalError),
    (summary, "GET", r"/summary$", 404, OperationalError),
    (summary, "GET", r"/summary$", 429, TemporaryError),
    (summary, "GET", r"/summary$", 500, TemporaryError),
    (positions, "GET", r"/openPositions$", 502, TemporaryError),
    (lookup, "GET", r"/orders/@", 500, TemporaryError),
]


@pytest.mark.parametrize(("call", "method", "pattern", "status", "expected"), MATRIX)
def test_error_matrix(
    broker: OandaBroker,
    standin: OandaStandIn,
    call: Callable[[OandaBroker], object],
    method: str,
    pattern: str,
    status: int,
    expected: type[TvbridgeError],
) -> None:
    broker.instrument("EURUSD")  # the instrument list is not what is under test
    standin.fail(method, pattern, status, times=10)
    with pytest.raises(expected) as raised:
        call(broker)
    assert type(raised.value) is expected
    assert TOKEN not in str(raised.value)
    attempts = len(standin.requests_to(method, pattern))
    retried = method == "GET" and expected is TemporaryError
    assert attempts == (4 if retried else 1)


def test_400_is_a_rejection_with_oanda_message(broker: OandaBroker, standin: OandaStandIn) -> None:
    body = {
        "orderRejectTransaction": {"type": "MARKET_ORDER_REJECT", "rejectReason": "MARKET_HALTED"},
        "errorCode": "MARKET_HALTED",
        "errorMessage": "The market is halted",
    }
    standin.fail("POST", ORDERS, 400, body)
    with pytest.raises(OrderRejected) as raised:
        broker.submit(market())
    assert raised.value.reason == "OANDA rejected the order: The market is halted [MARKET_HALTED]"
    assert raised.value.code == 400


def test_oanda_own_validation_message_reaches_the_caller(
    broker: OandaBroker, standin: OandaStandIn
) -> None:
    # The instrument list was read while EUR_USD was offered; OANDA has since withdrawn it.
    broker.instrument("EURUSD")
    standin.instruments.pop("EUR_USD")
    with pytest.raises(
        OrderRejected, match=r"instrument specified is unknown \[INSTRUMENT_UNKNOWN\]"
    ):
        broker.submit(market())


def test_401_names_the_token_and_never_shows_it(
    standin: OandaStandIn, caplog: pytest.LogCaptureFixture
) -> None:
    wrong = "wrong-token-that-must-not-leak"
    adapter = OandaBroker(url=standin.url, token=wrong, account_id=ACCOUNT)
    with caplog.at_level(logging.DEBUG), pytest.raises(OperationalError) as raised:
        adapter.account_summary()
    assert "OANDA_API_TOKEN" in str(raised.value)
    assert wrong not in str(raised.value) and wrong not in caplog.text
    assert standin.requests[0].authorization == f"Bearer {wrong}"
    health = adapter.health()
    assert not health.connected and "OANDA_API_TOKEN" in health.detail["error"]


def test_403_names_the_account(standin: OandaStandIn) -> None:
    adapter = OandaBroker(url=standin.url, token=TOKEN, account_id="101-004-9999999-001")
    with pytest.raises(OperationalError, match="OANDA_ACCOUNT_ID=101-004-9999999-001"):
        adapter.positions()


def test_429_on_a_read_is_retried_with_back_off(broker: OandaBroker, standin: OandaStandIn) -> None:
    standin.fail("GET", r"/summary$", 429, times=2)
    assert broker.account_summary().total_cash_value == 100000
    assert len(standin.requests_to("GET", r"/summary$")) == 3


def test_429_on_a_placement_is_not_retried(broker: OandaBroker, standin: OandaStandIn) -> None:
    broker.instrument("EURUSD")
    standin.fail("POST", ORDERS, 429)
    with pytest.raises(TemporaryError):
        broker.submit(market())
    assert len(standin.order_posts()) == 1
    # The caller looks the reference up before sending again: nothing was created.
    assert broker.order_by_reference("tvb.e1.entry") is None


@pytest.mark.parametrize("lose_reply", ["delay", "drop"])
def test_lost_reply_then_lookup_creates_exactly_one_order(
    broker: OandaBroker, standin: OandaStandIn, lose_reply: str
) -> None:
    """The order is created but its reply never arrives: the outcome is unknown, and the
    lookup by client id finds the order, so it is never sent a second time."""
    # Arrange
    broker.instrument("EURUSD")
    if lose_reply == "delay":
        standin.delay("POST", ORDERS, PLACE_TIMEOUT * 3, after_apply=True)
    else:
        standin.drop("POST", ORDERS)
    # Act
    started = time.monotonic()
    with pytest.raises(BrokerStateUnknown, match="look it up by its client id"):
        broker.submit(market("tvb.lost.entry"))
    waited = time.monotonic() - started
    found = broker.order_by_reference("tvb.lost.entry")
    # Assert
    assert waited < PLACE_TIMEOUT * 2
    assert found is not None and found.status == port.FILLED and found.filled_quantity == 100
    assert len(standin.order_posts()) == 1
    assert len(standin.orders) == 1
    assert standin.requests_to("GET", r"/orders/@tvb\.lost\.entry$")


def test_slow_read_times_out_and_is_retried(broker: OandaBroker, standin: OandaStandIn) -> None:
    standin.delay("GET", r"/openPositions$", PLACE_TIMEOUT * 2)
    assert broker.positions() == []
    assert len(standin.requests_to("GET", r"/openPositions$")) == 2


def test_nothing_listening_is_unavailable_and_nothing_was_sent() -> None:
    adapter = OandaBroker(url=f"http://127.0.0.1:{free_port()}", token=TOKEN, account_id=ACCOUNT)
    with pytest.raises(BrokerUnavailable, match="cannot be reached"):
        adapter.instrument("EURUSD")
    with pytest.raises(BrokerUnavailable, match="nothing was sent"):
        adapter.submit(market())
    health = adapter.health()
    assert not health.connected and not health.tradeable


def test_keep_alive_200_sequential_requests_use_one_connection(
    broker: OandaBroker, standin: OandaStandIn, capsys: pytest.CaptureFixture[str]
) -> None:
    """OANDA allows 2 new connections a second: one client per process reuses its connection."""
    calls: list[Callable[[], Any]] = [
        broker.account_summary,
        broker.positions,
        broker.open_orders,
        lambda: broker.order_by_reference("tvb.none.entry"),
    ]
    started = time.monotonic()
    for i in range(200):
        calls[i % len(calls)]()
    elapsed = time.monotonic() - started
    assert len(standin.requests) == 200
    with capsys.disabled():
        print(
            f"\nOANDA keep-alive: 200 sequential requests used {standin.connections} TCP "
            f"connection(s) in {elapsed * 1000:.0f} ms"
        )
    assert standin.connections == 1
