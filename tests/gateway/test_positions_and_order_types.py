"""The broker client against the gateway and ibsim (real ib_async, loopback, no mocks):
``position_in`` matched by conId, stop, stop-limit, trailing and FOK orders, and brackets
placed one leg at a time (entry, then children with parentId and an OCA group)."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import replace
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import pytest
import redis

from tests.gateway.support import IbStack
from tests.support import wait_for
from trading.brokers import ibkr_protocol as wire
from trading.brokers import port
from trading.brokers.port import Instrument, OrderRequest
from trading.errors import BrokerUnavailable, OrderRejected, TemporaryError

if TYPE_CHECKING:
    from ib_async import IB, Trade

# ibsim's catalogue: conIds of the contracts these tests trade.
CON_IDS = {"IBM": 8314, "QQQ": 320227571, "EURUSD": 12087792, "NVDA": 4815747}


def _sim_position(stack: IbStack, con_id: int) -> Decimal:
    rows = [p for p in stack.sim.get("/positions") if p["conId"] == con_id]
    return sum((Decimal(str(p["position"])) for p in rows), Decimal(0))


def _sim_order(stack: IbStack, reference: str) -> dict[str, Any]:
    [order] = stack.sim.orders(reference)
    return order


def _status(stack: IbStack, reference: str) -> str | None:
    order = stack.broker().order_by_reference(reference)
    return None if order is None else order.status


def _wait_status(stack: IbStack, reference: str, status: str) -> None:
    wait_for(
        lambda: _status(stack, reference) == status,
        timeout=10,
        message=f"{reference} to be {status}",
    )


@contextmanager
def _other_client(stack: IbStack, client_id: int) -> Iterator[IB]:
    """A second API client, as a user's TWS session or another program would be."""
    from ib_async import IB

    other = IB()
    other.connect("127.0.0.1", stack.sim.port, clientId=client_id, timeout=5)
    try:
        yield other
    finally:
        other.disconnect()


def _as_ib_sees_it(stack: IbStack, reference: str, client_id: int) -> Trade:
    """The order as IB reports it to another client (``reqAllOpenOrders``): the fields the
    gateway wrote into ``placeOrder``, echoed back by ibsim's ``openOrder``."""
    with _other_client(stack, client_id) as other:
        trades = other.reqAllOpenOrders()
    [trade] = [t for t in trades if (t.order.orderRef or "").split(":")[0] == reference]
    return trade


def _at_market(
    stack: IbStack, reference: str, symbol: str, side: port.Side, quantity: int
) -> port.BrokerOrder:
    """A market order, once filled (the placement answers with IB's first word, which may
    come before the fill)."""
    stack.broker().submit(
        OrderRequest(reference=reference, symbol=symbol, side=side, quantity=Decimal(quantity))
    )
    _wait_status(stack, reference, port.FILLED)
    filled = stack.broker().order_by_reference(reference)
    assert filled is not None
    return filled


def _limit(reference: str, symbol: str, side: port.Side, quantity: int, price: str) -> OrderRequest:
    return OrderRequest(
        reference=reference,
        symbol=symbol,
        side=side,
        quantity=Decimal(quantity),
        order_type="limit",
        limit_price=Decimal(price),
    )


# --- position_in ------------------------------------------------------------------------


def test_position_in_after_a_fill_equals_ibs_own_position(ib_gateway: IbStack) -> None:
    broker = ib_gateway.broker()
    _at_market(ib_gateway, "tvb.pi-ibm.entry", "IBM", "buy", 3)
    position = broker.position_in(Instrument("IBM", exchange="NYSE"))
    assert position.instrument_id == str(CON_IDS["IBM"])
    assert position.quantity == _sim_position(ib_gateway, CON_IDS["IBM"]) == 3
    assert position.working == ()
    # ibsim speaks server version 157, before IB sent a size increment: not known, not 0.
    assert position.quantity_increment is None
    # The portfolio IB streams for a held position carries its price: no market data asked.
    priced = wait_for(
        lambda: broker.position_in(Instrument("IBM")).last_price,
        timeout=5,
        message="IBM's price from the portfolio",
    )
    assert priced == Decimal("170")
    _at_market(ib_gateway, "tvb.pi-ibm.exit", "IBM", "sell", 5)
    short = broker.position_in(Instrument("IBM"))
    assert short.quantity == _sim_position(ib_gateway, CON_IDS["IBM"]) == -2


