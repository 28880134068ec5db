"""``position_in`` and the order types through the OANDA adapter, against the stand-in:
stop entries, attached exits, and what OANDA has no order for, refused before sending."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from typing import Any

import httpx
import pytest

from tests.oanda.conftest import ACCOUNT, TOKEN
from tests.oanda.standin import OandaStandIn
from trading.brokers import port
from trading.brokers.oanda import OandaBroker
from trading.brokers.port import Instrument, OrderRequest
from trading.errors import OrderRejected, TemporaryError


def _market(reference: str, symbol: str, side: port.Side, units: str) -> OrderRequest:
    return OrderRequest(reference, symbol, side, Decimal(units))


def _limit(reference: str, symbol: str, side: port.Side, units: str, price: str) -> OrderRequest:
    return OrderRequest(
        reference, symbol, side, Decimal(units), order_type="limit", limit_price=Decimal(price)
    )


def _post_by_hand(standin: OandaStandIn, order: dict[str, Any]) -> None:
    """An order the user placed on OANDA's own platform: no tvbridge client id."""
    response = httpx.post(
        f"{standin.url}/v3/accounts/{ACCOUNT}/orders",
        json={"order": order},
        headers={"Authorization": f"Bearer {TOKEN}"},
        timeout=5,
    )
    assert response.status_code == 201, response.text


# --- position_in ------------------------------------------------------------------------


def test_position_in_nets_the_units_of_the_resolved_instrument(broker: OandaBroker) -> None:
    broker.submit(_market("tvb.pi1.entry", "EURUSD", "buy", "1000"))
    broker.submit(_market("tvb.pi1.exit", "FX:EURUSD", "sell", "250"))
    broker.submit(_market("tvb.pi2.entry", "GBPUSD", "sell", "300"))

    eur = broker.position_in(Instrument("OANDA:EUR/USD"))
    gbp = broker.position_in(Instrument("GBPUSD"))

    assert (eur.instrument_id, eur.quantity, eur.working) == ("EUR_USD", Decimal(750), ())
    assert (gbp.instrument_id, gbp.quantity) == ("GBP_USD", Decimal(-300))
    assert eur.quantity_increment == Decimal(1)


def test_position_in_never_traded_is_zero(broker: OandaBroker) -> None:
    position = broker.position_in(Instrument("SPX500USD"))
    assert (position.instrument_id, position.quantity, position.working) == (
        "SPX500_USD",
        Decimal(0),
        (),
    )
    # From the instrument's tradeUnitsPrecision.
    assert position.quantity_increment == Decimal("0.1")
    assert broker.position_in(Instrument("BTCUSD")).quantity_increment == Decimal("0.01")


def test_position_in_lists_our_pending_orders_only(
    broker: OandaBroker, standin: OandaStandIn
) -> None:
    broker.submit(_limit("tvb.w1.entry", "EURUSD", "buy", "500", "1.05"))
    broker.submit(_limit("tvb.w2.entry", "EURUSD", "sell", "200", "1.2"))
    broker.submit(_limit("tvb.w3.entry", "GBPUSD", "buy", "100", "1.2"))
    # A filled entry with exits attached: the exits close the trade, they add nothing.
    broker.submit(
        replace(_market("tvb.w4.entry", "EURUSD", "buy", "100"), stop_loss_price=Decimal("1"))
    )
    _post_by_hand(
        standin,
        {
            "type": "LIMIT",
            "instrument": "EUR_USD",
            "units": "700",
            "price": "1.01",
            "timeInForce": "GTC",
            "clientExtensions": {"id": "my-own-order"},
        },
    )
    _post_by_hand(
        standin,
        {
            "type": "LIMIT",
            "instrument": "EUR_USD",
            "units": "-50",
            "price": "1.3",
            "timeInForce": "GTC",
        },
    )

    position = broker.position_in(Instrument("EURUSD"))

    assert position.quantity == Decimal(100)
    by_reference = {o.reference: o for o in position.working}
    assert set(by_reference) == {"tvb.w1.entry", "tvb.w2.entry"}
    assert by_reference["tvb.w1.entry"].signed_remaining == Decimal(500)
    assert by_reference["tvb.w2.entry"].signed_remaining == Decimal(-200)
    assert by_reference["tvb.w2.entry"].limit_price == Decimal("1.2")


