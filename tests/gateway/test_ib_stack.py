"""Alerts through the whole IBKR path: webhook → worker → gateway RPC → ibsim → events →
ledger; and every RPC method against ibsim (no mocks of ib_async)."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any

import pytest
import redis

from tests.gateway.support import IbStack
from tests.support import wait_for
from trading.brokers import ibkr_protocol as wire
from trading.brokers.port import OrderRequest
from trading.errors import (
    NotCancellable,
    OrderNotFound,
    OrderRejected,
    RequestInvalid,
    RequestRefused,
)


def test_alert_becomes_an_ib_order_a_fill_and_a_position(ib_stack: IbStack) -> None:
    response = ib_stack.alert(
        {"symbol": "NASDAQ:AAPL", "action": "buy", "quantity": 2, "price": 190, "alert_id": "ib-1"}
    )
    assert response.status_code == 202, response.text
    state = ib_stack.wait_alert("ib-1")
    order = state["orders"][0]
    assert order["status"] == "filled" and order["order_ref"] == "tvb.ib-1.entry"
    at_ib = ib_stack.sim.orders("tvb.ib-1.entry")
    assert len(at_ib) == 1 and at_ib[0]["status"] == "Filled" and at_ib[0]["symbol"] == "AAPL"
    assert len(state["fills"]) == 1
    account = ib_stack.api("/api/account").json()
    assert account["broker"] == "ibkr"
    assert set(account["summary"]) >= {
        "TotalCashValue",
        "NetLiquidation",
        "BuyingPower",
        "GrossPositionValue",
        "UnrealizedPnL",
        "RealizedPnL",
    }
    aapl = next(p for p in account["positions"] if p["symbol"] == "AAPL")
    assert float(aapl["quantity"]) >= 2
    assert aapl["market_price"] is not None and "unrealized_pnl" in aapl


def test_resting_limit_fill_reaches_the_ledger_through_events(ib_stack: IbStack) -> None:
    ib_stack.alert(
        {
            "symbol": "MSFT",
            "action": "buy",
            "quantity": 3,
            "order_type": "limit",
            "limit_price": 1,
            "alert_id": "ib-limit",
        }
    )
    order = ib_stack.wait_alert("ib-limit")["orders"][0]
    assert order["status"] == "submitted"
    ib_stack.sim.post("/fills", {"orderRef": "tvb.ib-limit.entry"})

    def filled() -> dict[str, Any] | None:
        state = ib_stack.alert_state("ib-limit")
        return state if state["orders"][0]["status"] == "filled" else None

    state = wait_for(filled, timeout=10, message="the fill to reach the ledger")
    assert len(state["fills"]) == 1
    orders = ib_stack.api("/api/orders?symbol=MSFT").json()["orders"]
    assert orders[0]["status"] == "filled"


def test_fractional_stock_and_unknown_symbol_are_rejected(ib_stack: IbStack) -> None:
    ib_stack.alert({"symbol": "AAPL", "action": "buy", "quantity": 1.5, "alert_id": "ib-frac"})
    state = ib_stack.wait_alert("ib-frac", status="rejected")
    # Refused before sending, by planning (whole shares) or by the gateway (IB takes no
    # fractional shares through the API); never rounded.
    assert "fractional" in state["reason"] or "whole number" in state["reason"]
    assert not ib_stack.sim.orders("tvb.ib-frac.entry")
    ib_stack.alert({"symbol": "ZZZZ", "action": "buy", "quantity": 1, "alert_id": "ib-unknown"})
    state = ib_stack.wait_alert("ib-unknown", status="rejected")
    assert "200" in state["reason"] and not ib_stack.sim.orders("tvb.ib-unknown.entry")


def test_rejection_201_is_terminal_and_not_retried(ib_stack: IbStack) -> None:
    """G5: IB rejects (201): the alert is rejected with IB's reason, never sent again."""
    ib_stack.sim.fault("error", code=201, order_ref="tvb.ib-201.entry")
    ib_stack.alert({"symbol": "IBM", "action": "buy", "quantity": 1, "alert_id": "ib-201"})
    state = ib_stack.wait_alert("ib-201", status="rejected")
    assert "201" in state["reason"]
    assert state["orders"][0]["status"] == "rejected"
    # Rejected is final: the worker that recorded it sent its one request and no retry.
    assert ib_stack.placements("tvb.ib-201.entry") == 1
    at_ib = ib_stack.sim.orders("tvb.ib-201.entry")
    assert all(o["status"] != "Filled" for o in at_ib) and len(at_ib) <= 1


