"""The whole order and account flow at each server version whose layouts differ."""

from __future__ import annotations

import pytest
from ib_async import IB, ContFuture, Forex, LimitOrder, MarketOrder, Stock

from ibsim import IBSim, SimThread
from tests.ibsim.conftest import HOST, Admin, wait_until

# 157 base; 163 contract details extra field; 164 no version field in contract details;
# 166 error carries advancedOrderRejectJson; 169 cancel time; 170 peg fields;
# 177 no faProfile; 178 execDetails pendingPriceRevision.
VERSIONS = (157, 160, 163, 164, 166, 169, 170, 176, 177, 178)


@pytest.fixture(params=VERSIONS)
def versioned(request: pytest.FixtureRequest) -> tuple[SimThread, IB]:
    runner = IBSim.start_in_thread(port=0, admin_port=0, server_version=request.param)
    ib = IB()
    ib.connect(HOST, runner.port, clientId=1, timeout=5)

    def finish() -> None:
        ib.disconnect()
        runner.stop()

    request.addfinalizer(finish)
    return runner, ib


def test_lifecycle(versioned: tuple[SimThread, IB]) -> None:
    runner, ib = versioned
    admin = Admin(runner.admin_port)
    errors: list[int] = []
    ib.errorEvent += lambda req_id, code, text, contract: errors.append(code)
    aapl, eur, es = ib.qualifyContracts(
        Stock("AAPL", "SMART", "USD"), Forex("EURUSD"), ContFuture("ES", "CME")
    )
    assert aapl.primaryExchange == "NASDAQ" and eur.localSymbol == "EUR.USD"
    assert es.secType == "CONTFUT"
    filled = ib.placeOrder(aapl, MarketOrder("BUY", 10, orderRef="v-mkt"))
    resting = ib.placeOrder(aapl, LimitOrder("SELL", 10, 250.0, orderRef="v-lmt", tif="GTC"))
    wait_until(lambda: filled.fills and filled.fills[0].commissionReport.execId, ib=ib)
    wait_until(lambda: resting.orderStatus.status == "Submitted", ib=ib)
    assert resting.order.tif == "GTC"
    ib.cancelOrder(resting.order)
    wait_until(lambda: resting.orderStatus.status == "Cancelled" and 202 in errors, ib=ib)
    completed = ib.reqCompletedOrders(apiOnly=True)
    assert {t.order.orderRef: t.orderStatus.status for t in completed} == {
        "v-mkt": "Filled",
        "v-lmt": "Cancelled",
    }
    [fill] = ib.reqExecutions()
    assert fill.execution.orderRef == "v-mkt" and fill.execution.shares == 10
    wait_until(lambda: ib.portfolio() and ib.portfolio()[0].position == 10, ib=ib)
    summary = {v.tag for v in ib.accountSummary()}
    assert "NetLiquidation" in summary
    admin.post("/prices", {"symbol": "AAPL", "price": 191.0})
    wait_until(lambda: ib.portfolio()[0].marketPrice == 191.0, ib=ib)
