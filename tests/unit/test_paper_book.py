"""The paper broker's pure parts: trigger predicates, trailing stops and request checks."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trading.brokers import port
from trading.brokers.paper_book import Trail, limit_crosses, stop_crossed, trail
from trading.brokers.paper_requests import new_order, refusal, to_port

D = Decimal


@pytest.mark.parametrize(
    ("side", "stop", "price", "crossed"),
    [
        ("buy", "105", "104.99", False),
        ("buy", "105", "105", True),
        ("buy", "105", "110", True),
        ("sell", "95", "95.01", False),
        ("sell", "95", "95", True),
        ("sell", "95", "90", True),
    ],
)
def test_a_stop_triggers_when_the_price_trades_through_it(
    side: str, stop: str, price: str, crossed: bool
) -> None:
    assert stop_crossed(side, D(stop), D(price)) is crossed


def test_stops_and_limits_trigger_on_opposite_sides() -> None:
    # A buy limit wants a lower price, a buy stop a higher one.
    assert limit_crosses("buy", D(100), D(99)) and not stop_crossed("buy", D(100), D(99))
    assert limit_crosses("sell", D(100), D(101)) and not stop_crossed("sell", D(100), D(101))


def test_sell_trail_follows_the_high_by_an_amount() -> None:
    state = trail("sell", None, D(100), D(5), None)
    assert state == Trail(D(100), D(95))
    state = trail("sell", state, D(104), D(5), None)
    assert state == Trail(D(104), D(99))
    assert trail("sell", state, D(101), D(5), None) == state


def test_buy_trail_follows_the_low_by_a_percentage() -> None:
    state = trail("buy", None, D(200), None, D("2.5"))
    assert state == Trail(D(200), D(205))
    state = trail("buy", state, D(180), None, D("2.5"))
    assert state == Trail(D(180), D("184.5"))
    assert trail("buy", state, D(190), None, D("2.5")) == state


@pytest.mark.parametrize(("amount", "percent"), [(None, None), (D(1), D(1))])
def test_trail_needs_exactly_one_distance(amount: Decimal | None, percent: Decimal | None) -> None:
    with pytest.raises(ValueError, match="not both"):
        trail("sell", None, D(100), amount, percent)


@given(
    side=st.sampled_from(["buy", "sell"]),
    prices=st.lists(st.decimals(min_value=1, max_value=1000, places=2), min_size=1, max_size=30),
    amount=st.decimals(min_value=D("0.01"), max_value=50, places=2),
)
def test_a_trailing_stop_never_moves_against_its_holder(
    side: str, prices: list[Decimal], amount: Decimal
) -> None:
    state: Trail | None = None
    for price in prices:
        moved = trail(side, state, price, amount, None)
        if state is not None:
            assert moved.stop >= state.stop if side == "sell" else moved.stop <= state.stop
        state = moved
    assert state is not None
    best = max(prices) if side == "sell" else min(prices)
    assert state.extreme == best
    assert state.stop == (best - amount if side == "sell" else best + amount)


def _request(**fields: Any) -> port.OrderRequest:
    return port.OrderRequest(
        reference="tvb.k.entry", symbol="AAPL", side="buy", quantity=D(1), **fields
    )


@pytest.mark.parametrize(
    "fields",
    [
        {},
        {"order_type": "limit", "limit_price": D(1)},
        {"order_type": "stop", "stop_price": D(1)},
        {"order_type": "stop_limit", "stop_price": D(1), "limit_price": D(1)},
        {"order_type": "trailing_stop", "trail_amount": D(1)},
        {"order_type": "trailing_stop", "trail_percent": D("0.5"), "time_in_force": "gtc"},
        {"time_in_force": "fok", "outside_rth": True, "parent_reference": "tvb.k.parent"},
    ],
)
def test_well_formed_requests_are_taken(fields: dict[str, Any]) -> None:
    assert refusal(_request(**fields)) is None


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        (
            {"take_profit_price": D(1), "stop_loss_price": D(1)},
            "take_profit_price, stop_loss_price",
        ),
        ({"order_type": "iceberg"}, "order type 'iceberg'"),
        ({"time_in_force": "gtd"}, "time in force 'gtd'"),
        ({"quantity": D("NaN")}, "quantity must be positive"),
        ({"reference_price": D(0)}, "reference_price must be positive"),
        ({"order_type": "limit", "limit_price": D("Infinity")}, "limit_price must be positive"),
        ({"order_type": "limit", "trail_amount": D(1), "limit_price": D(1)}, "takes no trail"),
        ({"parent_reference": "tvb.k.entry"}, "its own parent"),
    ],
)
def test_malformed_requests_are_refused(fields: dict[str, Any], words: str) -> None:
    request = port.OrderRequest(
        **{"reference": "tvb.k.entry", "symbol": "AAPL", "side": "buy", "quantity": D(1), **fields}
    )
    assert words in (refusal(request) or "")


def test_the_booked_row_keeps_every_field_and_upper_cases_the_symbol() -> None:
    from datetime import UTC, datetime

    request = port.OrderRequest(
        reference="tvb.k.sl",
        symbol="eur/usd",
        side="sell",
        quantity=D(2),
        order_type="stop_limit",
        stop_price=D(95),
        limit_price=D(94),
        time_in_force="gtc",
        outside_rth=True,
        parent_reference="tvb.k.entry",
        oca_group="k",
    )
    row = new_order(request, datetime.now(UTC))
    assert (row.symbol, row.status, row.triggered) == ("EUR/USD", port.SUBMITTED, False)
    assert (row.time_in_force, row.outside_rth, row.parent_reference, row.oca_group) == (
        "gtc",
        True,
        "tvb.k.entry",
        "k",
    )
    row.id = 7
    reported = to_port(row)
    assert (reported.order_type, reported.stop_price, reported.limit_price) == (
        "stop_limit",
        D(95),
        D(94),
    )
    assert reported.broker_order_id == "P7" and reported.fills == ()
