"""Brackets (transmit=0 parents, PreSubmitted children, OCA siblings) and OCA groups."""

from __future__ import annotations

from ib_async import IB, LimitOrder, Stock

from tests.ibsim.conftest import WORKING, Admin, wait_until

AAPL = Stock("AAPL", "SMART", "USD")


def test_bracket_is_held_until_the_transmitting_child(ib: IB, admin: Admin) -> None:
    bracket = ib.bracketOrder("BUY", 10, 189.0, takeProfitPrice=195.0, stopLossPrice=185.0)
    parent, take_profit, stop_loss = bracket
    parent.orderRef, take_profit.orderRef, stop_loss.orderRef = "b-entry", "b-tp", "b-sl"
    entry = ib.placeOrder(AAPL, parent)
    tp = ib.placeOrder(AAPL, take_profit)
    wait_until(lambda: len(admin.get("/orders")) == 2, ib=ib)
    assert all(o["status"] == "PendingSubmit" for o in admin.get("/orders"))
    assert entry.orderStatus.status == "PendingSubmit"
    sl = ib.placeOrder(AAPL, stop_loss)
    wait_until(lambda: sl.orderStatus.status == "PreSubmitted", ib=ib)
    assert entry.orderStatus.status == "Submitted"
    assert tp.orderStatus.status == "PreSubmitted"

    admin.post("/prices", {"symbol": "AAPL", "price": 188.5})
    wait_until(lambda: entry.orderStatus.status == "Filled", ib=ib)
    wait_until(lambda: tp.orderStatus.status == "Submitted", ib=ib)
    assert sl.orderStatus.status in WORKING  # a stop rests PreSubmitted in realism mode

    admin.post("/prices", {"symbol": "AAPL", "price": 195.5})
    wait_until(lambda: tp.orderStatus.status == "Filled", ib=ib)
    wait_until(lambda: sl.orderStatus.status == "Cancelled", ib=ib)
    wait_until(lambda: all(p.position == 0 for p in ib.positions()), ib=ib)


def test_cancelling_the_parent_cancels_the_children(ib: IB) -> None:
    trades = [ib.placeOrder(AAPL, o) for o in ib.bracketOrder("BUY", 1, 150.0, 200.0, 140.0)]
    wait_until(lambda: trades[2].orderStatus.status == "PreSubmitted", ib=ib)
    ib.cancelOrder(trades[0].order)
    wait_until(lambda: all(t.orderStatus.status == "Cancelled" for t in trades), ib=ib)


def test_oca_group_one_fill_cancels_the_others(ib: IB, admin: Admin) -> None:
    orders = [LimitOrder("BUY", 5, 180.0), LimitOrder("BUY", 5, 170.0)]
    ib.oneCancelsAll(orders, "oca-test", 1)
    trades = [ib.placeOrder(AAPL, o) for o in orders]
    wait_until(lambda: all(t.orderStatus.status == "Submitted" for t in trades), ib=ib)
    admin.post("/prices", {"symbol": "AAPL", "price": 179.0})
    wait_until(lambda: trades[0].orderStatus.status == "Filled", ib=ib)
    wait_until(lambda: trades[1].orderStatus.status == "Cancelled", ib=ib)


def test_oca_reduce_type_shrinks_siblings(ib: IB, admin: Admin) -> None:
    orders = [LimitOrder("SELL", 10, 195.0), LimitOrder("SELL", 10, 200.0)]
    ib.oneCancelsAll(orders, "oca-reduce", 2)
    ib.placeOrder(AAPL, LimitOrder("BUY", 10, 191.0))
    trades = [ib.placeOrder(AAPL, o) for o in orders]
    admin.post("/fills", {"orderId": orders[0].orderId, "clientId": 1, "quantity": 4})
    wait_until(lambda: trades[0].orderStatus.filled == 4, ib=ib)
    wait_until(lambda: admin.get("/orders?status=Submitted")[-1]["totalQuantity"] == 6, ib=ib)


def test_oca_orders_held_until_the_last_is_transmitted(ib: IB, admin: Admin) -> None:
    first = LimitOrder("BUY", 1, 150.0, transmit=False, orderRef="oca-held-1")
    second = LimitOrder("BUY", 1, 140.0, orderRef="oca-held-2")
    ib.oneCancelsAll([first, second], "held-group", 1)
    trades = [ib.placeOrder(AAPL, first)]
    wait_until(lambda: admin.get("/orders?orderRef=oca-held-1"), ib=ib)
    assert admin.get("/orders?orderRef=oca-held-1")[0]["status"] == "PendingSubmit"
    trades.append(ib.placeOrder(AAPL, second))
    wait_until(lambda: all(t.orderStatus.status == "Submitted" for t in trades), ib=ib)


def test_modifying_a_held_parent_then_transmitting(ib: IB, admin: Admin) -> None:
    parent, take_profit, stop_loss = ib.bracketOrder("BUY", 2, 150.0, 200.0, 140.0)
    entry = ib.placeOrder(AAPL, parent)
    parent.lmtPrice = 191.0  # marketable now
    ib.placeOrder(AAPL, parent)
    ib.placeOrder(AAPL, take_profit)
    ib.placeOrder(AAPL, stop_loss)
    wait_until(lambda: entry.orderStatus.status == "Filled", ib=ib)
    assert entry.orderStatus.avgFillPrice == 190.0
