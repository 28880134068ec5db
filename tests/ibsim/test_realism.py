"""The same lifecycles in realism mode: PreSubmitted steps, repeated statuses, late reports."""

from __future__ import annotations

import pytest
from ib_async import IB, LimitOrder, MarketOrder, Stock, StopOrder

from tests.ibsim.conftest import Admin, Clients, wait_until

AAPL = Stock("AAPL", "SMART", "USD")
pytestmark = pytest.mark.parametrize("sim_options", [{"realism": True, "seed": 7}])


def test_market_order_steps_through_presubmitted(ib: IB) -> None:
    trade = ib.placeOrder(AAPL, MarketOrder("BUY", 10, orderRef="real-1"))
    wait_until(
        lambda: trade.isDone() and trade.fills and trade.fills[0].commissionReport.execId, ib=ib
    )
    statuses = [entry.status for entry in trade.log]
    assert statuses[:3] == ["PendingSubmit", "PreSubmitted", "Submitted"]
    assert statuses[-1] == "Filled"
    assert trade.fills[0].commissionReport.commission == 1.0
    wait_until(lambda: ib.positions() and ib.positions()[0].position == 10, ib=ib)


def test_stop_rests_presubmitted_until_triggered(ib: IB, admin: Admin) -> None:
    ib.placeOrder(AAPL, MarketOrder("BUY", 10))
    stop = ib.placeOrder(AAPL, StopOrder("SELL", 10, 185.0))
    wait_until(lambda: stop.orderStatus.status == "PreSubmitted", ib=ib)
    admin.post("/prices", {"symbol": "AAPL", "price": 184.0})
    wait_until(lambda: stop.orderStatus.status == "Filled", ib=ib)


def test_bracket_and_cancel_and_reconnect(clients: Clients, admin: Admin) -> None:
    ib = clients.connect(1)
    trades = [ib.placeOrder(AAPL, o) for o in ib.bracketOrder("BUY", 5, 189.0, 200.0, 180.0)]
    resting = ib.placeOrder(AAPL, LimitOrder("BUY", 1, 100.0, orderRef="rest"))
    admin.post("/prices", {"symbol": "AAPL", "price": 188.0})
    wait_until(lambda: trades[0].orderStatus.status == "Filled", ib=ib)
    wait_until(lambda: trades[1].orderStatus.status == "Submitted", ib=ib)
    ib.cancelOrder(resting.order)
    wait_until(lambda: resting.orderStatus.status == "Cancelled", ib=ib)
    admin.post("/faults", {"kind": "disconnect"})
    wait_until(lambda: not ib.isConnected(), ib=ib)
    again = clients.connect(1)
    assert sorted(t.order.orderType for t in again.openTrades()) == ["LMT", "STP"]
    assert again.positions()[0].position == 5
    wait_until(lambda: all(f.commissionReport.execId for f in again.fills()), ib=again)
