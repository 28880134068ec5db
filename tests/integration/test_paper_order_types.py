"""The paper broker's order types, times in force and brackets, on real ledgers.

Every test drives prices through ``observe_price`` (or an order's reference price) and
reads the outcome back from the broker and from our ledger's own order rows.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from tests.support import migrate, sqlite_url
from trading.brokers import port
from trading.brokers.paper import PaperBroker
from trading.errors import NotCancellable, OrderRejected
from trading.ledger.db import Database, get_database
from trading.ledger.models import (
    OrderEventRecord,
    OrderRecord,
    OrderStatus,
    PaperOrder,
    PaperSubmission,
)

D = Decimal
CASH = D(100000)
TAKE_PROFIT = D(110)


def broker(database: Database, cash: Decimal = CASH) -> PaperBroker:
    return PaperBroker(database, cash)


def request(reference: str, side: port.Side = "buy", **fields: Any) -> port.OrderRequest:
    fields.setdefault("symbol", "AAPL")
    fields.setdefault("quantity", D(1))
    return port.OrderRequest(reference=f"tvb.{reference}", side=side, **fields)


def observe(paper: PaperBroker, price: str | int, symbol: str = "AAPL") -> dict[str, str]:
    """The orders a price changed: reference → status."""
    return {o.reference: o.status for o in paper.observe_price(symbol, D(price))}


def seen(paper: PaperBroker, reference: str) -> port.BrokerOrder:
    found = paper.order_by_reference(f"tvb.{reference}")
    assert found is not None
    return found


def held(paper: PaperBroker, symbol: str = "AAPL") -> Decimal:
    return paper.position_in(port.Instrument(symbol)).quantity


def paper_row(database: Database, reference: str) -> PaperOrder:
    with database.read() as session:
        row = session.scalars(
            select(PaperOrder).where(PaperOrder.reference == f"tvb.{reference}")
        ).one()
        session.expunge(row)
        return row


def ledger_row(database: Database, reference: str, side: str, order_type: str) -> None:
    """Our own ledger's row for an order, as processing creates it before placing."""
    now = datetime.now(UTC)
    with database.write() as session:
        session.add(
            OrderRecord(
                leg=reference.rsplit(".", 1)[-1],
                broker="paper",
                order_ref=f"tvb.{reference}",
                symbol="AAPL",
                side=side,
                quantity=D(1),
                order_type=order_type,
                status=OrderStatus.SUBMITTED,
                filled_quantity=D(0),
                created_at=now,
                updated_at=now,
            )
        )


def ledger_view(database: Database, reference: str) -> tuple[str, Decimal | None, int, str | None]:
    """Our ledger's status, average fill price, number of fills and reason of an order."""
    with database.read() as session:
        row = session.scalars(
            select(OrderRecord).where(OrderRecord.order_ref == f"tvb.{reference}")
        ).one()
        return row.status, row.avg_fill_price, len(row.fills), row.reason


def bracket(
    paper: PaperBroker,
    name: str,
    entry: dict[str, Any],
    exit_stop: dict[str, Any] | None = None,
    take_profit: Decimal = TAKE_PROFIT,
) -> None:
    """A long entry and its two exits: a take-profit limit and a protective stop, one OCA
    group, both children of the entry."""
    paper.submit(request(f"{name}.entry", "buy", **entry))
    family = {"parent_reference": f"tvb.{name}.entry", "oca_group": f"{name}-exits"}
    paper.submit(
        request(f"{name}.tp", "sell", order_type="limit", limit_price=take_profit, **family)
    )
    stop = exit_stop or {"order_type": "stop", "stop_price": D(95)}
    paper.submit(request(f"{name}.sl", "sell", **stop, **family))


# --- capabilities and refusals -----------------------------------------------------------


