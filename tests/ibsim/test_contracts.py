"""Contract qualification, continuous futures and market data snapshots."""

from __future__ import annotations

import datetime as dt

import pytest
from ib_async import IB, ContFuture, Contract, Crypto, Forex, Future, Index, Stock

from tests.ibsim.conftest import Admin, Clients, wait_until


@pytest.mark.parametrize(
    ("contract", "con_id", "primary"),
    [
        (Stock("AAPL", "SMART", "USD"), 265598, "NASDAQ"),
        (Stock("BRK B", "SMART", "USD"), 72063691, "NYSE"),
        (Stock("SPY", "SMART", "USD", primaryExchange="ARCA"), 756733, "ARCA"),
        (Forex("EURUSD"), 12087792, ""),
        (Crypto("BTC", "PAXOS", "USD"), 479624278, ""),
        (Index("SPX", "CBOE"), 416904, ""),
    ],
)
def test_qualify(ib: IB, contract: Contract, con_id: int, primary: str) -> None:
    [qualified] = ib.qualifyContracts(contract)
    assert qualified.conId == con_id
    assert qualified.primaryExchange == primary


def test_forex_details(ib: IB) -> None:
    [details] = ib.reqContractDetails(Forex("GBPUSD"))
    assert details.contract.secType == "CASH"
    assert details.contract.exchange == "IDEALPRO"
    assert details.contract.localSymbol == "GBP.USD"
    assert details.minTick == 0.00005


def test_unknown_contract_gives_200_and_none(ib: IB, clients: Clients) -> None:
    assert ib.qualifyContracts(Stock("ZZZZ", "SMART", "USD")) == [None]
    assert 200 in [code for _, code, _ in clients.errors[1]]


def test_futures_months_and_continuous_front_month(ib: IB) -> None:
    details = ib.reqContractDetails(Future("ES", exchange="CME"))
    months = [d.contract.lastTradeDateOrContractMonth for d in details]
    assert months == sorted(months) and len(months) == 4
    assert all(d.contract.localSymbol[2] in "HMUZ" for d in details)
    assert all(d.contract.multiplier == "50" for d in details)
    [front] = ib.qualifyContracts(ContFuture("ES", "CME"))
    assert front.secType == "CONTFUT"
    assert front.conId == details[0].contract.conId
    assert front.lastTradeDateOrContractMonth >= dt.date.today().strftime("%Y%m%d")
    [crude] = ib.qualifyContracts(ContFuture("CL", "NYMEX"))
    assert crude.multiplier == "1000"
    month = Future("ES", details[1].contract.lastTradeDateOrContractMonth[:6], "CME")
    assert ib.qualifyContracts(month)[0].conId == details[1].contract.conId


def test_market_data_snapshot(ib: IB, admin: Admin) -> None:
    admin.post("/prices", {"symbol": "MSFT", "price": 411.25})
    [ticker] = ib.reqTickers(*ib.qualifyContracts(Stock("MSFT", "SMART", "USD")))
    assert ticker.last == 411.25
    assert ticker.bid == 411.24
    assert ticker.ask == 411.26


def test_streaming_market_data_follows_prices(ib: IB, admin: Admin) -> None:
    [eur] = ib.qualifyContracts(Forex("EURUSD"))
    ticker = ib.reqMktData(eur)
    wait_until(lambda: ticker.bid == 1.08495, ib=ib)
    admin.post("/prices", {"symbol": "EURUSD", "price": 1.0875})
    wait_until(lambda: ticker.ask == 1.08755, ib=ib)
    ib.cancelMktData(eur)


def test_historical_bars_for_liveness_probes(ib: IB) -> None:
    bars = ib.reqHistoricalData(
        Forex("EURUSD"), "", "30 S", "5 secs", "MIDPOINT", useRTH=False, formatDate=2
    )
    assert bars and bars[-1].close == 1.085


def test_delayed_market_data_uses_delayed_tick_types(ib: IB) -> None:
    ib.reqMarketDataType(3)
    [ticker] = ib.reqTickers(*ib.qualifyContracts(Stock("IBM", "SMART", "USD")))
    assert ticker.marketDataType == 3
    assert ticker.last == 170.0 and ticker.bid == 169.99
