"""Planning, table-driven: (position, working orders) by alert → the plan, stage by stage."""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trading.alerts.model import Alert, PriceSpec, StopLoss
from trading.brokers.port import Capabilities
from trading.errors import OrderRejected
from trading.planning import (
    OrderRules,
    PlannedLeg,
    PositionView,
    decide,
    legs_toward,
    settled_target,
)

CAPS = Capabilities(
    order_types=frozenset({"market", "limit", "stop", "stop_limit", "trailing_stop"}),
    fractional_quantities=False,
    short_selling=True,
    asset_classes=frozenset({"STK"}),
)
ATTACHED = Capabilities(
    order_types=frozenset({"market", "limit", "stop"}),
    fractional_quantities=True,
    short_selling=True,
    asset_classes=frozenset({"CASH"}),
    attached_exits=True,
)
RULES = OrderRules()


def view(
    position: str = "0", working: str = "0", cancellable: tuple[str, ...] = ()
) -> PositionView:
    return PositionView("AAPL", D(position), D(working), cancellable, price=D("100"))


def alert(action: str = "buy", quantity: str | None = None, **extra: object) -> Alert:
    return Alert(
        symbol="AAPL",
        action=action,  # type: ignore[arg-type]
        quantity=None if quantity is None else D(quantity),
        price=D("100"),
        **extra,  # type: ignore[arg-type]
    )


def run(
    a: Alert, v: PositionView, after_cancel: PositionView | None = None
) -> list[tuple[str, str, str]]:
    """Plan ``a`` on ``v``; the legs as (leg, side, quantity), close legs before open legs."""
    decision = decide(a, v, RULES)
    if decision.kind == "nothing":
        return []
    placed_from = after_cancel or v
    before = v.effective
    target = decision.target
    if target is None:
        target = settled_target(a, placed_from, before=before)
    legs = legs_toward(a, placed_from, target, capabilities=CAPS, rules=RULES)
    return [(leg.leg, leg.side, str(leg.quantity)) for leg in (*legs.now, *legs.then_open)]


@pytest.mark.parametrize(
    ("position", "working", "a", "legs"),
    [
        # buy/sell add to the position, with the alert's quantity or the default size
        ("0", "0", alert("buy", "3"), [("entry", "buy", "3")]),
        ("5", "0", alert("buy", "3"), [("entry", "buy", "3")]),
        ("0", "0", alert("buy"), [("entry", "buy", "1")]),
        ("0", "0", alert("sell", "2"), [("entry", "sell", "2")]),
        # a sell larger than the long: close, then open the rest short
        ("5", "0", alert("sell", "8"), [("close", "sell", "5"), ("open", "sell", "3")]),
        ("5", "0", alert("sell", "2"), [("close", "sell", "2")]),
        # targets: the plan is the difference, working orders counted as on their way
        ("0", "0", alert("buy", "3", target_position=D(3)), [("entry", "buy", "3")]),
        ("3", "0", alert("buy", "3", target_position=D(3)), []),
        ("0", "3", alert("buy", "3", target_position=D(3)), []),
        ("2", "0", alert("buy", "3", target_position=D(5)), [("entry", "buy", "3")]),
        ("5", "0", alert("sell", "3", target_position=D(2)), [("close", "sell", "3")]),
        ("5", "0", alert("sell", "5", target_position=D(0)), [("close", "sell", "5")]),
        (
            "5",
            "0",
            alert("sell", "8", target_position=D(-3)),
            [("close", "sell", "5"), ("open", "sell", "3")],
        ),
        ("-4", "0", alert("buy", target_side="buy"), [("close", "buy", "4"), ("open", "buy", "1")]),
        ("0", "0", alert("sell", "2", target_side="sell"), [("entry", "sell", "2")]),
        ("-2", "0", alert("sell", "2", target_side="sell"), []),
        # close: flat, never short; partial with a quantity; a no-op when flat
        ("5", "0", alert("close"), [("close", "sell", "5")]),
        ("-5", "0", alert("close"), [("close", "buy", "5")]),
        ("5", "0", alert("close", "2"), [("close", "sell", "2")]),
        ("5", "0", alert("close", "9"), [("close", "sell", "5")]),
        ("0", "0", alert("close"), []),
        # reverse: the same size on the other side (or the alert's size)
        ("5", "0", alert("reverse"), [("close", "sell", "5"), ("open", "sell", "5")]),
        ("-5", "0", alert("reverse", "2"), [("close", "buy", "5"), ("open", "buy", "2")]),
        ("0", "0", alert("reverse"), []),
    ],
)
def test_each_action_plans_the_difference(
    position: str, working: str, a: Alert, legs: list[tuple[str, str, str]]
) -> None:
    assert run(a, view(position, working)) == legs