def test_capabilities_name_every_order_type_and_no_attached_exits() -> None:
    capabilities = PaperBroker.capabilities
    assert capabilities.order_types == {"market", "limit", "stop", "stop_limit", "trailing_stop"}
    assert capabilities.attached_exits is False


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("take_profit_price", D(110)),
        ("stop_loss_price", D(95)),
        ("trailing_stop_distance", D(2)),
    ],
)
def test_attached_exits_are_refused_by_name_never_dropped(
    sqlite_database: Database, field: str, value: Decimal
) -> None:
    paper = broker(sqlite_database)
    with pytest.raises(OrderRejected) as refused:
        attached: dict[str, Any] = {field: value}
        paper.submit(request("att.entry", reference_price=D(100), **attached))
    assert field in refused.value.reason
    assert "send the exits as child orders" in refused.value.reason
    assert paper.order_by_reference("tvb.att.entry") is None
    assert held(paper) == 0
    with sqlite_database.read() as session:  # the request reached the broker all the same
        assert session.scalar(select(func.count()).select_from(PaperSubmission)) == 1


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({"order_type": "stop"}, "needs stop_price"),
        ({"order_type": "stop_limit", "stop_price": D(95)}, "needs limit_price"),
        ({"order_type": "limit"}, "needs limit_price"),
        ({"order_type": "stop", "stop_price": D(95), "limit_price": D(94)}, "takes no limit"),
        ({"order_type": "market", "stop_price": D(95)}, "takes no stop_price"),
        ({"order_type": "trailing_stop"}, "one of trail_amount and trail_percent"),
        (
            {"order_type": "trailing_stop", "trail_amount": D(1), "trail_percent": D(1)},
            "one of trail_amount and trail_percent",
        ),
        ({"order_type": "trailing_stop", "trail_percent": D(100)}, "below 100"),
        ({"order_type": "limit", "limit_price": D(-1)}, "must be positive"),
        ({"quantity": D(0)}, "quantity must be positive"),
        ({"parent_reference": "tvb.nobody.entry"}, "parent order tvb.nobody.entry not found"),
    ],
)
def test_requests_the_broker_would_misread_are_refused(
    sqlite_database: Database, fields: dict[str, Any], words: str
) -> None:
    paper = broker(sqlite_database)
    with pytest.raises(OrderRejected, match=words):
        paper.submit(request("bad.entry", "sell", reference_price=D(100), **fields))
    assert paper.open_orders() == []


def test_resubmitting_a_reference_returns_the_order_and_is_recorded(database: Database) -> None:
    paper = broker(database)
    stop = request("dup.entry", order_type="stop", stop_price=D(105), reference_price=D(100))
    first = paper.submit(stop)
    again = paper.submit(stop)
    assert again == first and first.status == port.SUBMITTED
    assert first.order_type == "stop" and first.stop_price == D(105)
    with database.read() as session:
        assert session.scalar(select(func.count()).select_from(PaperSubmission)) == 2
        assert session.scalar(select(func.count()).select_from(PaperOrder)) == 1


# --- market and limit --------------------------------------------------------------------


def test_market_fills_at_the_reference_price_else_the_last_else_is_rejected(
    database: Database,
) -> None:
    paper = broker(database)
    assert paper.submit(request("m1.entry", reference_price=D(100))).avg_fill_price == D(100)
    observe(paper, 101)
    assert paper.submit(request("m2.entry")).avg_fill_price == D(101)
    unknown = paper.submit(request("m3.entry", symbol="ZZZ"))
    assert unknown.status == port.REJECTED and "no price known for ZZZ" in (unknown.reason or "")


@pytest.mark.parametrize(
    ("side", "limit", "away", "through"),
    [("buy", "99", "99.5", "99"), ("sell", "101", "100.5", "101")],
)
def test_limit_rests_until_a_price_crosses_it(
    database: Database, side: port.Side, limit: str, away: str, through: str
) -> None:
    paper = broker(database)
    paper.submit(request("mm.entry", reference_price=D(100), quantity=D(5)))  # something to sell
    paper.submit(request("lim.entry", side, order_type="limit", limit_price=D(limit)))
    assert observe(paper, away) == {}
    assert observe(paper, through) == {"tvb.lim.entry": port.FILLED}
    assert seen(paper, "lim.entry").avg_fill_price == D(through)