def test_position_in_is_zero_for_an_instrument_never_traded(ib_gateway: IbStack) -> None:
    broker = ib_gateway.broker()
    position = broker.position_in(Instrument("QQQ"))
    assert (position.instrument_id, position.quantity, position.working) == (
        str(CON_IDS["QQQ"]),
        Decimal(0),
        (),
    )
    assert position.last_price is None
    forex = broker.position_in(Instrument("EURUSD", exchange="FX"))
    assert (forex.instrument_id, forex.quantity) == (str(CON_IDS["EURUSD"]), Decimal(0))


def test_position_in_lists_our_resting_order_never_a_manual_one(ib_gateway: IbStack) -> None:
    from ib_async import LimitOrder, Stock

    broker = ib_gateway.broker()
    ours = broker.submit(_limit("tvb.pi-rest.entry", "NVDA", "buy", 4, "1.00"))
    assert ours.status == port.SUBMITTED
    ib_gateway.sim.post("/fills", {"orderRef": "tvb.pi-rest.entry", "quantity": 1})
    with _other_client(ib_gateway, 81) as manual:
        manual.placeOrder(
            Stock("NVDA", "SMART", "USD"), LimitOrder("BUY", 2, 1.0, orderRef="by-hand")
        )
        wait_for(
            lambda: ib_gateway.sim.get("/orders", orderRef="by-hand"),
            timeout=5,
            message="the manual order at ibsim",
        )
        # After a reconnect the gateway's book holds every open order of the account
        # (reqAllOpenOrders), the manual one included: it must still not count.
        before = ib_gateway.gateway_reconnects()
        ib_gateway.sim.fault("disconnect")
        wait_for(lambda: ib_gateway.gateway_reconnects() > before, timeout=20, message="reconnect")
        ib_gateway.wait_serving()
        assert ib_gateway.broker().health().detail["foreign_open_orders"] >= 1

        def partly_filled() -> port.InstrumentPosition | None:
            seen = broker.position_in(Instrument("NVDA"))
            return seen if seen.quantity == 1 else None

        position = wait_for(partly_filled, timeout=10, message="the partial fill")
        assert position.quantity == _sim_position(ib_gateway, CON_IDS["NVDA"])
        [working] = position.working
        assert working.reference == "tvb.pi-rest.entry"
        assert working.status == port.PARTIALLY_FILLED
        assert (working.remaining, working.signed_remaining) == (Decimal(3), Decimal(3))
        assert working.limit_price == Decimal("1")


def test_position_in_while_ib_is_down_is_an_error_never_zero(ib_gateway: IbStack) -> None:
    broker = ib_gateway.broker()
    _at_market(ib_gateway, "tvb.pi-down.entry", "IBM", "buy", 1)
    before = ib_gateway.gateway_reconnects()
    ib_gateway.sim.fault("disconnect", refuse_seconds=3)
    wait_for(lambda: not broker.health().connected, timeout=5, message="the gateway to be down")
    with pytest.raises(BrokerUnavailable):
        broker.position_in(Instrument("IBM"))
    wait_for(lambda: ib_gateway.gateway_reconnects() > before, timeout=20, message="reconnect")
    ib_gateway.wait_serving()
    assert broker.position_in(Instrument("IBM")).quantity == _sim_position(
        ib_gateway, CON_IDS["IBM"]
    )


