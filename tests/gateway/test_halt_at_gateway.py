"""The kill switch at the IB gateway: with the halt flag published, an order that would
open a position is refused before it reaches ibsim, even from a worker that never read
the ledger's halt; a reduction still goes through."""

from __future__ import annotations

from decimal import Decimal

import pytest
import redis

from config.halt import HaltFlag, publish_halt
from tests.gateway.support import IbStack
from trading.brokers.port import OrderRequest
from trading.errors import OrderRejected


def request(reference: str, side: str, *, reduces_only: bool = False) -> OrderRequest:
    return OrderRequest(
        reference=reference,
        symbol="QQQ",
        side=side,  # type: ignore[arg-type]
        quantity=Decimal(1),
        reduces_only=reduces_only,
    )


def test_a_halted_gateway_refuses_openings_and_lets_reductions_through(
    ib_gateway: IbStack,
) -> None:
    client = redis.Redis.from_url(ib_gateway.env["REDIS_URL"])
    broker = ib_gateway.broker()
    assert broker.submit(request("tvb.h-open.entry", "buy")).status in ("submitted", "filled")
    publish_halt(client, HaltFlag(True, "risk review"))
    try:
        with pytest.raises(OrderRejected, match="halted"):
            broker.submit(request("tvb.h-stale.entry", "buy"))
        assert ib_gateway.sim.orders("tvb.h-stale.entry") == []  # never reached IB
        closed = broker.submit(request("tvb.h-open.close", "sell", reduces_only=True))
        assert closed.status in ("submitted", "filled")
        assert len(ib_gateway.sim.orders("tvb.h-open.close")) == 1
    finally:
        publish_halt(client, HaltFlag(False))
    assert broker.submit(request("tvb.h-after.entry", "buy")).status in ("submitted", "filled")