# --- stops -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("side", "stop", "short_of", "at", "gap"),
    [("buy", "105", "104.99", "105", "107"), ("sell", "95", "95.01", "95", "93")],
)
def test_stop_triggers_only_when_a_price_trades_through_it(
    database: Database, side: port.Side, stop: str, short_of: str, at: str, gap: str
) -> None:
    paper = broker(database)
    paper.submit(request("own.entry", reference_price=D(100), quantity=D(5)))
    for name, through in (("st1", at), ("st2", gap)):
        observe(paper, 100)
        placed = paper.submit(request(f"{name}.x", side, order_type="stop", stop_price=D(stop)))
        assert placed.status == port.SUBMITTED and placed.stop_price == D(stop)
        assert observe(paper, short_of) == {}
        assert observe(paper, through) == {f"tvb.{name}.x": port.FILLED}
        # Filled as a market order: at the price that traded through, gap or not.
        assert seen(paper, f"{name}.x").avg_fill_price == D(through)
        assert paper_row(database, f"{name}.x").triggered


@pytest.mark.parametrize(("side", "stop", "last"), [("buy", "105", "110"), ("sell", "95", "90")])
def test_a_stop_already_crossed_when_placed_triggers_at_once(
    database: Database, side: port.Side, stop: str, last: str
) -> None:
    paper = broker(database)
    paper.submit(request("own.entry", reference_price=D(100), quantity=D(5)))
    observe(paper, last)
    placed = paper.submit(request("late.x", side, order_type="stop", stop_price=D(stop)))
    assert (placed.status, placed.avg_fill_price) == (port.FILLED, D(last))


def test_sell_stop_limit_triggers_then_rests_as_a_limit(database: Database) -> None:
    paper = broker(database)
    paper.submit(request("own.entry", reference_price=D(100), quantity=D(2)))
    stop_limit = {"order_type": "stop_limit", "stop_price": D(95), "limit_price": D(94)}
    paper.submit(request("sl.x", "sell", **stop_limit))
    assert observe(paper, "95.5") == {}
    assert not paper_row(database, "sl.x").triggered
    # Triggered at 93, but a sell limit at 94 cannot fill at 93: it rests as a limit.
    assert observe(paper, 93) == {"tvb.sl.x": port.SUBMITTED}
    assert paper_row(database, "sl.x").triggered
    assert observe(paper, "93.5") == {}
    # No longer a stop: a rise back above the trigger fills it as the limit it now is.
    assert observe(paper, 96) == {"tvb.sl.x": port.FILLED}
    assert seen(paper, "sl.x").avg_fill_price == D(96)


def test_stop_limit_that_triggers_with_its_limit_crossed_fills_at_once(
    database: Database,
) -> None:
    paper = broker(database)
    paper.submit(request("slb.x", order_type="stop_limit", stop_price=D(105), limit_price=D(106)))
    assert observe(paper, 104) == {}
    assert observe(paper, "105.5") == {"tvb.slb.x": port.FILLED}
    order = seen(paper, "slb.x")
    assert (order.avg_fill_price, order.stop_price, order.limit_price) == (
        D("105.5"),
        D(105),
        D(106),
    )


def test_buy_stop_limit_triggered_above_its_limit_rests(database: Database) -> None:
    paper = broker(database)
    paper.submit(request("slc.x", order_type="stop_limit", stop_price=D(105), limit_price=D(106)))
    assert observe(paper, 108) == {"tvb.slc.x": port.SUBMITTED}
    assert observe(paper, 107) == {}
    assert observe(paper, 106) == {"tvb.slc.x": port.FILLED}


# --- trailing stops ----------------------------------------------------------------------