def _gateway_holds_a_request(stack: IbStack) -> bool:
    client = redis.Redis.from_url(stack.env["REDIS_URL"])
    try:
        return bool(client.xpending(wire.REQUESTS_STREAM, wire.REQUESTS_GROUP)["pending"])
    finally:
        client.close()


def test_position_in_cut_short_by_a_disconnect_is_an_error(ib_gateway: IbStack) -> None:
    broker = ib_gateway.broker()
    broker.position_in(Instrument("IBM"))  # the contract is cached: only positions are asked
    before = ib_gateway.gateway_reconnects()
    ib_gateway.sim.fault("delay", seconds=3.0)
    with ThreadPoolExecutor(1) as pool:
        # One attempt, no retry: the answer to exactly this read is seen.
        answer = pool.submit(broker._call, wire.POSITION_IN, {"symbol": "IBM"})
        wait_for(lambda: _gateway_holds_a_request(ib_gateway), timeout=5, message="in flight")
        ib_gateway.sim.fault("disconnect")
        ib_gateway.sim.fault("clear")
        # Whether the gateway saw the socket break mid-read or first, the answer is an
        # error, never a position.
        with pytest.raises(TemporaryError, match=r"connection lost during|not connected"):
            result = answer.result(timeout=10)
            pytest.fail(f"a cut-short position read answered {result!r}")
    wait_for(lambda: ib_gateway.gateway_reconnects() > before, timeout=20, message="reconnect")
    ib_gateway.wait_serving()


def test_an_unknown_instrument_is_rejected_not_flat(ib_gateway: IbStack) -> None:
    # Terminal like an order rejection: no order can ever be placed for it.
    with pytest.raises(OrderRejected) as refused:
        ib_gateway.broker().position_in(Instrument("ZZZZ"))
    assert refused.value.code == 200 and "No security definition" in refused.value.reason
    with pytest.raises(OrderRejected, match="not supported"):
        ib_gateway.broker().position_in(Instrument("ES", sec_type="FUT"))


# --- order types ------------------------------------------------------------------------


def test_stop_order_rests_and_fills_when_the_price_crosses(ib_gateway: IbStack) -> None:
    broker = ib_gateway.broker()
    request = OrderRequest(
        reference="tvb.stp-1.entry",
        symbol="TSLA",
        side="buy",
        quantity=Decimal(2),
        order_type="stop",
        stop_price=Decimal("260"),
        time_in_force="gtc",
    )
    placed = broker.submit(request)
    assert placed.status == port.SUBMITTED
    assert (placed.order_type, placed.stop_price, placed.limit_price) == (
        "stop",
        Decimal("260"),
        None,
    )
    at_ib = _sim_order(ib_gateway, request.reference)
    assert (at_ib["orderType"], at_ib["auxPrice"], at_ib["tif"]) == ("STP", 260.0, "GTC")
    ib_gateway.sim.post("/prices", {"symbol": "TSLA", "price": 255.0})
    assert _sim_order(ib_gateway, request.reference)["status"] == "Submitted"
    ib_gateway.sim.post("/prices", {"symbol": "TSLA", "price": 261.0})
    _wait_status(ib_gateway, request.reference, port.FILLED)
    filled = broker.order_by_reference(request.reference)
    assert filled is not None and filled.avg_fill_price == Decimal("261")
    assert broker.position_in(Instrument("TSLA")).quantity == 2