def test_forex_alert_goes_to_idealpro(ib_stack: IbStack) -> None:
    ib_stack.alert({"symbol": "FX:EURUSD", "action": "buy", "quantity": 20000, "alert_id": "ib-fx"})
    assert ib_stack.wait_alert("ib-fx")["orders"][0]["status"] == "filled"
    [order] = ib_stack.sim.orders("tvb.ib-fx.entry")
    assert order["secType"] == "CASH" and order["symbol"] == "EUR"


def test_every_rpc(ib_stack: IbStack) -> None:
    broker = ib_stack.broker()
    # Its own fill and position, so the test passes alone as in the module.
    bought = broker.submit(
        OrderRequest(reference="tvb.rpc-buy.entry", symbol="AAPL", side="buy", quantity=Decimal(2))
    )
    assert bought.status == "filled", bought
    request = OrderRequest(
        reference="tvb.rpc-1.entry",
        symbol="NVDA",
        side="buy",
        quantity=Decimal(5),
        order_type="limit",
        limit_price=Decimal("1.00"),
    )
    placed = broker.submit(request)
    assert placed.status == "submitted" and placed.reference == request.reference
    # The same reference again returns the existing order: one order at IB.
    again = broker.submit(request)
    assert again.broker_order_id == placed.broker_order_id
    assert len(ib_stack.sim.orders(request.reference)) == 1
    assert broker.order_by_reference(request.reference) == placed
    assert broker.order_by_reference("tvb.never-placed.entry") is None
    assert request.reference in {o.reference for o in broker.open_orders()}
    cancelled = broker.cancel(request.reference)
    assert cancelled.status == "cancelled"
    with pytest.raises(NotCancellable):
        broker.cancel(request.reference)
    with pytest.raises(OrderNotFound):
        broker.cancel("tvb.never-placed.entry")
    executions = broker.executions()
    assert any(e["reference"] == "tvb.rpc-buy.entry" for e in executions)
    positions = broker.positions()
    assert any(p.symbol == "AAPL" and p.quantity >= 2 for p in positions)
    summary, with_prices = broker.account()
    assert summary.net_liquidation > 0
    assert all(p.market_price is not None for p in with_prices)
    aapl = broker.resolve_contract("AAPL", exchange="NASDAQ")
    assert (aapl["exchange"], aapl["primary_exchange"]) == ("SMART", "NASDAQ")
    assert broker.resolve_contract("BRK.B")["symbol"] == "BRK B"
    for pair in ("EURUSD", "EUR/USD"):
        contract = broker.resolve_contract(pair)
        assert (contract["sec_type"], contract["exchange"]) == ("CASH", "IDEALPRO")
    assert broker.resolve_contract("EURUSD", exchange="FX")["exchange"] == "IDEALPRO"
    # A refused read is not an order rejection.
    with pytest.raises(RequestRefused) as refused:
        broker.resolve_contract("ZZZZ")
    assert refused.value.code == 200 and not isinstance(refused.value, OrderRejected)
    health = broker.health()
    assert health.connected and health.tradeable and health.detail["server_version"]
    assert health.detail["accounts"] == ["DU1234567"]


def test_cancel_ours_never_touches_manual_orders(ib_stack: IbStack) -> None:
    from ib_async import IB, LimitOrder, Stock

    broker = ib_stack.broker()
    broker.submit(
        OrderRequest(
            reference="tvb.ours-1.entry",
            symbol="AMZN",
            side="buy",
            quantity=Decimal(1),
            order_type="limit",
            limit_price=Decimal(1),
        )
    )
    manual = IB()
    manual.connect("127.0.0.1", ib_stack.sim.port, clientId=77, timeout=5)
    try:
        manual.placeOrder(Stock("AMZN", "SMART", "USD"), LimitOrder("BUY", 1, 1.0))
        wait_for(
            lambda: any(o["clientId"] == 77 for o in ib_stack.sim.get("/orders", symbol="AMZN")),
            timeout=5,
            message="the manual order at ibsim",
        )
        cancelled = broker.cancel_ours()
        assert "tvb.ours-1.entry" in cancelled
        statuses = {o["clientId"]: o["status"] for o in ib_stack.sim.get("/orders", symbol="AMZN")}
        assert statuses[77] in ("Submitted", "PreSubmitted")
    finally:
        manual.disconnect()