def test_sell_trailing_stop_ratchets_up_never_down_and_fills_at_its_stop(
    database: Database,
) -> None:
    paper = broker(database)
    paper.submit(request("own.entry", reference_price=D(100)))
    paper.submit(request("tr.x", "sell", order_type="trailing_stop", trail_amount=D(5)))
    path = [("103", "98"), ("101", "98"), ("108", "103"), ("104", "103"), ("103.5", "103")]
    for price, stop in path:
        observe(paper, price)
        order = seen(paper, "tr.x")
        assert (order.status, order.stop_price) == (port.SUBMITTED, D(stop)), price
    assert paper_row(database, "tr.x").trail_extreme == D(108)
    assert observe(paper, 103) == {"tvb.tr.x": port.FILLED}
    assert seen(paper, "tr.x").avg_fill_price == D(103)
    assert held(paper) == 0


def test_buy_trailing_stop_by_percent_follows_the_low(database: Database) -> None:
    paper = broker(database)
    observe(paper, 100)
    paper.submit(request("trp.x", "buy", order_type="trailing_stop", trail_percent=D(10)))
    assert seen(paper, "trp.x").stop_price == D(110)
    for price, stop in (("90", "99"), ("95", "99"), ("80", "88"), ("87.9", "88")):
        observe(paper, price)
        assert seen(paper, "trp.x").stop_price == D(stop), price
    assert observe(paper, 89) == {"tvb.trp.x": port.FILLED}
    assert seen(paper, "trp.x").avg_fill_price == D(89)


def test_trailing_stop_placed_without_a_price_starts_with_the_first_one(
    database: Database,
) -> None:
    paper = broker(database)
    placed = paper.submit(request("trn.x", "sell", order_type="trailing_stop", trail_amount=D(2)))
    assert placed.stop_price is None
    assert observe(paper, 50) == {"tvb.trn.x": port.SUBMITTED}
    assert seen(paper, "trn.x").stop_price == D(48)


# --- time in force -----------------------------------------------------------------------


@pytest.mark.parametrize("tif", ["ioc", "fok"])
def test_immediate_orders_fill_now_or_are_cancelled(database: Database, tif: str) -> None:
    paper = broker(database)
    observe(paper, 100)
    filled = paper.submit(
        request("now.a", order_type="limit", limit_price=D(101), time_in_force=tif)
    )
    assert (filled.status, filled.avg_fill_price) == (port.FILLED, D(100))
    missed = paper.submit(
        request("now.b", order_type="limit", limit_price=D(99), time_in_force=tif)
    )
    assert missed.status == port.CANCELLED and "not fillable" in (missed.reason or "")
    stop = paper.submit(request("now.c", order_type="stop", stop_price=D(105), time_in_force=tif))
    assert stop.status == port.CANCELLED
    assert paper.submit(request("now.d", time_in_force=tif)).status == port.FILLED
    assert observe(paper, 98) == {}  # nothing was left resting
    assert held(paper) == 2


@pytest.mark.parametrize("tif", ["day", "gtc"])
def test_day_and_gtc_rest_and_outside_rth_is_kept(database: Database, tif: str) -> None:
    paper = broker(database)
    fields: dict[str, Any] = {"order_type": "limit", "limit_price": D(99), "outside_rth": True}
    placed = paper.submit(request("rest.x", reference_price=D(100), time_in_force=tif, **fields))
    assert placed.status == port.SUBMITTED
    row = paper_row(database, "rest.x")
    assert (row.time_in_force, row.outside_rth) == (tif, True)
    assert observe(paper, 99) == {"tvb.rest.x": port.FILLED}


# --- brackets ----------------------------------------------------------------------------


