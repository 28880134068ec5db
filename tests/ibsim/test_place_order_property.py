"""Property test: whatever ib_async encodes into placeOrder, the simulator decodes in full."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st
from ib_async import Contract, Order, TagValue
from ib_async.order import PriceCondition, TimeCondition, VolumeCondition

from ibsim.place_order import decode_place_order
from tests.ibsim.test_place_order_golden import client_bytes, client_text

text = st.text(st.characters(blacklist_characters="\0", blacklist_categories=["Cs"]), max_size=12)
prices = st.one_of(st.just(1.7976931348623157e308), st.floats(0.01, 1e6, allow_nan=False))
order_types = st.sampled_from(
    ["MKT", "LMT", "STP", "STP LMT", "TRAIL", "PEG BENCH", "PEG MID", "PEG BEST", "VOL", "REL"]
)
conditions = st.lists(
    st.one_of(
        st.builds(PriceCondition, price=st.floats(1, 1000), conId=st.integers(1, 10**6)),
        st.builds(TimeCondition, time=st.just("20261126 15:00:00 UTC")),
        st.builds(VolumeCondition, volume=st.integers(0, 10**6), exch=st.just("SMART")),
    ),
    max_size=3,
)
tag_values = st.lists(st.builds(TagValue, text, text), max_size=3)


@st.composite
def orders(draw: st.DrawFn) -> Order:
    order = Order(
        action=draw(st.sampled_from(["BUY", "SELL"])),
        totalQuantity=draw(st.floats(0.001, 1e6)),
        orderType=draw(order_types),
        lmtPrice=draw(prices),
        auxPrice=draw(prices),
        tif=draw(st.sampled_from(["", "DAY", "GTC", "IOC"])),
        orderRef=draw(text),
        ocaGroup=draw(text),
        parentId=draw(st.integers(0, 10**6)),
        transmit=draw(st.booleans()),
        outsideRth=draw(st.booleans()),
        deltaNeutralOrderType=draw(st.sampled_from(["", "LMT"])),
        scalePriceIncrement=draw(st.one_of(st.just(1.7976931348623157e308), st.floats(0.01, 5))),
        hedgeType=draw(st.sampled_from(["", "D", "B"])),
        algoStrategy=draw(st.sampled_from(["", "Adaptive", "Vwap"])),
        algoParams=draw(tag_values),
        conditions=draw(conditions),
        competeAgainstBestOffset=draw(st.one_of(st.just(math.inf), st.floats(0, 1))),
        cashQty=draw(prices),
    )
    order.orderMiscOptions = draw(tag_values)
    return order


@st.composite
def contracts(draw: st.DrawFn) -> Contract:
    return Contract(
        conId=draw(st.integers(0, 10**9)),
        symbol=draw(text),
        secType=draw(st.sampled_from(["STK", "FUT", "CASH", "CRYPTO", "OPT"])),
        exchange=draw(st.sampled_from(["SMART", "IBKRATS", "CME", "IDEALPRO"])),
        currency="USD",
        localSymbol=draw(text),
    )


@settings(max_examples=150, deadline=None)
@given(
    version=st.sampled_from([157, 158, 160, 162, 163, 166, 169, 170, 176, 177, 178]),
    contract=contracts(),
    order=orders(),
)
def test_any_order_decodes_completely(version: int, contract: Contract, order: Order) -> None:
    fields = client_bytes(version, 7, contract, order)
    ticket = decode_place_order(fields, version)
    assert ticket.extra_fields == []
    for name in ("orderRef", "ocaGroup", "action", "orderType", "tif", "algoStrategy"):
        assert ticket.order[name] == client_text(getattr(order, name)), name
    assert ticket.algo_params == (
        [(p.tag, p.value) for p in order.algoParams] if order.algoStrategy else []
    )
    assert len(ticket.conditions) == len(order.conditions)
