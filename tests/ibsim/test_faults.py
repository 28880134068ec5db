"""Faults armed through the admin API, and state surviving reconnects."""

from __future__ import annotations

import socket
import time

import pytest
from ib_async import IB, LimitOrder, MarketOrder, Stock

from ibsim import SimThread
from tests.ibsim.conftest import HOST, Admin, Clients, wait_until

AAPL = Stock("AAPL", "SMART", "USD")


def codes(clients: Clients, client_id: int = 1) -> list[int]:
    return [code for _, code, _ in clients.errors.get(client_id, [])]


def test_disconnect_then_reconnect_restores_orders_fills_positions(
    clients: Clients, admin: Admin
) -> None:
    ib = clients.connect(1)
    filled = ib.placeOrder(AAPL, MarketOrder("BUY", 10, orderRef="kept-fill"))
    resting = ib.placeOrder(AAPL, LimitOrder("BUY", 5, 150.0, orderRef="kept-open"))
    wait_until(lambda: filled.isDone() and resting.orderStatus.status == "Submitted", ib=ib)
    admin.post("/faults", {"kind": "disconnect"})
    wait_until(lambda: not ib.isConnected(), ib=ib)

    again = clients.connect(1)
    open_refs = {t.order.orderRef for t in again.openTrades()}
    assert open_refs == {"kept-open"}
    assert [f.execution.orderRef for f in again.fills()] == ["kept-fill"]
    assert again.positions()[0].position == 10
    completed = again.reqCompletedOrders(apiOnly=True)
    assert [t.order.orderRef for t in completed] == ["kept-fill"]
    reopened = next(t for t in again.openTrades())
    admin.post("/prices", {"symbol": "AAPL", "price": 149.0})
    wait_until(lambda: reopened.orderStatus.status == "Filled", ib=again)
    assert again.client.getReqId() > resting.order.orderId


def test_refuse_connections_for_a_while(sim: SimThread, admin: Admin) -> None:
    admin.post("/faults", {"kind": "refuse", "seconds": 0.5})
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((HOST, sim.port), timeout=1).close()
    assert admin.get("/health")["accepting"] is False
    deadline = time.monotonic() + 5
    while True:
        try:
            socket.create_connection((HOST, sim.port), timeout=1).close()
            break
        except ConnectionRefusedError:
            assert time.monotonic() < deadline
            time.sleep(0.05)


def test_injected_order_error_by_order_ref(ib: IB, clients: Clients, admin: Admin) -> None:
    admin.post("/faults", {"kind": "error", "code": 201, "order_ref": "doomed"})
    ok = ib.placeOrder(AAPL, MarketOrder("BUY", 1, orderRef="fine"))
    doomed = ib.placeOrder(AAPL, MarketOrder("BUY", 1, orderRef="doomed"))
    wait_until(lambda: doomed.orderStatus.status == "Cancelled", ib=ib)
    wait_until(lambda: ok.orderStatus.status == "Filled", ib=ib)
    assert 201 in codes(clients)


def test_injected_request_error(ib: IB, clients: Clients, admin: Admin) -> None:
    admin.post("/faults", {"kind": "error", "code": 162, "request": "contract_details"})
    assert ib.qualifyContracts(Stock("MSFT", "SMART", "USD")) == [None]
    assert 162 in codes(clients)
    assert ib.qualifyContracts(Stock("MSFT", "SMART", "USD"))[0] is not None


def test_connectivity_lost_and_restored_keeps_the_socket(
    ib: IB, clients: Clients, admin: Admin
) -> None:
    admin.post("/faults", {"kind": "connectivity", "code": 1100})
    wait_until(lambda: 1100 in codes(clients), ib=ib)
    admin.post("/faults", {"kind": "connectivity", "code": 1102})
    wait_until(lambda: 1102 in codes(clients), ib=ib)
    assert ib.isConnected()
    assert ib.reqCurrentTime()


def test_delayed_replies(ib: IB, admin: Admin) -> None:
    admin.post("/faults", {"kind": "delay", "seconds": 0.3})
    started = time.perf_counter()
    ib.reqCurrentTime()
    assert time.perf_counter() - started >= 0.3
    admin.post("/faults", {"kind": "clear"})
    started = time.perf_counter()
    ib.reqCurrentTime()
    assert time.perf_counter() - started < 0.25  # the 0.3 s delay is gone


@pytest.mark.parametrize("accept", [True, False])
def test_drop_after_place(clients: Clients, admin: Admin, accept: bool) -> None:
    ib = clients.connect(1)
    admin.post("/faults", {"kind": "drop_after_place", "accept": accept})
    ib.placeOrder(AAPL, MarketOrder("BUY", 3, orderRef="in-doubt"))
    wait_until(lambda: not ib.isConnected(), ib=ib)
    booked = admin.get("/orders?orderRef=in-doubt")
    assert len(booked) == (1 if accept else 0)
    again = clients.connect(1)
    assert bool(again.positions()) is accept


def test_next_valid_id_rollback_leads_to_103(clients: Clients, admin: Admin) -> None:
    ib = clients.connect(1)
    for _ in range(3):
        trade = ib.placeOrder(AAPL, MarketOrder("BUY", 1))
        wait_until(lambda trade=trade: trade.isDone(), ib=ib)
    admin.post("/faults", {"kind": "restart", "seconds": 0.1, "rollback": 5})
    wait_until(lambda: not ib.isConnected(), ib=ib)
    again = wait_until(lambda: _try_connect(clients), timeout=5)
    stale = again.placeOrder(Stock("MSFT", "SMART", "USD"), MarketOrder("BUY", 1))
    wait_until(lambda: stale.orderStatus.status == "Cancelled", ib=again)
    assert 103 in codes(clients), clients.errors


def _try_connect(clients: Clients) -> IB | None:
    try:
        return clients.connect(1, timeout=2)
    except ConnectionRefusedError:
        return None


@pytest.mark.parametrize("sim_options", [{"pacing_rate": 50, "pacing_burst": 10}])
def test_pacing_gives_error_100(ib: IB, clients: Clients) -> None:
    ib.client.MaxRequests = 0  # switch off the client's own throttle
    for _ in range(40):
        ib.client.reqCurrentTime()
    wait_until(lambda: 100 in codes(clients), ib=ib)
    assert ib.isConnected()


@pytest.mark.parametrize(
    "sim_options", [{"pacing_rate": 50, "pacing_burst": 10, "pacing_disconnect": True}]
)
def test_pacing_can_disconnect(ib: IB) -> None:
    ib.client.MaxRequests = 0
    for _ in range(40):
        ib.client.reqCurrentTime()
    wait_until(lambda: not ib.isConnected(), ib=ib)


def test_client_throttle_stays_inside_default_pacing(ib: IB, clients: Clients) -> None:
    for _ in range(120):
        ib.client.reqCurrentTime()
    ib.sleep(2.8)
    assert 100 not in codes(clients)