def test_bracket_take_profit_fills_and_cancels_the_stop(database: Database) -> None:
    paper = broker(database)
    for leg, side, kind in (
        ("entry", "buy", "limit"),
        ("tp", "sell", "limit"),
        ("sl", "sell", "stop"),
    ):
        ledger_row(database, f"b1.{leg}", side, kind)
    bracket(paper, "b1", {"order_type": "limit", "limit_price": D(100), "reference_price": D(102)})
    # The entry rests, and its children do not work: 111 would fill the take-profit.
    assert observe(paper, 111) == {}
    working = paper.position_in(port.Instrument("AAPL")).working
    assert [(o.reference, o.status) for o in working] == [
        ("tvb.b1.entry", port.SUBMITTED),
        ("tvb.b1.tp", port.SUBMITTED),
        ("tvb.b1.sl", port.SUBMITTED),
    ]
    assert observe(paper, 99) == {"tvb.b1.entry": port.FILLED}
    assert held(paper) == 1
    assert observe(paper, 96) == {}  # both exits now work, neither is crossed
    assert observe(paper, 111) == {"tvb.b1.tp": port.FILLED, "tvb.b1.sl": port.CANCELLED}
    assert seen(paper, "b1.sl").reason == "one-cancels-other: tvb.b1.tp filled"
    assert held(paper) == 0
    assert observe(paper, 90) == {}
    assert paper.account_summary().realized_pnl == D(12)
    # Our ledger heard of every change a price made, as from a real broker.
    assert ledger_view(database, "b1.entry") == (OrderStatus.FILLED, D(99), 1, None)
    assert ledger_view(database, "b1.tp") == (OrderStatus.FILLED, D(111), 1, None)
    assert ledger_view(database, "b1.sl") == (
        OrderStatus.CANCELLED,
        None,
        0,
        "one-cancels-other: tvb.b1.tp filled",
    )


@pytest.mark.parametrize(
    "exit_stop",
    [
        {"order_type": "stop", "stop_price": D(95)},
        {"order_type": "stop_limit", "stop_price": D(95), "limit_price": D(93)},
        {"order_type": "trailing_stop", "trail_amount": D(5)},
    ],
    ids=["stop", "stop_limit", "trailing_stop"],
)
def test_bracket_stop_loss_fills_and_cancels_the_take_profit(
    database: Database, exit_stop: dict[str, Any]
) -> None:
    paper = broker(database)
    ledger_row(database, "b2.sl", "sell", exit_stop["order_type"])
    bracket(paper, "b2", {"reference_price": D(100)}, exit_stop)
    assert held(paper) == 1  # a market entry: the exits work from the start
    assert observe(paper, 96) == {}  # not a new high: even a trailing stop stays put
    assert observe(paper, 94) == {"tvb.b2.sl": port.FILLED, "tvb.b2.tp": port.CANCELLED}
    assert seen(paper, "b2.tp").reason == "one-cancels-other: tvb.b2.sl filled"
    assert held(paper) == 0
    assert paper.account_summary().realized_pnl == D(-6)
    assert ledger_view(database, "b2.sl") == (OrderStatus.FILLED, D(94), 1, None)


def test_cancelling_the_entry_cancels_its_children(database: Database) -> None:
    paper = broker(database)
    ledger_row(database, "b3.tp", "sell", "limit")
    bracket(paper, "b3", {"order_type": "limit", "limit_price": D(90), "reference_price": D(100)})
    cancelled = paper.cancel("tvb.b3.entry")
    assert cancelled.status == port.CANCELLED
    for leg in ("tp", "sl"):
        order = seen(paper, f"b3.{leg}")
        assert (order.status, order.reason) == (port.CANCELLED, "parent tvb.b3.entry cancelled")
    assert ledger_view(database, "b3.tp")[0] == OrderStatus.CANCELLED
    assert observe(paper, 80) == {}
    assert paper.open_orders() == []
    with pytest.raises(NotCancellable):
        paper.cancel("tvb.b3.tp")


def test_children_of_a_rejected_entry_are_cancelled(database: Database) -> None:
    paper = broker(database)
    bracket(paper, "b4", {"symbol": "ZZZ"})  # a market entry with no price known
    assert seen(paper, "b4.entry").status == port.REJECTED
    for leg in ("tp", "sl"):
        order = seen(paper, f"b4.{leg}")
        assert (order.status, order.reason) == (port.CANCELLED, "parent tvb.b4.entry rejected")


