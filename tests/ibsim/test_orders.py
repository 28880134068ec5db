"""Order types through their lifecycle, as ib_async sees them."""

from __future__ import annotations

import time

import pytest
from ib_async import IB, Contract, LimitOrder, MarketOrder, Order, Stock, StopLimitOrder, StopOrder

from tests.ibsim.conftest import WORKING, Admin, Clients, wait_until

AAPL = Stock("AAPL", "SMART", "USD")


def codes(clients: Clients, client_id: int = 1) -> list[int]:
    return [code for _, code, _ in clients.errors.get(client_id, [])]


def test_market_order_fills_with_commission_and_order_ref(ib: IB, admin: Admin) -> None:
    trade = ib.placeOrder(AAPL, MarketOrder("BUY", 100, orderRef="alert-1-entry"))
    wait_until(
        lambda: trade.isDone() and trade.fills and trade.fills[0].commissionReport.execId, ib=ib
    )
    assert trade.orderStatus.status == "Filled"
    assert trade.orderStatus.avgFillPrice == 190.0
    fill = trade.fills[0]
    assert fill.execution.orderRef == "alert-1-entry"
    assert fill.execution.side == "BOT"
    assert fill.commissionReport.commission == 1.0
    assert trade.order.permId > 0
    orders = admin.get("/orders")
    assert orders[0]["orderRef"] == "alert-1-entry"
    assert orders[0]["status"] == "Filled"
    assert orders[0]["filled"] == 100
    assert orders[0]["avgFillPrice"] == 190.0