def test_stop_limit_and_its_fields_reach_ib(ib_gateway: IbStack) -> None:
    broker = ib_gateway.broker()
    request = OrderRequest(
        reference="tvb.stl-1.entry",
        symbol="AMZN",
        side="buy",
        quantity=Decimal(1),
        order_type="stop_limit",
        stop_price=Decimal("190"),
        limit_price=Decimal("191"),
        outside_rth=True,
    )
    placed = broker.submit(request)
    assert (placed.order_type, placed.stop_price, placed.limit_price) == (
        "stop_limit",
        Decimal("190"),
        Decimal("191"),
    )
    at_ib = _sim_order(ib_gateway, request.reference)
    assert (at_ib["orderType"], at_ib["auxPrice"], at_ib["lmtPrice"]) == ("STP LMT", 190.0, 191.0)
    seen = _as_ib_sees_it(ib_gateway, request.reference, client_id=82)
    assert seen.order.outsideRth and seen.order.tif == "DAY"
    # Triggered at 192 but above its limit: it works on as a limit order.
    ib_gateway.sim.post("/prices", {"symbol": "AMZN", "price": 192.0})
    assert _sim_order(ib_gateway, request.reference)["status"] == "Submitted"
    ib_gateway.sim.post("/prices", {"symbol": "AMZN", "price": 190.5})
    _wait_status(ib_gateway, request.reference, port.FILLED)


def test_trailing_stop_ratchets_behind_the_market(ib_gateway: IbStack) -> None:
    broker = ib_gateway.broker()
    entry = _at_market(ib_gateway, "tvb.trl-1.entry", "JPM", "buy", 5)
    assert entry.avg_fill_price == Decimal("200")
    trail = OrderRequest(
        reference="tvb.trl-1.ts",
        symbol="JPM",
        side="sell",
        quantity=Decimal(5),
        order_type="trailing_stop",
        trail_amount=Decimal(2),
        time_in_force="gtc",
    )
    placed = broker.submit(trail)
    assert placed.order_type == "trailing_stop" and placed.status == port.SUBMITTED
    at_ib = _sim_order(ib_gateway, trail.reference)
    assert (at_ib["orderType"], at_ib["auxPrice"]) == ("TRAIL", 2.0)
    # The stop starts at 198; at 205 it has moved up to 203, so 204 does not touch it...
    for price in (205.0, 204.0):
        ib_gateway.sim.post("/prices", {"symbol": "JPM", "price": price})
    assert _sim_order(ib_gateway, trail.reference)["status"] == "Submitted"
    # ...and 202.5, far above where it started, does.
    ib_gateway.sim.post("/prices", {"symbol": "JPM", "price": 202.5})
    _wait_status(ib_gateway, trail.reference, port.FILLED)
    done = broker.order_by_reference(trail.reference)
    assert done is not None and done.avg_fill_price == Decimal("202.5")
    assert broker.position_in(Instrument("JPM")).quantity == 0 == _sim_position(ib_gateway, 1520593)


def test_trailing_percent_and_fok_reach_ib(ib_gateway: IbStack) -> None:
    broker = ib_gateway.broker()
    percent = OrderRequest(
        reference="tvb.trl-2.ts",
        symbol="JPM",
        side="buy",
        quantity=Decimal(1),
        order_type="trailing_stop",
        trail_percent=Decimal("1.5"),
        time_in_force="gtc",
    )
    broker.submit(percent)
    seen = _as_ib_sees_it(ib_gateway, percent.reference, client_id=83)
    assert (seen.order.orderType, seen.order.trailingPercent) == ("TRAIL", 1.5)
    assert seen.order.tif == "GTC"
    broker.cancel(percent.reference)
    killed = _limit("tvb.fok-1.entry", "JPM", "buy", 1, "1.00")
    broker.submit(replace(killed, time_in_force="fok"))
    assert _sim_order(ib_gateway, killed.reference)["tif"] == "FOK"
    _wait_status(ib_gateway, killed.reference, port.CANCELLED)


# --- brackets ---------------------------------------------------------------------------


def _bracket(
    key: str, symbol: str, entry: str, take_profit: str, stop_loss: str
) -> list[OrderRequest]:
    """Entry, take profit and stop loss as a worker places them: one request each."""
    parent = f"tvb.{key}.entry"
    group = f"tvb.{key}"
    return [
        _limit(parent, symbol, "buy", 10, entry),
        OrderRequest(
            reference=f"tvb.{key}.tp",
            symbol=symbol,
            side="sell",
            quantity=Decimal(10),
            order_type="limit",
            limit_price=Decimal(take_profit),
            time_in_force="gtc",
            parent_reference=parent,
            oca_group=group,
        ),
        OrderRequest(
            reference=f"tvb.{key}.sl",
            symbol=symbol,
            side="sell",
            quantity=Decimal(10),
            order_type="stop",
            stop_price=Decimal(stop_loss),
            time_in_force="gtc",
            parent_reference=parent,
            oca_group=group,
        ),
    ]


