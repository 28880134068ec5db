"""What a real IB Gateway refuses, ibsim refuses too, with IB's code and text (ib_async client)."""

from __future__ import annotations

import math
import socket
import time

import pytest
from ib_async import (
    IB,
    ContFuture,
    Contract,
    Forex,
    Future,
    LimitOrder,
    MarketOrder,
    Stock,
    StopOrder,
)

from tests.ibsim.conftest import HOST, Admin, Clients, wait_until

AAPL = Stock("AAPL", "SMART", "USD")


def texts(clients: Clients, code: int, client_id: int = 1) -> list[str]:
    return [text for _, got, text in clients.errors.get(client_id, []) if got == code]


def test_cancelling_a_filled_order_gives_10148_and_an_unknown_id_10147(
    ib: IB, clients: Clients
) -> None:
    trade = ib.placeOrder(AAPL, MarketOrder("BUY", 1))
    wait_until(lambda: trade.orderStatus.status == "Filled", ib=ib)
    order_id = trade.order.orderId
    ib.client.cancelOrder(order_id)
    wait_until(lambda: texts(clients, 10148), ib=ib)
    assert texts(clients, 10148) == [
        f"OrderId {order_id} that needs to be cancelled cannot be cancelled, state: Filled."
    ]
    ib.client.cancelOrder(987654)
    wait_until(lambda: texts(clients, 10147), ib=ib)
    assert texts(clients, 10147) == ["OrderId 987654 that needs to be cancelled is not found."]


def test_an_order_on_a_continuous_future_is_refused(ib: IB, clients: Clients, admin: Admin) -> None:
    [front] = ib.qualifyContracts(ContFuture("ES", "CME"))
    ib.placeOrder(front, MarketOrder("BUY", 1))
    wait_until(lambda: texts(clients, 321), ib=ib)
    assert "CONTFUT" in texts(clients, 321)[0]
    # The dated contract behind it trades.
    dated = ib.placeOrder(Future(conId=front.conId, exchange="CME"), MarketOrder("BUY", 1))
    wait_until(lambda: dated.orderStatus.status == "Filled", ib=ib)
    assert [o["secType"] for o in admin.get("/orders")] == ["FUT"]


def test_a_fractional_stock_quantity_is_refused_with_10243(
    ib: IB, clients: Clients, admin: Admin
) -> None:
    trade = ib.placeOrder(AAPL, MarketOrder("BUY", 1.5))
    wait_until(lambda: trade.orderStatus.status == "Cancelled", ib=ib)
    assert texts(clients, 10243) == [
        "Fractional-sized order cannot be placed via API. "
        "Please use desktop version to place this order."
    ]
    assert admin.get("/orders") == []
    # Forex takes fractions.
    [eur] = ib.qualifyContracts(Forex("EURUSD"))
    forex = ib.placeOrder(eur, MarketOrder("BUY", 20000.5))
    wait_until(lambda: forex.orderStatus.status == "Filled", ib=ib)


@pytest.mark.parametrize(
    "order",
    [LimitOrder("BUY", 1, 190.001), StopOrder("SELL", 1, 180.005)],
    ids=["limit", "stop"],
)
def test_an_off_tick_price_gets_110(
    ib: IB, clients: Clients, admin: Admin, order: LimitOrder | StopOrder
) -> None:
    trade = ib.placeOrder(AAPL, order)
    wait_until(lambda: texts(clients, 110), ib=ib)
    assert texts(clients, 110) == [
        "The price does not conform to the minimum price variation for this contract."
    ]
    assert 201 not in [code for _, code, _ in clients.errors[1]]
    # ib_async cancels a new order on 110.
    wait_until(lambda: trade.orderStatus.status == "Cancelled", ib=ib)
    assert admin.get("/orders") == []


def test_an_off_tick_modification_gets_110_and_the_order_stays(
    ib: IB, clients: Clients, admin: Admin
) -> None:
    order = LimitOrder("BUY", 10, 150.0, orderRef="tick")
    trade = ib.placeOrder(AAPL, order)
    wait_until(lambda: trade.orderStatus.status == "Submitted", ib=ib)
    order.lmtPrice = 150.001
    ib.placeOrder(AAPL, order)
    wait_until(lambda: texts(clients, 110), ib=ib)
    [state] = admin.get("/orders?orderRef=tick")
    assert (state["status"], state["lmtPrice"]) == ("Submitted", 150.0)


@pytest.mark.parametrize(
    "contract",
    [Future("ES", exchange="GLOBEX"), ContFuture("ES", "GLOBEX")],
    ids=["future", "continuous"],
)
def test_the_retired_globex_exchange_is_unknown(
    ib: IB, clients: Clients, contract: Contract
) -> None:
    assert ib.reqContractDetails(contract) == []
    wait_until(lambda: texts(clients, 200), ib=ib)
    assert texts(clients, 200)[0] == "No security definition has been found for the request"


def test_an_order_naming_globex_gets_200(ib: IB, clients: Clients, admin: Admin) -> None:
    [front] = ib.qualifyContracts(ContFuture("ES", "CME"))
    ib.placeOrder(Future(conId=front.conId, exchange="GLOBEX"), MarketOrder("BUY", 1))
    wait_until(lambda: texts(clients, 200), ib=ib)
    assert admin.get("/orders") == []


def test_forex_tickers_carry_bid_and_ask_but_no_last(ib: IB, admin: Admin) -> None:
    [eur] = ib.qualifyContracts(Forex("EURUSD"))
    [snapshot] = ib.reqTickers(eur)
    assert (snapshot.bid, snapshot.ask) == (1.08495, 1.08505)
    assert math.isnan(snapshot.last)
    ticker = ib.reqMktData(eur)
    admin.post("/prices", {"symbol": "EURUSD", "price": 1.0875})
    wait_until(lambda: ticker.bid == 1.08745, ib=ib)
    assert math.isnan(ticker.last) and ticker.ask == 1.08755
    ib.cancelMktData(eur)
    # Stocks still trade on a tape.
    [stock] = ib.reqTickers(*ib.qualifyContracts(Stock("AAPL", "SMART", "USD")))
    assert stock.last == 190.0


def _closed_within(conn: socket.socket, seconds: float) -> float:
    """Seconds until the peer closed the socket (read returns nothing or the socket resets)."""
    started = time.monotonic()
    conn.settimeout(seconds)
    try:
        while conn.recv(4096):
            pass
    except ConnectionResetError:
        pass
    except TimeoutError:
        pytest.fail(f"still open after {seconds} s")
    return time.monotonic() - started


@pytest.mark.parametrize(
    "hello",
    [b"63\0", b"63\x001\0", b"", b"API\0"],
    ids=["bare-version", "version-and-client-id", "silent", "prefix-only"],
)
def test_a_pre_v100_or_stalled_handshake_is_closed_not_left_hanging(
    sim: object, hello: bytes
) -> None:
    from ibsim import SimThread

    assert isinstance(sim, SimThread)
    with socket.create_connection((HOST, sim.port), timeout=5) as conn:
        conn.sendall(hello)
        took = _closed_within(conn, 6.0)
    # A wrong first byte is refused at once; a stalled one when the handshake times out.
    assert took < (1.0 if hello[:1].isdigit() else 5.0)