def test_close_cancels_our_working_orders_first_and_plans_from_the_position_read_after() -> None:
    before = view("5", "2", cancellable=("tvb.a.entry", "tvb.b.sl"))
    decision = decide(alert("close"), before, RULES)
    assert decision.kind == "close" and decision.cancel == ("tvb.a.entry", "tvb.b.sl")
    # The resting buy for 2 was cancelled; its stop had meanwhile sold 1.
    assert run(alert("close"), before, after_cancel=view("4")) == [("close", "sell", "4")]


def test_a_growing_target_cancels_nothing_and_a_reducing_one_cancels_first() -> None:
    working = view("2", "0", cancellable=("tvb.a.sl",))
    assert decide(alert("buy", target_position=D(5)), working, RULES).cancel == ()
    assert decide(alert("sell", target_position=D(1)), working, RULES).cancel == ("tvb.a.sl",)


def test_a_reversal_whose_position_a_stop_closed_meanwhile_only_opens() -> None:
    before = view("5", cancellable=("tvb.a.sl",))
    assert run(alert("reverse"), before, after_cancel=view("0")) == [("entry", "sell", "5")]


def test_cancel_with_nothing_working_is_a_recorded_no_op() -> None:
    decision = decide(alert("cancel"), view("3"), RULES)
    assert decision.kind == "nothing" and "no working orders" in (decision.reason or "")


def test_sizing_required_refuses_an_alert_without_quantity() -> None:
    rules = OrderRules(sizing_required=True)
    with pytest.raises(OrderRejected, match="quantity"):
        decide(alert("buy"), view(), rules)


def test_fractional_shares_are_refused_where_the_broker_takes_whole_shares() -> None:
    with pytest.raises(OrderRejected, match=r"fractional|whole"):
        run(alert("buy", "1.5"), view())


def bracket_legs(
    a: Alert, caps: Capabilities = CAPS
) -> tuple[tuple[PlannedLeg, ...], dict[str, str]]:
    target = decide(a, view(), RULES).target
    assert target is not None
    legs = legs_toward(a, view(), target, capabilities=caps, rules=RULES)
    return legs.now, legs.attached


def test_bracket_from_offsets_and_percents_has_oca_children_of_the_entry() -> None:
    a = alert(
        "buy",
        "10",
        take_profit=PriceSpec(offset=D("5")),
        stop_loss=StopLoss(trigger=PriceSpec(percent=D("2"))),
    )
    legs, attached = bracket_legs(a)
    entry, tp, sl = legs
    assert (entry.leg, entry.side, entry.order_type) == ("entry", "buy", "market")
    assert (tp.leg, tp.side, tp.order_type, tp.limit_price) == ("tp", "sell", "limit", D("105"))
    assert (sl.leg, sl.side, sl.order_type, sl.stop_price) == ("sl", "sell", "stop", D("98"))
    assert tp.parent_leg == sl.parent_leg == "entry" and tp.oca and sl.oca
    assert attached == {}


def test_trailing_and_stop_limit_stop_losses() -> None:
    trailing, _ = bracket_legs(
        alert("sell", "1", stop_loss=StopLoss(kind="trailing_stop", trail_percent=D("1.5")))
    )
    assert (trailing[1].order_type, trailing[1].side, trailing[1].trail_percent) == (
        "trailing_stop",
        "buy",
        D("1.5"),
    )
    stop_limit, _ = bracket_legs(
        alert(
            "buy",
            "1",
            stop_loss=StopLoss(
                kind="stop_limit", trigger=PriceSpec(price=D("95")), limit=PriceSpec(price=D("94"))
            ),
        )
    )
    assert (stop_limit[1].order_type, stop_limit[1].stop_price, stop_limit[1].limit_price) == (
        "stop_limit",
        D("95"),
        D("94"),
    )


def test_exits_ride_on_the_entry_where_the_broker_attaches_them() -> None:
    a = alert(
        "buy",
        "1000",
        take_profit=PriceSpec(price=D("101")),
        stop_loss=StopLoss(trigger=PriceSpec(price=D("99"))),
    )
    legs, attached = bracket_legs(a, ATTACHED)
    assert [leg.leg for leg in legs] == ["entry"]
    assert attached == {"take_profit_price": "101", "stop_loss_price": "99"}


def test_an_exit_on_the_wrong_side_of_the_entry_is_refused() -> None:
    with pytest.raises(OrderRejected, match="take_profit 95 must be above"):
        bracket_legs(alert("buy", "1", take_profit=PriceSpec(price=D("95"))))