def test_position_in_that_cannot_be_read_raises_never_flat(
    broker: OandaBroker, standin: OandaStandIn
) -> None:
    broker.submit(_market("tvb.pf.entry", "EURUSD", "buy", "10"))
    # Reads are tried four times (three retries): each fault lasts for all of them.
    standin.fail("GET", r"/openPositions$", 503, times=4)
    with pytest.raises(TemporaryError):
        broker.position_in(Instrument("EURUSD"))
    # An answer without its positions is not "no positions".
    standin.fail("GET", r"/openPositions$", 200, {"lastTransactionID": "1"}, times=4)
    with pytest.raises(TemporaryError, match="lacks 'positions'"):
        broker.position_in(Instrument("EURUSD"))
    standin.fail("GET", r"/pendingOrders$", 502, times=4)
    with pytest.raises(TemporaryError):
        broker.position_in(Instrument("EURUSD"))
    assert broker.position_in(Instrument("EURUSD")).quantity == 10


def test_position_in_an_instrument_the_account_lacks_is_rejected(broker: OandaBroker) -> None:
    # Not "flat": no order can ever be placed for it.
    with pytest.raises(OrderRejected, match="offers no instrument"):
        broker.position_in(Instrument("NOPE"))


# --- order types ------------------------------------------------------------------------


def test_capabilities_say_exits_ride_on_the_entry(broker: OandaBroker) -> None:
    assert broker.capabilities.attached_exits
    assert broker.capabilities.order_types == {"market", "limit", "stop"}


def test_a_stop_entry_is_an_oanda_stop_order(broker: OandaBroker, standin: OandaStandIn) -> None:
    request = OrderRequest(
        "tvb.se1.entry",
        "XAUUSD",
        "buy",
        Decimal(2),
        order_type="stop",
        stop_price=Decimal("2400"),
        time_in_force="gtc",
        take_profit_price=Decimal("2500"),
    )
    placed = broker.submit(request)

    assert placed.status == port.SUBMITTED and placed.order_type == "stop"
    assert (placed.stop_price, placed.limit_price) == (Decimal("2400"), None)
    [post] = standin.order_posts()
    assert post.body is not None
    order = post.body["order"]
    assert (order["type"], order["price"], order["timeInForce"]) == ("STOP", "2400", "GTC")
    assert order["takeProfitOnFill"]["price"] == "2500"
    looked_up = broker.order_by_reference("tvb.se1.entry")
    assert looked_up is not None and looked_up.stop_price == Decimal("2400")
    standin.fill_resting("tvb.se1.entry", "2401")
    assert broker.position_in(Instrument("XAUUSD")).quantity == 2


def test_a_market_order_asked_ioc_is_sent_ioc(broker: OandaBroker, standin: OandaStandIn) -> None:
    broker.submit(replace(_market("tvb.ioc.entry", "EURUSD", "buy", "5"), time_in_force="ioc"))
    body = standin.order_posts()[0].body
    assert body is not None and body["order"]["timeInForce"] == "IOC"


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        (
            {"order_type": "stop_limit", "stop_price": Decimal("1.2"), "limit_price": Decimal(1)},
            "OANDA has no stop-limit order",
        ),
        (
            {"order_type": "trailing_stop", "trail_amount": Decimal("0.01")},
            "only as an exit attached to a trade",
        ),
        ({"parent_reference": "tvb.r.entry"}, "no child or OCA orders"),
        ({"oca_group": "tvb.r"}, "no child or OCA orders"),
        ({"trail_percent": Decimal(1)}, "belong to a trailing stop"),
        ({"stop_price": Decimal("1.2")}, "stop_price does not belong to a market order"),
        ({"limit_price": Decimal("1.2")}, "limit_price does not belong to a market order"),
        ({"order_type": "stop"}, "needs a positive stop_price"),
        (
            {"order_type": "limit", "limit_price": Decimal(1), "time_in_force": "fok"},
            "day or gtc",
        ),
    ],
)
def test_what_oanda_has_no_order_for_is_refused_before_sending(
    broker: OandaBroker, standin: OandaStandIn, changes: dict[str, Any], reason: str
) -> None:
    request = replace(_market("tvb.r.tp", "EURUSD", "sell", "10"), **changes)
    with pytest.raises(OrderRejected, match=reason):
        broker.submit(request)
    assert standin.order_posts() == []
