"""Orders, positions and the account through the OANDA adapter, against the stand-in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from tests.oanda.conftest import ACCOUNT, TOKEN
from tests.oanda.standin import OandaStandIn
from trading.brokers import port
from trading.brokers.oanda import OandaBroker
from trading.brokers.port import OrderRequest
from trading.errors import BrokerUnavailable, NotCancellable, OrderNotFound, OrderRejected


def sent(standin: OandaStandIn, index: int = -1) -> dict[str, Any]:
    body = standin.order_posts()[index].body
    assert body is not None
    order: dict[str, Any] = body["order"]
    return order


def test_market_buy_fills_at_once(broker: OandaBroker, standin: OandaStandIn) -> None:
    seen = broker.submit(OrderRequest("tvb.m1.entry", "EURUSD", "buy", Decimal(1000)))

    assert seen.status == port.FILLED and seen.order_type == "market"
    assert seen.filled_quantity == 1000 and seen.avg_fill_price == Decimal("1.1")
    assert seen.symbol == "EUR_USD" and seen.reference == "tvb.m1.entry"
    assert len(seen.fills) == 1 and seen.fills[0].at.tzinfo is not None
    order = sent(standin)
    assert order == {
        "type": "MARKET",
        "instrument": "EUR_USD",
        "units": "1000",
        "positionFill": "DEFAULT",
        "timeInForce": "FOK",
        "clientExtensions": {"id": "tvb.m1.entry", "tag": "tvbridge"},
        "tradeClientExtensions": {"id": "tvb.m1.entry", "tag": "tvbridge"},
    }
    request = standin.order_posts()[0]
    assert request.authorization == f"Bearer {TOKEN}"
    assert request.path == f"/v3/accounts/{ACCOUNT}/orders"


def test_sell_units_are_negative(broker: OandaBroker, standin: OandaStandIn) -> None:
    seen = broker.submit(OrderRequest("tvb.s1.entry", "GBPUSD", "sell", Decimal(250)))
    assert sent(standin)["units"] == "-250"
    assert seen.side == "sell" and seen.filled_quantity == 250
    assert broker.positions()[0].quantity == -250


def test_every_request_asks_for_rfc3339_times(broker: OandaBroker, standin: OandaStandIn) -> None:
    broker.account_summary()
    broker.submit(OrderRequest("tvb.h1.entry", "EURUSD", "buy", Decimal(1)))
    assert standin.requests
    for request in standin.requests:
        assert request.headers["Accept-Datetime-Format"] == "RFC3339"
        assert request.authorization == f"Bearer {TOKEN}"


@pytest.mark.parametrize(("tif", "oanda_tif"), [("day", "GFD"), ("gtc", "GTC")])
def test_resting_limit_order(
    broker: OandaBroker, standin: OandaStandIn, tif: str, oanda_tif: str
) -> None:
    request = OrderRequest(
        "tvb.l1.entry",
        "EURUSD",
        "buy",
        Decimal(100),
        order_type="limit",
        limit_price=Decimal("1.05"),
        time_in_force=tif,  # type: ignore[arg-type]
    )
    seen = broker.submit(request)

    assert seen.status == port.SUBMITTED and seen.limit_price == Decimal("1.05")
    order = sent(standin)
    assert order["type"] == "LIMIT" and order["price"] == "1.05"
    assert order["timeInForce"] == oanda_tif and order["triggerCondition"] == "DEFAULT"
    assert [o.reference for o in broker.open_orders()] == ["tvb.l1.entry"]


def test_marketable_limit_fills(broker: OandaBroker) -> None:
    request = OrderRequest(
        "tvb.l2.entry",
        "EURUSD",
        "buy",
        Decimal(100),
        order_type="limit",
        limit_price=Decimal("1.2"),
    )
    assert broker.submit(request).status == port.FILLED


def test_limit_without_price_is_refused(broker: OandaBroker, standin: OandaStandIn) -> None:
    request = OrderRequest("tvb.l3.entry", "EURUSD", "buy", Decimal(1), order_type="limit")
    with pytest.raises(OrderRejected, match="needs a positive limit_price"):
        broker.submit(request)
    assert standin.order_posts() == []


def test_stop_order(broker: OandaBroker, standin: OandaStandIn) -> None:
    request = OrderRequest("tvb.st1.entry", "XAUUSD", "buy", Decimal(2), time_in_force="gtc")
    seen = broker.submit_stop(request, Decimal("2400"))

    assert seen.status == port.SUBMITTED and str(seen.order_type) == "stop"
    order = sent(standin)
    assert order["type"] == "STOP" and order["price"] == "2400"
    assert order["timeInForce"] == "GTC"
    looked_up = broker.order_by_reference("tvb.st1.entry")
    assert looked_up is not None and str(looked_up.order_type) == "stop"


def test_bracket_on_a_market_order(broker: OandaBroker, standin: OandaStandIn) -> None:
    request = OrderRequest(
        "tvb.b1.entry",
        "EURUSD",
        "buy",
        Decimal(1000),
        take_profit_price=Decimal("1.12"),
        stop_loss_price=Decimal("1.08"),
        trailing_stop_distance=Decimal("0.005"),
    )
    seen = broker.submit(request)

    assert seen.status == port.FILLED
    order = sent(standin)
    assert order["takeProfitOnFill"] == {
        "price": "1.12",
        "timeInForce": "GTC",
        "clientExtensions": {"id": "tvb.b1.entry.tp", "tag": "tvbridge"},
    }
    assert order["stopLossOnFill"]["price"] == "1.08"
    assert order["trailingStopLossOnFill"]["distance"] == "0.005"
    exits = sorted(o["type"] for o in standin.orders.values() if o["state"] == "PENDING")
    assert exits == ["STOP_LOSS", "TAKE_PROFIT", "TRAILING_STOP_LOSS"]
    # Exits belong to the trade and name no instrument: not entry orders of their own.
    assert broker.open_orders() == []


def test_bracket_on_a_limit_order(broker: OandaBroker, standin: OandaStandIn) -> None:
    request = OrderRequest(
        "tvb.b2.entry",
        "EURUSD",
        "sell",
        Decimal(10),
        order_type="limit",
        limit_price=Decimal("1.15"),
        stop_loss_price=Decimal("1.2"),
    )
    assert broker.submit(request).status == port.SUBMITTED
    assert sent(standin)["stopLossOnFill"]["price"] == "1.2"


def test_insufficient_margin_is_a_rejection_with_oanda_reason(
    broker: OandaBroker, standin: OandaStandIn
) -> None:
    seen = broker.submit(OrderRequest("tvb.big.entry", "EURUSD", "buy", Decimal(100_000_000)))

    assert seen.status == port.REJECTED
    assert seen.reason == "OANDA cancelled the order: INSUFFICIENT_MARGIN"
    looked_up = broker.order_by_reference("tvb.big.entry")
    assert looked_up is not None and looked_up.status == port.REJECTED
    assert looked_up.reason == seen.reason


def test_expired_alert_sends_nothing(broker: OandaBroker, standin: OandaStandIn) -> None:
    past = datetime.now(UTC) - timedelta(seconds=1)
    request = OrderRequest("tvb.old.entry", "EURUSD", "buy", Decimal(1), not_after=past)
    with pytest.raises(BrokerUnavailable, match="maximum age"):
        broker.submit(request)
    assert standin.order_posts() == []


def test_resubmitting_a_pending_reference_returns_that_order(
    broker: OandaBroker, standin: OandaStandIn
) -> None:
    request = OrderRequest(
        "tvb.dup.entry", "EURUSD", "buy", Decimal(5), order_type="limit", limit_price=Decimal("1")
    )
    first = broker.submit(request)
    again = broker.submit(request)
    assert again.broker_order_id == first.broker_order_id
    assert sum(1 for o in standin.orders.values() if o["state"] == "PENDING") == 1


def test_cancel(broker: OandaBroker, standin: OandaStandIn) -> None:
    request = OrderRequest(
        "tvb.c1.entry", "EURUSD", "buy", Decimal(5), order_type="limit", limit_price=Decimal("1")
    )
    broker.submit(request)

    cancelled = broker.cancel("tvb.c1.entry")

    assert cancelled.status == port.CANCELLED
    assert cancelled.reason == "OANDA cancelled the order: CLIENT_REQUEST"
    assert standin.requests_to("PUT", r"/orders/@tvb\.c1\.entry/cancel$")
    with pytest.raises(NotCancellable, match="already cancelled"):
        broker.cancel("tvb.c1.entry")
    with pytest.raises(OrderNotFound, match=r"no order with client id tvb\.none\.entry"):
        broker.cancel("tvb.none.entry")
    broker.submit(OrderRequest("tvb.c2.entry", "EURUSD", "buy", Decimal(5)))
    with pytest.raises(NotCancellable, match="already filled"):
        broker.cancel("tvb.c2.entry")


def test_order_by_reference_of_an_unknown_reference_is_none(broker: OandaBroker) -> None:
    assert broker.order_by_reference("tvb.never.entry") is None


@pytest.mark.parametrize(("side", "close_side"), [("buy", "sell"), ("sell", "buy")])
def test_close_position(
    broker: OandaBroker, standin: OandaStandIn, side: port.Side, close_side: str
) -> None:
    broker.submit(OrderRequest("tvb.p1.entry", "EURUSD", side, Decimal(300)))
    standin.prices["EUR_USD"] = Decimal("1.2")

    closed = broker.close_position("EUR/USD", "tvb.p1.close")

    assert [(o.side, o.quantity, o.status) for o in closed] == [
        (close_side, Decimal(300), port.FILLED)
    ]
    assert closed[0].reference == "tvb.p1.close"
    put = standin.requests_to("PUT", r"/positions/EUR_USD/close$")[0]
    wanted = "longUnits" if side == "buy" else "shortUnits"
    assert put.body is not None and put.body[wanted] == "ALL"
    assert broker.positions() == []
    summary = broker.account_summary()
    expected = Decimal(30) if side == "buy" else Decimal(-30)
    assert summary.realized_pnl == expected and summary.total_cash_value == 100000 + expected


def test_closing_a_flat_position_sends_nothing(broker: OandaBroker, standin: OandaStandIn) -> None:
    assert broker.close_position("EURUSD") == []
    assert standin.requests_to("PUT", r"/close$") == []


def test_positions_mapping(broker: OandaBroker, standin: OandaStandIn) -> None:
    broker.submit(OrderRequest("tvb.q1.entry", "EURUSD", "buy", Decimal(1000)))
    broker.submit(OrderRequest("tvb.q2.entry", "EURUSD", "buy", Decimal(1000)))
    standin.prices["EUR_USD"] = Decimal("1.11")
    broker.submit(OrderRequest("tvb.q3.entry", "SPX500USD", "sell", Decimal("2.5")))

    eur, spx = broker.positions()

    assert (eur.symbol, eur.quantity) == ("EUR_USD", Decimal(2000))
    assert eur.avg_price == Decimal("1.1") and eur.unrealized_pnl == Decimal(20)
    assert eur.extra["long_units"] == 2000 and eur.extra["short_units"] == 0
    assert (spx.symbol, spx.quantity, spx.avg_price) == (
        "SPX500_USD",
        Decimal("-2.5"),
        Decimal(5000),
    )


def test_account_summary_mapping(broker: OandaBroker, standin: OandaStandIn) -> None:
    broker.submit(OrderRequest("tvb.a1.entry", "EURUSD", "buy", Decimal(10000)))
    standin.prices["EUR_USD"] = Decimal("1.105")

    summary = broker.account_summary()

    account = standin._summary()
    assert summary.total_cash_value == Decimal(account["balance"]) == 100000
    assert summary.net_liquidation == Decimal(account["NAV"]) == Decimal("100050")
    assert summary.unrealized_pnl == Decimal(50)
    assert summary.gross_position_value == Decimal(account["positionValue"]) == Decimal("11050")
    assert summary.realized_pnl == 0 and summary.currency == "USD"
    # marginAvailable / marginRate: the notional the free margin could still open.
    margin_available = Decimal(account["marginAvailable"])
    assert summary.buying_power == (margin_available / Decimal("0.02")).quantize(Decimal("0.01"))
    assert set(summary.as_contract()) >= {
        "TotalCashValue",
        "NetLiquidation",
        "BuyingPower",
        "GrossPositionValue",
        "UnrealizedPnL",
        "RealizedPnL",
    }


def test_health(broker: OandaBroker) -> None:
    health = broker.health()
    assert health.connected and health.tradeable
    assert health.latency_ms is not None and health.latency_ms < 1000
    assert health.detail["broker"] == "oanda" and health.detail["currency"] == "USD"


def test_capabilities(broker: OandaBroker) -> None:
    assert broker.capabilities.order_types == {"market", "limit", "stop"}
    assert broker.capabilities.fractional_quantities