def test_bracket_children_wait_for_the_entry_and_cancel_each_other(ib_gateway: IbStack) -> None:
    broker = ib_gateway.broker()
    entry, take_profit, stop_loss = _bracket("br-1", "MSFT", "400", "420", "390")
    for request in (entry, take_profit, stop_loss):
        assert broker.submit(request).status == port.SUBMITTED
    parent = _sim_order(ib_gateway, entry.reference)
    for child in (take_profit, stop_loss):
        at_ib = _sim_order(ib_gateway, child.reference)
        assert at_ib["parentId"] == parent["orderId"] and at_ib["ocaGroup"] == "tvb.br-1"
        assert at_ib["transmit"] is True and at_ib["status"] == "PreSubmitted"
        assert at_ib["tif"] == "GTC"
    assert _sim_order(ib_gateway, stop_loss.reference)["orderType"] == "STP"
    seen = _as_ib_sees_it(ib_gateway, stop_loss.reference, client_id=84)
    assert (seen.order.ocaType, seen.order.parentId) == (1, parent["orderId"])
    position = broker.position_in(Instrument("MSFT"))
    assert {o.reference for o in position.working} == {
        entry.reference,
        take_profit.reference,
        stop_loss.reference,
    }
    assert position.quantity == 0

    ib_gateway.sim.post("/prices", {"symbol": "MSFT", "price": 399.0})
    _wait_status(ib_gateway, entry.reference, port.FILLED)
    wait_for(
        lambda: _sim_order(ib_gateway, take_profit.reference)["status"] == "Submitted",
        timeout=5,
        message="the exits to work once the entry filled",
    )
    assert broker.position_in(Instrument("MSFT")).quantity == 10

    ib_gateway.sim.post("/prices", {"symbol": "MSFT", "price": 421.0})
    _wait_status(ib_gateway, take_profit.reference, port.FILLED)
    _wait_status(ib_gateway, stop_loss.reference, port.CANCELLED)
    assert _sim_order(ib_gateway, stop_loss.reference)["status"] == "Cancelled"
    flat = broker.position_in(Instrument("MSFT"))
    assert flat.quantity == 0 == _sim_position(ib_gateway, 272093)
    assert flat.working == ()


def test_cancelling_the_entry_cancels_its_exits(ib_gateway: IbStack) -> None:
    broker = ib_gateway.broker()
    entry, take_profit, stop_loss = _bracket("br-2", "AMZN", "100", "300", "90")
    for request in (entry, take_profit, stop_loss):
        broker.submit(request)
    assert broker.cancel(entry.reference).status == port.CANCELLED
    for child in (take_profit, stop_loss):
        _wait_status(ib_gateway, child.reference, port.CANCELLED)
        assert _sim_order(ib_gateway, child.reference)["status"] == "Cancelled"
    assert broker.position_in(Instrument("AMZN")).working == ()


