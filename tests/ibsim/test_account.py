"""Positions, account values and summary, portfolio, PnL, executions and commissions."""

from __future__ import annotations

import pytest
from ib_async import IB, AccountValue, ExecutionFilter, LimitOrder, MarketOrder, Stock

from tests.ibsim.conftest import Admin, Clients, wait_until

AAPL = Stock("AAPL", "SMART", "USD")
MSFT = Stock("MSFT", "SMART", "USD")
ACCOUNT = "DU1234567"


def _buy(ib: IB, contract: Stock, quantity: float, ref: str = "") -> None:
    trade = ib.placeOrder(contract, MarketOrder("BUY", quantity, orderRef=ref))
    wait_until(lambda: trade.isDone(), ib=ib)


def test_positions_portfolio_and_average_cost(ib: IB, admin: Admin) -> None:
    _buy(ib, AAPL, 100)
    admin.post("/prices", {"symbol": "AAPL", "price": 200.0})
    _buy(ib, AAPL, 100)
    wait_until(lambda: ib.positions() and ib.positions()[0].position == 200, ib=ib)
    position = ib.positions()[0]
    assert position.account == ACCOUNT
    assert position.avgCost == pytest.approx((190 * 100 + 200 * 100 + 2.0) / 200)
    item = wait_until(lambda: ib.portfolio() and ib.portfolio()[0].position == 200, ib=ib)
    item = ib.portfolio()[0]
    assert item.marketPrice == 200.0
    assert item.contract.primaryExchange == "NASDAQ"
    assert admin.get("/positions")[0]["quantity"] == 200


def test_selling_realizes_pnl_in_the_commission_report(ib: IB, admin: Admin) -> None:
    _buy(ib, AAPL, 10)
    admin.post("/prices", {"symbol": "AAPL", "price": 195.0})
    trade = ib.placeOrder(AAPL, MarketOrder("SELL", 10))
    wait_until(lambda: trade.fills and trade.fills[0].commissionReport.execId, ib=ib)
    realized = trade.fills[0].commissionReport.realizedPNL
    assert realized == pytest.approx((195.0 - 190.0) * 10 - 2.0)
    wait_until(lambda: not ib.positions() or ib.positions()[0].position == 0, ib=ib)


def test_account_values_and_summary_with_ledger(ib: IB) -> None:
    _buy(ib, AAPL, 100)

    def cash_values() -> dict[str, AccountValue]:
        return {v.tag: v for v in ib.accountValues() if v.currency in ("USD", "")}

    # Account values follow a fill a few milliseconds later, batched, as IB's do.
    expected_cash = 1_000_000 - 19_000 - 1.0
    wait_until(
        lambda: (
            float(cash_values()["TotalCashValue"].value) == expected_cash
            and float(cash_values()["GrossPositionValue"].value) > 0
        ),
        ib=ib,
    )
    values = cash_values()
    assert float(values["GrossPositionValue"].value) == pytest.approx(19_000)
    summary = {(v.tag, v.currency): v.value for v in ib.accountSummary(ACCOUNT)}
    for tag in ("NetLiquidation", "TotalCashValue", "BuyingPower", "GrossPositionValue"):
        assert (tag, "USD") in summary
    assert ("CashBalance", "BASE") in summary  # from $LEDGER:ALL
    assert ("CashBalance", "USD") in summary
    assert summary[("AccountType", "")] == "INDIVIDUAL"


def test_daily_pnl_and_single_pnl(ib: IB, admin: Admin) -> None:
    _buy(ib, AAPL, 100)
    pnl = ib.reqPnL(ACCOUNT)
    aapl = ib.qualifyContracts(AAPL)[0]
    single = ib.reqPnLSingle(ACCOUNT, "", aapl.conId)
    admin.post("/prices", {"symbol": "AAPL", "price": 192.0})
    wait_until(lambda: pnl.unrealizedPnL == pytest.approx(199.0), ib=ib)
    assert pnl.dailyPnL == pytest.approx(199.0)
    wait_until(lambda: single.position == 100 and single.value == pytest.approx(19_200), ib=ib)
    assert single.dailyPnL == pytest.approx(199.0)
    ib.cancelPnL(ACCOUNT)


def test_executions_are_filtered_and_carry_commissions(clients: Clients) -> None:
    first = clients.connect(1)
    second = clients.connect(2)
    _buy(first, AAPL, 1, "one")
    _buy(second, MSFT, 2, "two")
    everything = first.reqExecutions()
    assert {f.execution.orderRef for f in everything} == {"one", "two"}
    # ib_async attaches commission reports to the fills it keeps, not to the reply's copies.
    assert {f.execution.orderRef for f in first.fills() if f.commissionReport.commission} == {
        "one",
        "two",
    }
    mine = first.reqExecutions(ExecutionFilter(clientId=2))
    assert [f.execution.orderRef for f in mine] == ["two"]
    by_symbol = first.reqExecutions(ExecutionFilter(symbol="AAPL", side="BUY"))
    assert [f.contract.symbol for f in by_symbol] == ["AAPL"]
    assert first.reqExecutions(ExecutionFilter(side="SELL")) == []


def test_open_orders_and_completed_orders(clients: Clients) -> None:
    first = clients.connect(1)
    resting = first.placeOrder(AAPL, LimitOrder("BUY", 1, 100.0, orderRef="rest"))
    _buy(first, AAPL, 1, "done")
    wait_until(lambda: resting.orderStatus.status == "Submitted", ib=first)
    second = clients.connect(2)
    assert second.reqOpenOrders() == []
    all_open = second.reqAllOpenOrders()
    assert [t.order.orderRef for t in all_open] == ["rest"]
    completed = second.reqCompletedOrders(apiOnly=True)
    assert [t.order.orderRef for t in completed] == ["done"]
    assert completed[0].orderStatus.status == "Filled"
    assert completed[0].order.filledQuantity == 1
