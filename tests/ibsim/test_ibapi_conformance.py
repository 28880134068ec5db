"""IB's own reference client (PyPI ``ibapi`` 9.81, server version 157) decodes everything
the simulator sends. Skipped where ibapi is not installed."""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import pytest

from ibsim import IBSim
from tests.ibsim.conftest import HOST

ibapi = pytest.importorskip("ibapi")

from ibapi.client import EClient  # noqa: E402
from ibapi.contract import Contract  # noqa: E402
from ibapi.execution import ExecutionFilter  # noqa: E402
from ibapi.order import Order  # noqa: E402
from ibapi.wrapper import EWrapper  # noqa: E402

CALLBACKS = [
    "nextValidId",
    "managedAccounts",
    "error",
    "openOrder",
    "openOrderEnd",
    "orderStatus",
    "execDetails",
    "execDetailsEnd",
    "commissionReport",
    "position",
    "positionEnd",
    "updateAccountValue",
    "updatePortfolio",
    "updateAccountTime",
    "accountDownloadEnd",
    "accountSummary",
    "accountSummaryEnd",
    "accountUpdateMulti",
    "accountUpdateMultiEnd",
    "contractDetails",
    "contractDetailsEnd",
    "completedOrder",
    "completedOrdersEnd",
    "tickPrice",
    "tickSize",
    "tickString",
    "tickSnapshotEnd",
    "marketDataType",
    "currentTime",
    "pnl",
    "pnlSingle",
    "historicalData",
    "historicalDataEnd",
    "positionMulti",
    "positionMultiEnd",
]


class Recorder(EWrapper):  # type: ignore[misc]
    def __init__(self) -> None:
        super().__init__()
        self.calls: dict[str, list[tuple[Any, ...]]] = defaultdict(list)


def _recording(name: str) -> Callable[..., None]:
    def record(self: Recorder, *args: Any) -> None:
        self.calls[name].append(args)

    return record


for _name in CALLBACKS:
    setattr(Recorder, _name, _recording(_name))


class App(Recorder, EClient):  # type: ignore[misc]
    def __init__(self) -> None:
        Recorder.__init__(self)
        EClient.__init__(self, self)
        self.failure: BaseException | None = None

    def run_safely(self) -> None:
        try:
            self.run()
        except BaseException as exc:  # noqa: BLE001 - reported by the test, not swallowed
            self.failure = exc


def _stock(symbol: str) -> Contract:
    contract = Contract()
    contract.symbol, contract.secType = symbol, "STK"
    contract.exchange, contract.currency = "SMART", "USD"
    return contract


def _order(action: str, quantity: float, order_type: str, ref: str, limit: float = 0.0) -> Order:
    order = Order()
    order.action, order.totalQuantity, order.orderType = action, quantity, order_type
    order.orderRef = ref
    if limit:
        order.lmtPrice = limit
    return order


def _wait(app: App, condition: Callable[[], Any], what: str) -> None:
    deadline = time.monotonic() + 5
    while not condition():
        assert app.failure is None, f"reference client failed: {app.failure!r}"
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


@pytest.mark.parametrize("realism", [False, True], ids=["plain", "realism"])
def test_reference_client_decodes_everything(realism: bool) -> None:
    sim = IBSim.start_in_thread(port=0, admin_port=None, realism=realism)
    app = App()
    try:
        app.connect(HOST, sim.port, clientId=11)
        thread = threading.Thread(target=app.run_safely, daemon=True)
        thread.start()
        calls = app.calls
        _wait(app, lambda: calls["nextValidId"] and calls["managedAccounts"], "connect")
        assert app.serverVersion() == 157
        next_id = calls["nextValidId"][0][0]
        account = calls["managedAccounts"][0][0]

        app.reqPositions()
        app.reqAccountUpdates(True, account)
        app.reqAccountSummary(1, "All", "NetLiquidation,BuyingPower,$LEDGER:ALL")
        app.reqAccountUpdatesMulti(2, account, "", False)
        app.reqPnL(3, account, "")
        app.reqPnLSingle(4, account, "", 265598)
        app.placeOrder(next_id, _stock("AAPL"), _order("BUY", 10, "MKT", "ref-mkt"))
        app.placeOrder(next_id + 1, _stock("AAPL"), _order("BUY", 5, "LMT", "ref-lmt", 150.0))
        _wait(app, lambda: len(calls["commissionReport"]) == 1, "the fill")
        app.cancelOrder(next_id + 1)
        _wait(app, lambda: any(c[1] == 202 for c in calls["error"]), "the cancel")

        app.reqOpenOrders()
        app.reqCompletedOrders(False)
        app.reqExecutions(5, ExecutionFilter())
        app.reqContractDetails(6, _stock("BRK B"))
        app.reqContractDetails(7, _stock("NOPE"))
        app.reqMktData(8, _stock("MSFT"), "", True, False, [])
        app.reqCurrentTime()
        app.reqPositionsMulti(9, account, "")
        app.reqHistoricalData(10, _stock("AAPL"), "", "30 S", "5 secs", "TRADES", 0, 2, False, [])
        what_if = _order("BUY", 100, "LMT", "ref-what-if", 190.0)
        what_if.whatIf = True
        app.placeOrder(next_id + 2, _stock("AAPL"), what_if)
        _wait(app, lambda: calls["completedOrdersEnd"] and calls["tickSnapshotEnd"], "replies")
        _wait(app, lambda: calls["execDetailsEnd"] and calls["contractDetailsEnd"], "replies")
        _wait(app, lambda: calls["currentTime"] and calls["pnlSingle"], "replies")
        _wait(app, lambda: calls["positionMultiEnd"] and calls["historicalDataEnd"], "replies")
        _wait(app, lambda: any(c[2].whatIf for c in calls["openOrder"]), "the what-if answer")

        assert app.failure is None and app.isConnected()
        assert {c[2].orderRef for c in calls["openOrder"]} == {"ref-mkt", "ref-lmt", "ref-what-if"}
        [(_, _, _, margin)] = [c for c in calls["openOrder"] if c[2].whatIf]
        assert float(margin.initMarginChange) > 0
        statuses = {(c[0], c[1]) for c in calls["orderStatus"]}
        assert (next_id, "Filled") in statuses and (next_id + 1, "Cancelled") in statuses
        assert {c[2].orderRef for c in calls["execDetails"]} == {"ref-mkt"}
        assert calls["position"][-1][2] == 10
        assert any(c[0] == "NetLiquidation" for c in calls["updateAccountValue"])
        assert calls["updatePortfolio"][-1][1] == 10
        assert any(c[2] == "NetLiquidation" for c in calls["accountSummary"])
        assert calls["accountUpdateMultiEnd"]
        assert {c[1].orderRef for c in calls["completedOrder"]} == {"ref-mkt", "ref-lmt"}
        [details] = [c[1] for c in calls["contractDetails"] if c[0] == 6]
        assert details.contract.conId == 72063691 and details.contract.primaryExchange == "NYSE"
        assert any(c[0] == 7 and c[1] == 200 for c in calls["error"])
        assert {c[1] for c in calls["tickPrice"]} >= {1, 2, 4}
        assert calls["pnl"] and calls["pnlSingle"][-1][1] == 10
        assert calls["positionMulti"][-1][4] == 10
        assert len(calls["historicalData"]) == 6
    finally:
        app.disconnect()
        sim.stop()