def test_exits_of_a_filled_entry_work_at_once_and_still_cancel_each_other(
    ib_gateway: IbStack,
) -> None:
    broker = ib_gateway.broker()
    entry = _at_market(ib_gateway, "tvb.br-3.entry", "SPY", "buy", 2)
    exits = [
        OrderRequest(
            reference="tvb.br-3.sl",
            symbol="SPY",
            side="sell",
            quantity=Decimal(2),
            order_type="stop",
            stop_price=Decimal("500"),
            parent_reference=entry.reference,
        ),
        OrderRequest(
            reference="tvb.br-3.tp",
            symbol="SPY",
            side="sell",
            quantity=Decimal(2),
            order_type="limit",
            limit_price=Decimal("530"),
            parent_reference=entry.reference,
        ),
    ]
    for request in exits:
        assert broker.submit(request).status == port.SUBMITTED
        at_ib = _sim_order(ib_gateway, request.reference)
        # Nothing left to wait for; without an OCA group of their own they share the entry's.
        assert at_ib["status"] == "Submitted" and at_ib["parentId"] == 0
        assert at_ib["ocaGroup"] == entry.reference
    ib_gateway.sim.post("/prices", {"symbol": "SPY", "price": 531.0})
    _wait_status(ib_gateway, "tvb.br-3.tp", port.FILLED)
    _wait_status(ib_gateway, "tvb.br-3.sl", port.CANCELLED)
    assert broker.position_in(Instrument("SPY")).quantity == 0


# --- refusals ---------------------------------------------------------------------------


def test_attached_exits_are_refused_by_name_and_nothing_is_sent(ib_gateway: IbStack) -> None:
    broker = ib_gateway.broker()
    assert not broker.capabilities.attached_exits
    assert broker.capabilities.order_types >= {"stop", "stop_limit", "trailing_stop"}
    request = OrderRequest(
        reference="tvb.att-1.entry",
        symbol="AAPL",
        side="buy",
        quantity=Decimal(1),
        take_profit_price=Decimal(200),
        stop_loss_price=Decimal(180),
    )
    with pytest.raises(OrderRejected, match="take_profit_price, stop_loss_price"):
        broker.submit(request)
    assert ib_gateway.placements(request.reference) == 0
    assert not ib_gateway.sim.orders(request.reference)


BOTH_TRAILS = {"trail_amount": Decimal(1), "trail_percent": Decimal(1)}


@pytest.mark.parametrize(
    ("key", "changes", "reason"),
    [
        ("stop", {"order_type": "stop"}, "needs stop_price"),
        ("stl", {"order_type": "stop_limit", "stop_price": Decimal(1)}, "needs limit_price"),
        ("trl", {"order_type": "trailing_stop"}, "exactly one of trail_amount and trail_percent"),
        ("trl2", {"order_type": "trailing_stop", **BOTH_TRAILS}, "exactly one of trail_amount"),
        ("rth", {"order_type": "market", "outside_rth": True}, "outside_rth is for limit"),
        ("lmt", {"order_type": "limit", "limit_price": 1, "stop_price": 2}, "stop_price does not"),
        ("stp", {"order_type": "stop", "stop_price": 1, "limit_price": 2}, "takes no limit_price"),
        ("mkt", {"limit_price": Decimal(2)}, "a market order takes no limit_price"),
        ("neg", {"order_type": "limit", "limit_price": Decimal(-1)}, "positive"),
        ("orphan", {"parent_reference": "tvb.never-placed.entry"}, "no parent order"),
    ],
)
def test_orders_ib_cannot_take_as_sent_are_refused(
    ib_gateway: IbStack, key: str, changes: dict[str, Any], reason: str
) -> None:
    reference = f"tvb.bad-{key}.entry"
    request = replace(
        OrderRequest(reference=reference, symbol="AAPL", side="buy", quantity=Decimal(1)),
        **changes,
    )
    with pytest.raises(OrderRejected, match=reason):
        ib_gateway.broker().submit(request)
    assert not ib_gateway.sim.orders(reference)


def test_an_exit_of_a_cancelled_entry_is_refused(ib_gateway: IbStack) -> None:
    broker = ib_gateway.broker()
    entry, take_profit, _ = _bracket("br-4", "NVDA", "1", "300", "0.5")
    broker.submit(entry)
    broker.cancel(entry.reference)
    with pytest.raises(OrderRejected, match="is cancelled"):
        broker.submit(take_profit)
    assert not ib_gateway.sim.orders(take_profit.reference)
