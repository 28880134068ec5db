"""The IBKR client against a real Redis and a hand-written stand-in for the gateway: each
reply kind becomes one error, and an order's deadline never passes its alert's expiry."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import redis

from tests.support import RedisServer
from trading.brokers import ibkr_protocol as wire
from trading.brokers.ibkr import PLACEMENT, REPLY_ERRORS, IbkrBroker, reply_error
from trading.brokers.port import OrderRequest
from trading.errors import (
    BrokerStateUnknown,
    BrokerUnavailable,
    NotCancellable,
    OrderNotFound,
    OrderRejected,
    RequestInvalid,
    RequestRefused,
    TemporaryError,
    TvbridgeError,
)

EXPECTED: dict[str, tuple[type[TvbridgeError], type[TvbridgeError]]] = {
    wire.UNAVAILABLE: (BrokerUnavailable, BrokerUnavailable),
    wire.EXPIRED: (BrokerUnavailable, BrokerUnavailable),
    wire.REJECTED: (OrderRejected, RequestRefused),
    wire.NOT_FOUND: (OrderNotFound, OrderNotFound),
    wire.NOT_CANCELLABLE: (NotCancellable, NotCancellable),
    wire.UNKNOWN: (BrokerStateUnknown, TemporaryError),
    wire.INVALID: (OrderRejected, RequestInvalid),
    wire.TEMPORARY: (TemporaryError, TemporaryError),
}


def test_every_reply_kind_of_the_protocol_has_a_mapping() -> None:
    assert set(wire.ERROR_KINDS) == set(EXPECTED) == set(REPLY_ERRORS)


@pytest.mark.parametrize("kind", sorted(EXPECTED))
def test_each_reply_kind_maps_to_its_error(kind: str) -> None:
    for method, wanted in ((PLACEMENT, EXPECTED[kind][0]), ("positions", EXPECTED[kind][1])):
        error = reply_error(method, {"kind": kind, "message": "why", "code": 321})
        assert type(error) is wanted, (kind, method, error)
        assert "why" in str(error)
        if isinstance(error, OrderRejected | RequestRefused):
            assert error.code == 321


def test_an_unknown_kind_may_have_placed_an_order() -> None:
    assert isinstance(reply_error(PLACEMENT, {"kind": "novel"}), BrokerStateUnknown)
    assert isinstance(reply_error("positions", {"kind": "novel"}), TemporaryError)


class FakeGateway:
    """Reads the request stream and answers every request with ``reply``."""

    def __init__(self, url: str, reply: dict[str, Any]) -> None:
        self.client = redis.Redis.from_url(url)
        self.reply = reply
        self.requests: list[dict[str, str]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def start(self) -> FakeGateway:
        self.client.delete(wire.REQUESTS_STREAM)
        health = {"serving": True, "connected": True, "tradeable": True}
        self.client.set(wire.HEALTH_KEY, json.dumps(health))
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self.client.delete(wire.HEALTH_KEY, wire.REQUESTS_STREAM)

    def _serve(self) -> None:
        last = "0-0"
        while not self._stop.is_set():
            entries: Any = self.client.xread({wire.REQUESTS_STREAM: last}, block=100)
            for _stream, messages in entries or []:
                for entry_id, fields in messages:
                    last = entry_id
                    request = {k.decode(): v.decode() for k, v in fields.items()}
                    self.requests.append(request)
                    self.client.rpush(request["reply"], json.dumps(self.reply))


@pytest.fixture
def gateway(redis_server: RedisServer, request: pytest.FixtureRequest) -> Iterator[FakeGateway]:
    fake = FakeGateway(redis_server.url, request.param).start()
    yield fake
    fake.stop()


def _order(**extra: Any) -> OrderRequest:
    return OrderRequest(
        reference="tvb.k.entry", symbol="AAPL", side="buy", quantity=Decimal(1), **extra
    )


def _error(kind: str) -> dict[str, Any]:
    return {"ok": False, "error": {"kind": kind, "message": f"a {kind} reply", "code": None}}


@pytest.mark.parametrize("gateway", [_error(wire.INVALID)], indirect=True)
def test_invalid_is_terminal_not_retried(gateway: FakeGateway, redis_server: RedisServer) -> None:
    broker = IbkrBroker(redis_server.url, rpc_timeout=2, place_timeout=2)
    with pytest.raises(OrderRejected):
        broker.submit(_order())
    with pytest.raises(RequestInvalid):
        broker.positions()  # declared with three retries: none may happen
    assert [r["method"] for r in gateway.requests] == ["place_order", "positions"]


@pytest.mark.parametrize("gateway", [_error(wire.REJECTED)], indirect=True)
def test_a_refused_read_is_not_an_order_rejection(
    gateway: FakeGateway, redis_server: RedisServer
) -> None:
    broker = IbkrBroker(redis_server.url, rpc_timeout=2)
    with pytest.raises(RequestRefused) as refused:
        broker.positions()
    assert not isinstance(refused.value, OrderRejected)
    assert len(gateway.requests) == 1


PLACED = {
    "ok": True,
    "result": {
        "reference": "tvb.k.entry",
        "broker_order_id": "7",
        "symbol": "AAPL",
        "side": "buy",
        "quantity": "1",
        "order_type": "market",
        "status": "submitted",
    },
}


@pytest.mark.parametrize("gateway", [PLACED], indirect=True)
def test_an_orders_deadline_is_its_alerts_expiry_when_that_comes_first(
    gateway: FakeGateway, redis_server: RedisServer
) -> None:
    broker = IbkrBroker(redis_server.url, place_timeout=30)
    expires = datetime.now(UTC) + timedelta(seconds=2)
    broker.submit(_order(not_after=expires))
    far = datetime.now(UTC) + timedelta(hours=1)
    broker.submit(_order(not_after=far))
    first, second = (float(r["deadline"]) for r in gateway.requests)
    assert first == pytest.approx(expires.timestamp(), abs=1e-3)
    assert second <= time.time() + 30  # the place timeout is the earlier one here
    assert "not_after" not in json.loads(gateway.requests[0]["params"])


@pytest.mark.parametrize("gateway", [PLACED], indirect=True)
def test_an_order_whose_alert_expired_is_not_sent(
    gateway: FakeGateway, redis_server: RedisServer
) -> None:
    broker = IbkrBroker(redis_server.url)
    with pytest.raises(BrokerUnavailable, match="maximum age"):
        broker.submit(_order(not_after=datetime.now(UTC) - timedelta(milliseconds=1)))
    assert gateway.requests == []