def test_market_outside_regular_hours_is_refused_or_sent_as_marketable_limit() -> None:
    a = alert("buy", "1", outside_rth=True)
    with pytest.raises(OrderRejected, match="outside regular hours"):
        run(a, view())
    rules = OrderRules(market_outside_rth="limit", marketable_limit_percent=D("1"))
    target = decide(a, view(), rules).target
    assert target is not None
    (leg,) = legs_toward(a, view(), target, capabilities=CAPS, rules=rules).now
    assert (leg.order_type, leg.limit_price, leg.outside_rth) == ("limit", D("101"), True)


def test_a_strategy_close_never_takes_the_account_past_flat() -> None:
    strategy = PositionView("AAPL", D(5), broker_position=D(3), price=D(100))
    assert run(alert("close", strategy="s1"), strategy) == [("close", "sell", "3")]
    sold_by_hand = PositionView("AAPL", D(5), broker_position=D(0), price=D(100))
    assert run(alert("close", strategy="s1"), sold_by_hand) == []


# --- properties ------------------------------------------------------------------------

positions = st.integers(min_value=-50, max_value=50).map(D)
sizes = st.integers(min_value=1, max_value=50).map(D)


def _end(position: D, legs: list[tuple[str, str, str]]) -> D:
    for _, side, quantity in legs:
        position += D(quantity) if side == "buy" else -D(quantity)
    return position


@given(position=positions, target=positions)
def test_a_target_applied_twice_yields_no_second_order(position: D, target: D) -> None:
    a = alert("buy", target_position=target)
    first = run(a, view(str(position)))
    assert _end(position, first) == target
    assert run(a, view(str(_end(position, first)))) == []


@given(position=positions, size=st.none() | sizes)
def test_a_close_never_ends_short_of_a_long_nor_long_of_a_short(
    position: D, size: D | None
) -> None:
    end = _end(
        position, run(alert("close", None if size is None else str(size)), view(str(position)))
    )
    assert end == 0 or (end > 0) == (position > 0)
    assert abs(end) <= abs(position)


@given(position=positions, stop_filled=st.booleans())
def test_a_reversal_never_ends_doubled(position: D, stop_filled: bool) -> None:
    before = view(str(position), cancellable=("tvb.x.sl",))
    # A stop that fills while the cancels run leaves the position flat.
    after = view("0") if stop_filled else view(str(position))
    end = _end(after.effective, run(alert("reverse"), before, after_cancel=after))
    assert abs(end) == abs(position)
    assert position == 0 or (end > 0) != (position > 0)


def test_protect_replaces_the_exits_of_the_position_held() -> None:
    held = PositionView(
        "AAPL", D(4), cancellable=("tvb.a.sl", "tvb.a.tp", "tvb.b.entry"), price=D(100)
    )
    a = alert(
        "protect",
        take_profit=PriceSpec(price=D("120")),
        stop_loss=StopLoss(trigger=PriceSpec(offset=D("3"))),
    )
    decision = decide(a, held, RULES)
    # Only the old exits go; a resting entry of ours stays.
    assert (decision.kind, decision.cancel) == ("protect", ("tvb.a.sl", "tvb.a.tp"))
    from trading.planning import protective_legs

    tp, sl = protective_legs(a, view("4"), capabilities=CAPS).now
    assert (tp.leg, tp.side, tp.quantity, tp.limit_price, tp.parent_leg, tp.oca) == (
        "tp",
        "sell",
        D(4),
        D("120"),
        None,
        True,
    )
    assert (sl.leg, sl.order_type, sl.stop_price) == ("sl", "stop", D("97"))
    assert decide(a, view("0"), RULES).kind == "nothing"
    with pytest.raises(OrderRejected, match="attaches exits"):
        protective_legs(a, view("4"), capabilities=ATTACHED)


def test_a_strategy_whose_position_drifted_is_corrected_or_reported() -> None:
    # "order buy @ 1 filled ... New strategy position is 3": the strategy held 2 before.
    sentence = alert("buy", "1", target_position=D(3))
    corrected = decide(sentence, view("0"), RULES)
    assert (corrected.target, corrected.drift) == (D(3), D(2))
    assert corrected.detail["drift"]["policy"] == "correct"
    reported = decide(sentence, view("0"), OrderRules(correct_drift=False))
    assert (reported.target, reported.drift) == (D(1), D(2))
    agreed = decide(sentence, view("2"), RULES)
    assert (agreed.target, agreed.drift) == (D(3), None)
