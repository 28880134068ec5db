"""The admin HTTP API, persistence across simulator restarts, and the command line."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

from ib_async import IB, LimitOrder, MarketOrder, Stock

from ibsim import IBSim, SimThread
from tests.ibsim.conftest import HOST, Admin, Clients, wait_until

AAPL = Stock("AAPL", "SMART", "USD")
ROOT = Path(__file__).resolve().parents[2]


def test_health_state_and_errors(admin: Admin) -> None:
    health = admin.get("/health")
    assert health["status"] == "ok" and health["server_version"] == 157
    state = admin.get("/state")
    assert set(state) >= {"orders", "positions", "executions", "accounts", "prices", "faults"}
    assert admin.request("GET", "/nowhere", expect=404)
    assert admin.request("POST", "/prices", {"symbol": "NOPE", "price": 1}, expect=404)
    assert admin.request("POST", "/faults", {"kind": "meteor"}, expect=400)
    assert admin.request("POST", "/config", {"colour": "red"}, expect=400)
    assert admin.request("POST", "/prices", [1, 2], expect=400)
    assert admin.request("GET", "/prices/", expect=200)
    assert admin.request("DELETE", "/orders", expect=405)


def test_prices_orders_positions_executions(ib: IB, admin: Admin) -> None:
    assert admin.post("/prices", {"symbol": "AAPL", "price": 191.0})["conId"] == 265598
    admin.post("/prices", {"prices": {"MSFT": 400.0, "EURUSD": 1.09}})
    assert admin.get("/prices")["EUR.USD"] == 1.09
    trade = ib.placeOrder(AAPL, MarketOrder("BUY", 3, orderRef="adm"))
    wait_until(lambda: trade.isDone(), ib=ib)
    [order] = admin.get("/orders?orderRef=adm")
    assert (order["status"], order["filled"], order["avgFillPrice"]) == ("Filled", 3, 191.0)
    [position] = admin.get("/positions")
    assert (position["symbol"], position["quantity"]) == ("AAPL", 3)
    [execution] = admin.get("/executions")
    assert execution["orderRef"] == "adm" and execution["commission"] == 1.0


def test_reset_and_new_day(ib: IB, admin: Admin) -> None:
    resting = ib.placeOrder(AAPL, LimitOrder("BUY", 1, 100.0))
    wait_until(lambda: resting.orderStatus.status == "Submitted", ib=ib)
    admin.post("/new_day")
    wait_until(lambda: resting.orderStatus.status == "Cancelled", ib=ib)
    admin.post("/reset")
    assert admin.get("/orders") == []


def test_state_survives_a_simulator_restart(tmp_path: Path) -> None:
    state = tmp_path / "var" / "ibsim.json"
    first = IBSim.start_in_thread(port=0, admin_port=None, state_file=state)
    ib = IB()
    try:
        ib.connect(HOST, first.port, clientId=4, timeout=5)
        trade = ib.placeOrder(AAPL, MarketOrder("BUY", 7, orderRef="persist"))
        resting = ib.placeOrder(AAPL, LimitOrder("SELL", 7, 250.0, orderRef="persist-tp"))
        wait_until(lambda: trade.isDone() and resting.orderStatus.status == "Submitted", ib=ib)
        last_id = resting.order.orderId
    finally:
        ib.disconnect()
        first.stop()
    second = IBSim.start_in_thread(port=0, admin_port=None, state_file=state)
    again = IB()
    try:
        again.connect(HOST, second.port, clientId=4, timeout=5)
        assert again.positions()[0].position == 7
        assert [t.order.orderRef for t in again.openTrades()] == ["persist-tp"]
        assert [f.execution.orderRef for f in again.fills()] == ["persist"]
        assert again.client.getReqId() > last_id
    finally:
        again.disconnect()
        second.stop()


def test_command_line_runs_and_stops_on_sigterm(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(
        [sys.executable, "-m", "ibsim", "--port", "0", "--admin-port", "0", "--log-level", "DEBUG"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        match = re.search(r"api port (\d+), admin port (\d+)", line)
        assert match, line
        api_port, admin_port = int(match[1]), int(match[2])
        assert Admin(admin_port).get("/health")["port"] == api_port
        ib = IB()
        ib.connect(HOST, api_port, clientId=9, timeout=5)
        ib.disconnect()
        process.send_signal(signal.SIGTERM)
        assert process.wait(10) == 0
        assert process.stderr is not None
        log = process.stderr.read()
        assert "<<< [9] 61,1" in log  # reqPositions, logged at debug level
        assert ">>> [9] 62,1" in log
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_two_accounts(clients: Clients) -> None:
    del clients
    runner = IBSim.start_in_thread(port=0, admin_port=None, accounts=("DU111", "DU222"))
    ib = IB()
    try:
        ib.connect(HOST, runner.port, clientId=1, timeout=5)
        assert ib.managedAccounts() == ["DU111", "DU222"]
        order = MarketOrder("BUY", 1, account="DU222")
        trade = ib.placeOrder(AAPL, order)
        wait_until(lambda: trade.isDone(), ib=ib)
        wait_until(lambda: ib.positions("DU222"), ib=ib)
        assert ib.positions("DU111") == []
        tags = {(v.account, v.tag) for v in ib.accountSummary()}
        assert ("DU111", "NetLiquidation") in tags and ("DU222", "NetLiquidation") in tags
    finally:
        ib.disconnect()
        runner.stop()


def test_in_process_controls(sim: SimThread, clients: Clients) -> None:
    ib = clients.connect(1)
    resting = ib.placeOrder(AAPL, LimitOrder("BUY", 2, 180.0, orderRef="inproc"))
    wait_until(lambda: resting.orderStatus.status in ("PreSubmitted", "Submitted"), ib=ib)
    sim.set_price("AAPL", 179.5)
    wait_until(lambda: resting.orderStatus.status == "Filled", ib=ib)
    assert sim.state()["orders"][0]["orderRef"] == "inproc"
    assert sim.fault("delay", seconds=0.01)["faults"]["delay_seconds"] == 0.01
    sim.fault("clear")