def test_a_stop_entry_without_buying_power_is_rejected_and_takes_its_children(
    database: Database,
) -> None:
    paper = broker(database, cash=D(1000))
    entry = {
        "order_type": "stop",
        "stop_price": D(105),
        "quantity": D(10),
        "reference_price": D(100),
    }
    bracket(paper, "b5", entry)
    changed = observe(paper, 106)
    assert changed == {
        "tvb.b5.entry": port.REJECTED,
        "tvb.b5.tp": port.CANCELLED,
        "tvb.b5.sl": port.CANCELLED,
    }
    reason = seen(paper, "b5.entry").reason or ""
    assert reason.startswith("insufficient buying power: 1060 needed")
    assert held(paper) == 0 and paper.account_summary().total_cash_value == D(1000)


def test_an_exit_placed_after_its_group_filled_is_cancelled_at_once(database: Database) -> None:
    """The take-profit filled before the stop-loss was placed: the stop must never work,
    or a later fall would leave the account short."""
    paper = broker(database)
    paper.submit(request("b6.entry", reference_price=D(100)))
    family = {"parent_reference": "tvb.b6.entry", "oca_group": "b6-exits"}
    paper.submit(request("b6.tp", "sell", order_type="limit", limit_price=D(110), **family))
    observe(paper, 111)
    late = paper.submit(request("b6.sl", "sell", order_type="stop", stop_price=D(95), **family))
    assert (late.status, late.reason) == (port.CANCELLED, "one-cancels-other: tvb.b6.tp filled")
    assert observe(paper, 90) == {}
    assert held(paper) == 0


def test_a_child_whose_stop_is_crossed_when_its_parent_fills_triggers_then(
    database: Database,
) -> None:
    paper = broker(database)
    bracket(paper, "b7", {"order_type": "limit", "limit_price": D(100), "reference_price": D(102)})
    # The market gaps from 102 to 94: the entry fills there, and the stop at 95 at once.
    assert observe(paper, 94) == {
        "tvb.b7.entry": port.FILLED,
        "tvb.b7.tp": port.CANCELLED,
        "tvb.b7.sl": port.FILLED,
    }
    assert seen(paper, "b7.sl").avg_fill_price == D(94)
    assert held(paper) == 0


# --- position_in and observe_price ---------------------------------------------------------


def test_position_in_reports_position_working_orders_and_last_price(database: Database) -> None:
    paper = broker(database)
    empty = paper.position_in(port.Instrument("AAPL"))
    assert (empty.instrument_id, empty.quantity, empty.working, empty.last_price) == (
        "AAPL",
        D(0),
        (),
        None,
    )
    paper.submit(request("p.entry", reference_price=D(100), quantity=D(3)))
    paper.submit(request("p.lim", order_type="limit", limit_price=D(90)))
    paper.submit(request("p.other", symbol="MSFT", order_type="limit", limit_price=D(1)))
    paper.submit(
        port.OrderRequest(
            reference="manual-1",
            symbol="AAPL",
            side="buy",
            quantity=D(1),
            order_type="limit",
            limit_price=D(80),
        )
    )
    observe(paper, 101)
    found = paper.position_in(port.Instrument("aapl", exchange="SMART", sec_type="STK"))
    assert found.instrument_id == "AAPL"
    assert found.quantity == D(3)
    assert found.last_price == D(101)
    assert found.quantity_increment is None
    # Only our own orders still working on this symbol: not the filled entry, not MSFT,
    # not an order without a tvbridge reference.
    assert [o.reference for o in found.working] == ["tvb.p.lim"]
    assert found.working[0].order_type == "limit"


def test_observe_price_touches_only_its_symbol_and_refuses_nonsense(database: Database) -> None:
    paper = broker(database)
    paper.submit(request("o.a", order_type="limit", limit_price=D(10), symbol="MSFT"))
    assert observe(paper, 5, symbol="AAPL") == {}
    assert seen(paper, "o.a").status == port.SUBMITTED
    assert observe(paper, 5, symbol="msft") == {"tvb.o.a": port.FILLED}
    with pytest.raises(ValueError, match="positive"):
        paper.observe_price("AAPL", D(0))