@pytest.mark.soak
def test_market_fill_reaches_client_fast(ib: IB) -> None:
    latencies = []
    for _ in range(20):
        filled_at: list[float] = []
        started = time.perf_counter()
        trade = ib.placeOrder(AAPL, MarketOrder("BUY", 1))
        trade.filledEvent += lambda _trade, sink=filled_at: sink.append(time.perf_counter())
        wait_until(lambda sink=filled_at: sink, ib=ib)
        latencies.append(filled_at[0] - started)
    latencies.sort()
    assert latencies[len(latencies) // 2] < 0.005, latencies


def test_limit_order_rests_then_fills_on_price_move(ib: IB, admin: Admin) -> None:
    trade = ib.placeOrder(AAPL, LimitOrder("BUY", 10, 185.0, orderRef="lmt"))
    wait_until(lambda: trade.orderStatus.status == "Submitted", ib=ib)
    ib.sleep(0.05)
    assert trade.orderStatus.filled == 0
    admin.post("/prices", {"symbol": "AAPL", "price": 184.5})
    wait_until(lambda: trade.orderStatus.status == "Filled", ib=ib)
    assert trade.orderStatus.avgFillPrice == 184.5


def test_sell_stop_triggers_and_stop_limit_respects_limit(ib: IB, admin: Admin) -> None:
    ib.placeOrder(AAPL, MarketOrder("BUY", 20))
    stop = ib.placeOrder(AAPL, StopOrder("SELL", 10, 180.0))
    stop_limit = ib.placeOrder(AAPL, StopLimitOrder("SELL", 10, 178.0, 181.0))
    wait_until(lambda: stop_limit.orderStatus.status in WORKING, ib=ib)
    admin.post("/prices", {"symbol": "AAPL", "price": 177.0})
    wait_until(lambda: stop.orderStatus.status == "Filled", ib=ib)
    ib.sleep(0.05)
    assert stop_limit.orderStatus.status == "Submitted"  # triggered, but below its limit
    admin.post("/prices", {"symbol": "AAPL", "price": 178.5})
    wait_until(lambda: stop_limit.orderStatus.status == "Filled", ib=ib)
    assert stop.orderStatus.avgFillPrice == 177.0
    assert stop_limit.orderStatus.avgFillPrice == 178.5


def test_trailing_stop_follows_the_market(ib: IB, admin: Admin) -> None:
    ib.placeOrder(AAPL, MarketOrder("BUY", 5))
    order = Order(action="SELL", totalQuantity=5, orderType="TRAIL", auxPrice=2.0)
    trade = ib.placeOrder(AAPL, order)
    wait_until(lambda: trade.orderStatus.status in WORKING, ib=ib)
    for price in (192.0, 195.0, 194.0):
        admin.post("/prices", {"symbol": "AAPL", "price": price})
    ib.sleep(0.05)
    assert trade.orderStatus.status in WORKING
    admin.post("/prices", {"symbol": "AAPL", "price": 192.9})
    wait_until(lambda: trade.orderStatus.status == "Filled", ib=ib)
    assert trade.orderStatus.avgFillPrice == 192.9


def test_cancel_gives_202_and_a_second_cancel_gives_10148(ib: IB, clients: Clients) -> None:
    trade = ib.placeOrder(AAPL, LimitOrder("BUY", 1, 100.0))
    wait_until(lambda: trade.orderStatus.status == "Submitted", ib=ib)
    ib.cancelOrder(trade.order)
    wait_until(lambda: trade.orderStatus.status == "Cancelled" and 202 in codes(clients), ib=ib)
    ib.cancelOrder(trade.order)
    wait_until(lambda: 10148 in codes(clients), ib=ib)
    [text] = [t for _, code, t in clients.errors[1] if code == 10148]
    assert text.endswith("cannot be cancelled, state: Cancelled.")
    assert 10147 not in codes(clients)


@pytest.mark.parametrize(
    "order",
    [
        Order(action="BUY", totalQuantity=1, orderType="MOC"),
        LimitOrder("BUY", 1, -5.0),
        LimitOrder("BUY", 0, 190.0),
        Order(action="BUY", totalQuantity=1, orderType="LMT", lmtPrice=190.0, tif="XYZ"),
    ],
    ids=["unsupported-type", "negative-price", "zero-size", "bad-tif"],
)
def test_rejections_give_201_and_cancel_the_trade(ib: IB, clients: Clients, order: Order) -> None:
    trade = ib.placeOrder(AAPL, order)
    wait_until(lambda: 201 in codes(clients), ib=ib)
    wait_until(lambda: trade.orderStatus.status == "Cancelled", ib=ib)


def test_unknown_contract_order_gives_200(ib: IB, clients: Clients) -> None:
    ib.placeOrder(Stock("NOPE", "SMART", "USD"), MarketOrder("BUY", 1))
    wait_until(lambda: 200 in codes(clients), ib=ib)


def test_reused_order_id_gives_103(ib: IB, clients: Clients) -> None:
    first = ib.placeOrder(AAPL, MarketOrder("BUY", 1))
    wait_until(lambda: first.isDone(), ib=ib)
    old_id = first.order.orderId
    ib.client.placeOrder(old_id - 1, AAPL, MarketOrder("BUY", 1))
    wait_until(lambda: 103 in codes(clients), ib=ib)


def test_modify_by_resending_the_order_id(ib: IB, admin: Admin) -> None:
    order = LimitOrder("BUY", 10, 150.0, orderRef="mod")
    trade = ib.placeOrder(AAPL, order)
    wait_until(lambda: trade.orderStatus.status == "Submitted", ib=ib)
    order.lmtPrice = 150.5
    order.totalQuantity = 20
    ib.placeOrder(AAPL, order)
    wait_until(lambda: admin.get("/orders?orderRef=mod")[0]["lmtPrice"] == 150.5, ib=ib)
    assert admin.get("/orders?orderRef=mod")[0]["totalQuantity"] == 20
    order.lmtPrice = 191.0
    ib.placeOrder(AAPL, order)
    wait_until(lambda: trade.orderStatus.status == "Filled", ib=ib)
    assert trade.orderStatus.filled == 20


def test_modifying_a_filled_order_gives_104(ib: IB, clients: Clients) -> None:
    order = MarketOrder("BUY", 1)
    trade = ib.placeOrder(AAPL, order)
    wait_until(lambda: trade.isDone(), ib=ib)
    ib.client.placeOrder(order.orderId, AAPL, order)
    wait_until(lambda: 104 in codes(clients), ib=ib)


def test_global_cancel_cancels_every_client(clients: Clients) -> None:
    first, second = clients.connect(1), clients.connect(2)
    a = first.placeOrder(AAPL, LimitOrder("BUY", 1, 100.0))
    b = second.placeOrder(AAPL, LimitOrder("SELL", 1, 300.0))
    wait_until(lambda: b.orderStatus.status == "Submitted", ib=second)
    first.reqGlobalCancel()
    wait_until(lambda: a.orderStatus.status == "Cancelled", ib=first)
    wait_until(lambda: b.orderStatus.status == "Cancelled", ib=second)


def test_ioc_cancels_what_does_not_trade(ib: IB) -> None:
    order = LimitOrder("BUY", 5, 100.0, tif="IOC")
    trade = ib.placeOrder(AAPL, order)
    wait_until(lambda: trade.orderStatus.status == "Cancelled", ib=ib)
    assert trade.orderStatus.filled == 0


def test_fok_fills_whole_or_is_cancelled(ib: IB) -> None:
    filled = ib.placeOrder(AAPL, LimitOrder("BUY", 5, 191.0, tif="FOK"))
    killed = ib.placeOrder(AAPL, LimitOrder("BUY", 5, 100.0, tif="FOK"))
    wait_until(lambda: filled.orderStatus.status == "Filled", ib=ib)
    wait_until(lambda: killed.orderStatus.status == "Cancelled", ib=ib)
    assert killed.orderStatus.filled == 0


@pytest.mark.parametrize("sim_options", [{"max_fill_qty": 30}])
def test_fok_larger_than_what_trades_is_cancelled_unfilled(ib: IB) -> None:
    trade = ib.placeOrder(AAPL, MarketOrder("BUY", 100, tif="FOK"))
    wait_until(lambda: trade.orderStatus.status == "Cancelled", ib=ib)
    assert trade.orderStatus.filled == 0 and not trade.fills


@pytest.mark.parametrize("sim_options", [{"max_fill_qty": 30}])
def test_partial_fills(ib: IB, admin: Admin) -> None:
    trade = ib.placeOrder(AAPL, MarketOrder("BUY", 100))
    wait_until(lambda: trade.orderStatus.filled == 30, ib=ib)
    assert trade.orderStatus.status == "Submitted"
    assert trade.orderStatus.remaining == 70
    for price in (190.1, 190.2, 190.3):
        admin.post("/prices", {"symbol": "AAPL", "price": price})
    wait_until(lambda: trade.orderStatus.status == "Filled", ib=ib)
    assert [f.execution.shares for f in trade.fills] == [30, 30, 30, 10]
    assert trade.orderStatus.avgFillPrice == pytest.approx(
        (30 * 190 + 30 * 190.1 + 30 * 190.2 + 10 * 190.3) / 100
    )


def test_forced_fill_through_admin(ib: IB, admin: Admin) -> None:
    trade = ib.placeOrder(AAPL, LimitOrder("BUY", 10, 150.0, orderRef="force"))
    wait_until(lambda: trade.orderStatus.status == "Submitted", ib=ib)
    admin.post("/fills", {"orderRef": "force", "quantity": 4, "price": 150.0})
    wait_until(lambda: trade.orderStatus.filled == 4, ib=ib)
    admin.post("/fills", {"orderRef": "force"})
    wait_until(lambda: trade.orderStatus.status == "Filled", ib=ib)


def test_forex_and_crypto_and_futures_trade(ib: IB) -> None:
    from ib_async import ContFuture, Crypto, Forex

    eur = ib.qualifyContracts(Forex("EURUSD"))[0]
    btc = ib.qualifyContracts(Crypto("BTC", "PAXOS", "USD"))[0]
    front = ib.qualifyContracts(ContFuture("ES", "CME"))[0]
    future = Contract(conId=front.conId, exchange="CME")
    trades = [
        ib.placeOrder(eur, MarketOrder("BUY", 20000)),
        ib.placeOrder(btc, MarketOrder("BUY", 0.5)),
        ib.placeOrder(future, MarketOrder("SELL", 1)),
    ]
    wait_until(lambda: all(t.orderStatus.status == "Filled" for t in trades), ib=ib)
    wait_until(lambda: len(ib.positions()) == 3, ib=ib)
    by_type = {p.contract.secType: p for p in ib.positions()}
    assert by_type["FUT"].position == -1
    assert by_type["FUT"].avgCost == pytest.approx(5210.0 * 50 + 0.85)
    assert by_type["CRYPTO"].position == 0.5


def test_what_if_reports_margin_without_booking(ib: IB, admin: Admin) -> None:
    state = ib.whatIfOrder(AAPL, LimitOrder("BUY", 100, 190.0))
    assert float(state.initMarginChange) == pytest.approx(100 * 190.0 * 0.25)
    assert float(state.maintMarginChange) == pytest.approx(100 * 190.0 * 0.25 * 0.8)
    assert state.commission == 1.0
    assert admin.get("/orders") == []
    assert ib.positions() == []


def test_invalid_modification_leaves_the_order_working(
    ib: IB, clients: Clients, admin: Admin
) -> None:
    order = LimitOrder("BUY", 10, 150.0, orderRef="keep")
    trade = ib.placeOrder(AAPL, order)
    wait_until(lambda: trade.orderStatus.status == "Submitted", ib=ib)
    order.lmtPrice = -5.0
    ib.placeOrder(AAPL, order)
    wait_until(lambda: 321 in codes(clients), ib=ib)
    assert admin.get("/orders?orderRef=keep")[0]["status"] == "Submitted"
    assert not trade.isDone()


def test_crypto_cash_quantity_order(ib: IB) -> None:
    from ib_async import Crypto

    [btc] = ib.qualifyContracts(Crypto("BTC", "PAXOS", "USD"))
    order = MarketOrder("BUY", 0)
    order.cashQty = 6500.0
    trade = ib.placeOrder(btc, order)
    wait_until(lambda: trade.orderStatus.status == "Filled", ib=ib)
    assert trade.orderStatus.filled == pytest.approx(0.1)


def test_order_beyond_buying_power_is_rejected(ib: IB, clients: Clients, admin: Admin) -> None:
    trade = ib.placeOrder(AAPL, MarketOrder("BUY", 30_000))  # 5.7M notional, 1.4M margin
    wait_until(lambda: trade.orderStatus.status == "Cancelled", ib=ib)
    [(_, _, text)] = [e for e in clients.errors[1] if e[1] == 201]
    assert "EQUITY WITH LOAN" in text
    assert admin.get("/orders") == []
    fits = ib.placeOrder(AAPL, MarketOrder("BUY", 15_000))  # 0.71M margin of 1M
    wait_until(lambda: fits.orderStatus.status == "Filled", ib=ib)
