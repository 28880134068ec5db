"""Pure parts of the gateway: TradingView symbols → IB contracts, ib_async trades → the
RPC's order dicts (with IB's ``:<n>`` reference suffix), error codes, pacing."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from ib_async import CommissionReport, Execution, Fill, LimitOrder, OrderStatus, Stock, Trade

from broker_gateway import codes
from broker_gateway.contracts import ContractQuery, ContractRefused, build_contract
from broker_gateway.convert import trade_to_wire
from broker_gateway.pacing import Pacer
from trading.brokers import ibkr_protocol as wire


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (ContractQuery("AAPL", "NASDAQ"), ("STK", "AAPL", "SMART", "USD", "NASDAQ")),
        (ContractQuery("SPY", "NYSEARCA"), ("STK", "SPY", "SMART", "USD", "ARCA")),
        (ContractQuery("BRK.B", "NYSE"), ("STK", "BRK B", "SMART", "USD", "NYSE")),
        (ContractQuery("IBM"), ("STK", "IBM", "SMART", "USD", "")),
        (ContractQuery("EURUSD"), ("CASH", "EUR", "IDEALPRO", "USD", "")),
        (ContractQuery("EURUSD", "FX"), ("CASH", "EUR", "IDEALPRO", "USD", "")),
        (ContractQuery("EUR/USD"), ("CASH", "EUR", "IDEALPRO", "USD", "")),
        (ContractQuery("SHOP", "TSE", currency="CAD"), ("STK", "SHOP", "TSE", "CAD", "")),
        (ContractQuery("GBPUSD", sec_type="CASH"), ("CASH", "GBP", "IDEALPRO", "USD", "")),
    ],
)
def test_symbols_map_to_ib_contracts(query: ContractQuery, expected: tuple[str, ...]) -> None:
    contract = build_contract(query)
    got = (
        contract.secType,
        contract.symbol,
        contract.exchange,
        contract.currency,
        contract.primaryExchange,
    )
    assert got == expected


def test_unsupported_security_type_is_refused_with_a_reason() -> None:
    with pytest.raises(ContractRefused, match="not supported"):
        build_contract(ContractQuery("ES1!", sec_type="FUT"))


def _filled_trade(order_ref: str) -> Trade:
    contract = Stock("AAPL", "SMART", "USD", conId=265598)
    order = LimitOrder("BUY", 5, 190.5, orderRef=order_ref, orderId=12, permId=99, clientId=1)
    status = OrderStatus(orderId=12, status="Filled", filled=5, remaining=0, avgFillPrice=190.5)
    at = datetime(2026, 1, 2, 15, 30, tzinfo=UTC)
    execution = Execution(
        execId="e1", time=at, shares=5, price=190.5, permId=99, orderRef=order_ref, side="BOT"
    )
    fill = Fill(contract, execution, CommissionReport(execId="e1", commission=1.0), at)
    return Trade(contract, order, status, [fill], [])


def test_g8_reference_with_ibs_suffix_maps_to_our_reference() -> None:
    data = trade_to_wire(_filled_trade("tvb.alert-9.entry:3"))
    assert data["reference"] == "tvb.alert-9.entry"
    order = wire.order_from_wire(data)
    assert (order.status, order.filled_quantity, order.side) == ("filled", Decimal(5), "buy")
    assert order.fills[0].fill_id == "e1" and order.fills[0].commission == 1
    assert order.perm_id == "99" and order.broker_order_id == "12"


def test_rejected_order_carries_ibs_code() -> None:
    trade = _filled_trade("tvb.r.entry")
    trade.fills.clear()
    trade.orderStatus = OrderStatus(orderId=12, status="Cancelled")
    from ib_async.order import TradeLogEntry

    trade.log.append(TradeLogEntry(datetime.now(UTC), "Cancelled", "margin", 201))
    data = trade_to_wire(trade)
    assert data["status"] == "rejected" and "201" in data["reason"]


def test_error_code_sets_do_not_overlap() -> None:
    assert not codes.WARNINGS & codes.ORDER_REJECTED
    assert not codes.CONNECTIVITY_LOST & codes.CONNECTIVITY_RESTORED_DATA_KEPT
    assert 1101 in codes.CONNECTIVITY_RESTORED_DATA_LOST and 326 in codes.CLIENT_ID_IN_USE


def test_pacer_queues_a_burst_instead_of_dropping_it() -> None:
    async def burst() -> float:
        pacer = Pacer(rate=20)
        started = time.monotonic()
        await asyncio.gather(*(pacer.acquire() for _ in range(30)))
        return time.monotonic() - started

    elapsed = asyncio.run(burst())
    # 20 at once, then the other 10 at 20/s: never faster than IB's rate, all of them served.
    assert elapsed >= 0.4


@pytest.mark.soak
def test_pacer_serves_a_burst_at_its_rate_not_slower() -> None:
    """Timing-bound: on a loaded machine the upper bound can fail for no fault of ours."""

    async def burst() -> float:
        pacer = Pacer(rate=20)
        started = time.monotonic()
        await asyncio.gather(*(pacer.acquire() for _ in range(30)))
        return time.monotonic() - started

    assert asyncio.run(burst()) < 1.5