def test_price_updates_reach_our_ledger_rows(database: Database) -> None:
    paper = broker(database)
    ledger_row(database, "l.stop", "buy", "stop")
    ledger_row(database, "l.trail", "sell", "trailing_stop")
    paper.submit(request("l.own", reference_price=D(100)))
    paper.submit(request("l.stop", order_type="stop", stop_price=D(103)))
    paper.submit(request("l.trail", "sell", order_type="trailing_stop", trail_amount=D(3)))
    observe(paper, 102)  # ratchets the trailing stop; our ledger has nothing to record
    assert ledger_view(database, "l.trail") == (OrderStatus.SUBMITTED, None, 0, None)
    observe(paper, 104)
    assert ledger_view(database, "l.stop") == (OrderStatus.FILLED, D(104), 1, None)
    observe(paper, 100)
    assert ledger_view(database, "l.trail") == (OrderStatus.FILLED, D(100), 1, None)
    with database.read() as session:
        kinds = session.scalars(
            select(OrderEventRecord.kind).where(OrderEventRecord.order_ref == "tvb.l.stop")
        ).all()
    assert kinds == ["broker_update"]


# --- the bracket property ----------------------------------------------------------------


@pytest.fixture(scope="module")
def shared_ledger(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    """One ledger for every example: each example trades a symbol of its own."""
    url = sqlite_url(Path(tmp_path_factory.mktemp("bracket-property")))
    migrate(url)
    yield get_database(url)


_examples = itertools.count()
_prices = st.integers(min_value=80, max_value=120).map(D)
_stops = st.one_of(
    st.builds(lambda s: {"order_type": "stop", "stop_price": s}, _prices),
    st.builds(
        lambda s, gap: {"order_type": "stop_limit", "stop_price": s, "limit_price": s - gap},
        _prices,
        st.integers(min_value=0, max_value=5).map(D),
    ),
    st.builds(
        lambda a: {"order_type": "trailing_stop", "trail_amount": a},
        st.integers(min_value=1, max_value=10).map(D),
    ),
)


@settings(max_examples=60, deadline=None)
@given(
    entry_limit=st.one_of(st.none(), _prices),
    take_profit=_prices,
    stop=_stops,
    path=st.lists(_prices, min_size=1, max_size=12),
    stop_placed_after=st.integers(min_value=0, max_value=13),
)
def test_a_bracket_never_leaves_a_long_entry_short(
    shared_ledger: Database,
    entry_limit: Decimal | None,
    take_profit: Decimal,
    stop: dict[str, Any],
    path: list[Decimal],
    stop_placed_after: int,
) -> None:
    """Whatever the prices and however the exits are set (even crossed, even the stop
    placed late), at most one exit fills, and only after the entry."""
    paper = PaperBroker(shared_ledger, D(10) ** 9)
    symbol = f"P{next(_examples)}"
    name = symbol.lower()
    entry: dict[str, Any] = {"symbol": symbol, "reference_price": D(100)}
    if entry_limit is not None:
        entry.update(order_type="limit", limit_price=entry_limit)
    paper.submit(request(f"{name}.entry", **entry))
    family = {"symbol": symbol, "parent_reference": f"tvb.{name}.entry", "oca_group": name}
    paper.submit(
        request(f"{name}.tp", "sell", order_type="limit", limit_price=take_profit, **family)
    )
    for step, price in enumerate([None, *path]):
        if step == stop_placed_after:
            paper.submit(request(f"{name}.sl", "sell", **stop, **family))
        if price is not None:
            paper.observe_price(symbol, price)
        placed = ("tp", "sl") if step >= stop_placed_after else ("tp",)
        exits = [seen(paper, f"{name}.{leg}").status for leg in placed]
        entered = seen(paper, f"{name}.entry").status == port.FILLED
        assert exits.count(port.FILLED) <= (1 if entered else 0)
        assert held(paper, symbol) == (1 if entered else 0) - exits.count(port.FILLED)