def test_health_and_ready_show_the_ibkr_shape(ib_stack: IbStack) -> None:
    health = ib_stack.session.get(ib_stack.url + "/health", timeout=5).json()
    broker = health["broker"]
    assert broker["type"] == "ibkr"
    assert broker["health"]["connected"] and broker["health"]["tradeable"]
    assert broker["health"]["latency_ms"] is not None
    assert ib_stack.session.get(ib_stack.url + "/ready", timeout=5).status_code == 200


def test_expired_request_is_dropped_not_executed(ib_stack: IbStack) -> None:
    client = redis.Redis.from_url(ib_stack.env["REDIS_URL"])
    params = {"reference": "tvb.ib-late.entry", "symbol": "AAPL", "side": "buy", "quantity": "1"}
    client.xadd(
        wire.REQUESTS_STREAM,
        {
            "id": "late-1",
            "method": "place_order",
            "params": json.dumps(params),
            "idem": "tvb.ib-late.entry",
            "deadline": repr(time.time() - 1),
            "reply": wire.REPLY_PREFIX + "late-1",
        },
    )
    answer = client.blpop([wire.REPLY_PREFIX + "late-1"], timeout=5)
    assert answer is not None
    # The answer is sent after the gateway decided: nothing is left to wait for.
    assert json.loads(answer[1])["error"]["kind"] == wire.EXPIRED
    assert not ib_stack.sim.orders("tvb.ib-late.entry")


def test_unknown_method_and_bad_reference_are_invalid(ib_stack: IbStack) -> None:
    """``invalid`` is terminal: a rejected order for a placement, RequestInvalid otherwise."""
    broker = ib_stack.broker()
    with pytest.raises(RequestInvalid, match="unknown method"):
        broker._call("reqGlobalCancel", {})
    with pytest.raises(OrderRejected, match="not a tvbridge order reference"):
        broker.submit(
            OrderRequest(reference="manual-1", symbol="AAPL", side="buy", quantity=Decimal(1))
        )
    assert not ib_stack.sim.orders("manual-1")


def test_a_burst_of_requests_is_paced_not_dropped(ib_stack: IbStack) -> None:
    """80 queries at once is more than IB's 50 messages/s: they queue in our pacer and all
    answer; IB never sees a pacing violation (error 100)."""
    broker = ib_stack.broker(rpc_timeout=10)
    # An execution and a position of its own: every answer is then non-empty, alone too.
    broker.submit(
        OrderRequest(reference="tvb.burst.entry", symbol="AAPL", side="buy", quantity=Decimal(1))
    )
    with ThreadPoolExecutor(40) as pool:
        answers = list(pool.map(lambda _: broker._call("executions", {}), range(80)))
        positions = list(pool.map(lambda _: broker._call("positions", {}), range(20)))
    assert all(answers) and len(answers) == 80
    assert all(positions) and len(positions) == 20
    assert "Error 100" not in ib_stack.log("gateway")
    assert "pacing" not in (ib_stack.directory / "ibsim.log").read_text().lower()


def test_open_order_ib_no_longer_knows_is_flagged_not_resent(ib_stack: IbStack) -> None:
    """Last in this module (it wipes ibsim): after a reconnect IB reports nothing about an
    order the ledger has open; the ledger gets a ``missing_at_broker`` event, nothing is sent."""
    from sqlalchemy import select

    from trading.ledger.db import get_database
    from trading.ledger.models import OrderEventRecord

    ib_stack.alert(
        {
            "symbol": "MSFT",
            "action": "buy",
            "quantity": 1,
            "order_type": "limit",
            "limit_price": 1,
            "alert_id": "ib-lost",
        }
    )
    assert ib_stack.wait_alert("ib-lost")["orders"][0]["status"] == "submitted"
    ib_stack.sim.post("/reset")
    database = get_database(ib_stack.env["DATABASE_URL"])

    def flagged() -> bool:
        with database.read() as session:
            kinds = session.scalars(
                select(OrderEventRecord.kind).where(
                    OrderEventRecord.order_ref == "tvb.ib-lost.entry"
                )
            ).all()
        return "missing_at_broker" in kinds

    wait_for(flagged, timeout=20, message="the missing order to be flagged")
    assert ib_stack.alert_state("ib-lost")["orders"][0]["status"] == "submitted"
    assert not ib_stack.sim.orders("tvb.ib-lost.entry")
