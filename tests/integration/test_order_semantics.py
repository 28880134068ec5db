"""What strategy alerts mean, end to end through the processor on the paper broker, counted
at the broker boundary (the paper broker's record of every submit call)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from tests.ledger_support import accept, inbox_of
from trading.brokers import port
from trading.brokers.paper import PaperBroker
from trading.errors import BrokerStateUnknown
from trading.ledger.alerts import find_alert
from trading.ledger.db import Database
from trading.ledger.models import PaperOrder, PaperSubmission
from trading.planning import OrderRules
from trading.positions import recent_drift, strategy_positions
from trading.processing import AlertProcessor, Outcome


def paper(database: Database) -> PaperBroker:
    return PaperBroker(database, Decimal(1000000))


def processor(database: Database, broker: Any = None, **rules: Any) -> AlertProcessor:
    return AlertProcessor(
        database,
        broker or paper(database),
        inbox=inbox_of(database),
        stuck_after=timedelta(seconds=30),
        rules=OrderRules(**rules),
    )


def settle(database: Database, key: str, broker: Any = None, **rules: Any) -> Outcome:
    """Process ``key`` as its retries would, until it ends."""
    work = processor(database, broker, **rules)
    for attempt in range(20):
        outcome = work.process(key, attempt)
        if outcome.retry_in is None:
            return outcome
    raise AssertionError(f"{key} never settled: {outcome}")


def send(
    database: Database, broker: Any = None, rules: dict[str, Any] | None = None, **fields: Any
) -> Outcome:
    fields.setdefault("symbol", "AAPL")
    fields.setdefault("price", 100)
    return settle(database, accept(database, **fields), broker, **(rules or {}))


def held(database: Database, symbol: str = "AAPL") -> Decimal:
    return paper(database).position_in(port.Instrument(symbol)).quantity


def submitted(database: Database) -> list[str]:
    """Every reference that reached the paper broker's submit, in order (repeats too)."""
    with database.read() as session:
        return list(session.scalars(select(PaperSubmission.reference).order_by(PaperSubmission.id)))


def working(database: Database) -> list[str]:
    with database.read() as session:
        return list(
            session.scalars(
                select(PaperOrder.reference).where(PaperOrder.status.in_(port.ACTIVE_STATES))
            )
        )


def legs(database: Database, key_or_id: str) -> list[tuple[str, str, str]]:
    with database.read() as session:
        alert = find_alert(session, key_or_id)
        assert alert is not None
        return [(o.leg, o.side, f"{o.quantity:f}") for o in alert.orders]


def test_the_same_target_twice_places_one_order(database: Database) -> None:
    assert send(database, action="buy", position_size=3, alert_id="t1").status == "done"
    second = send(database, action="buy", position_size=3, alert_id="t2")
    assert second.status == "done" and "already at the target position 3" in (second.reason or "")
    assert held(database) == 3
    assert len(submitted(database)) == 1


def test_the_default_strategy_sentence_is_a_target(database: Database) -> None:
    send(database, action="buy", quantity=5, alert_id="a")
    # TradingView's default message, wrapped as the webhook sees it.
    key = accept(
        database,
        message="order sell @ 7 filled on AAPL. New strategy position is -2",
        price=100,
    )
    assert settle(database, key).status == "done"
    assert held(database) == -2
    assert legs(database, key) == [("close", "sell", "5"), ("open", "sell", "2")]


def test_reverse_flips_without_doubling(database: Database) -> None:
    send(database, action="buy", quantity=5, alert_id="a")
    outcome = send(database, action="reverse", alert_id="r")
    assert outcome.status == "done", outcome
    assert held(database) == -5
    assert legs(database, "r") == [("close", "sell", "5"), ("open", "sell", "5")]


def test_close_when_flat_is_a_recorded_no_op(database: Database) -> None:
    outcome = send(database, action="close", alert_id="c")
    assert (outcome.status, outcome.reason) == ("done", "already flat in AAPL")
    assert submitted(database) == []


def test_close_cancels_a_brackets_exits_so_no_stop_reopens_a_position(database: Database) -> None:
    entry = send(database, action="buy", quantity=5, take_profit=110, stop_loss=95, alert_id="b")
    assert entry.status == "done", entry
    assert sorted(working(database)) == ["tvb.b.sl", "tvb.b.tp"]
    assert send(database, action="close", alert_id="c").status == "done"
    assert held(database) == 0 and working(database) == []
    # The old stop's price comes and goes: nothing happens any more.
    paper(database).observe_price("AAPL", Decimal(90))
    assert held(database) == 0


def test_a_bracket_take_profit_cancels_its_stop(database: Database) -> None:
    send(database, action="buy", quantity=2, take_profit=110, stop_loss=95, alert_id="b")
    paper(database).observe_price("AAPL", Decimal(111))
    assert held(database) == 0 and working(database) == []


def test_a_stop_that_fills_mid_reversal_never_doubles_the_short(database: Database) -> None:
    send(database, action="buy", quantity=5, stop_loss=95, alert_id="b")
    broker = StopFillsBeforeCancel(paper(database))
    assert send(database, broker, action="reverse", alert_id="r").status == "done"
    assert broker.stop_filled
    assert held(database) == -5
    assert legs(database, "r") == [("entry", "sell", "5")]


def test_an_unreadable_position_makes_the_alert_wait_not_trade(database: Database) -> None:
    key = accept(database, symbol="AAPL", action="close", price=100)
    outcome = processor(database, Unreadable(paper(database))).process(key)
    assert outcome.retry_in is not None and "cannot read" in (outcome.reason or "")
    with database.read() as session:
        alert = find_alert(session, key)
        assert alert is not None and (alert.status, alert.plan) == ("waiting", None)
    assert submitted(database) == []


def test_an_alert_older_than_the_last_one_processed_is_refused_as_out_of_order(
    database: Database,
) -> None:
    now = datetime.now(UTC)
    newer = send(database, action="buy", quantity=1, timestamp=now.isoformat(), alert_id="n")
    assert newer.status == "done"
    older = (now - timedelta(seconds=5)).isoformat()
    refused = send(database, action="sell", quantity=1, timestamp=older, alert_id="o")
    assert refused.status == "rejected" and "out of order" in (refused.reason or "")
    allowed = send(
        database,
        rules={"refuse_out_of_order": False},
        action="sell",
        quantity=1,
        timestamp=older,
        alert_id="o2",
    )
    assert allowed.status == "done"
    assert held(database) == 0


def test_an_alert_waits_while_another_holds_its_instrument(database: Database) -> None:
    broker = CrashAfterFirstSubmit(paper(database))
    first = accept(database, symbol="AAPL", action="buy", quantity=5, price=100)
    with pytest.raises(SystemExit):
        processor(database, broker).process(first)
    second = accept(database, symbol="AAPL", action="close", price=100)
    waiting = processor(database).process(second)
    assert waiting.retry_in is not None and first in (waiting.reason or "")
    assert held(database) == 5  # the close did not run beside the unfinished entry
    # The first alert's lease runs out; it resumes, and the close then runs.
    resumed = AlertProcessor(
        database, paper(database), inbox=inbox_of(database), stuck_after=timedelta(0)
    ).process(first)
    assert resumed.status == "done"
    assert settle(database, second).status == "done"
    assert held(database) == 0
    assert submitted(database).count("tvb." + first + ".entry") == 1


def test_a_redelivered_reversal_resumes_without_doubling_a_leg(database: Database) -> None:
    send(database, action="buy", quantity=3, alert_id="a")
    key = accept(database, symbol="AAPL", action="reverse", price=100, alert_id="r")
    with pytest.raises(SystemExit):
        processor(database, CrashAfterFirstSubmit(paper(database))).process(key)
    resumed = AlertProcessor(
        database, paper(database), inbox=inbox_of(database), stuck_after=timedelta(0)
    ).process(key)
    assert resumed.status == "done"
    assert held(database) == -3
    refs = [r for r in submitted(database) if ".r." in r or r.endswith((".close", ".open"))]
    placed = {r for r in refs}
    assert len(placed) == 2  # one close and one open reached the broker as new orders
    with database.read() as session:
        orders = session.scalars(select(PaperOrder.reference)).all()
        assert len([r for r in orders if r.endswith(".close")]) == 1


def test_strategies_keep_their_own_positions_on_one_symbol(database: Database) -> None:
    send(database, action="buy", position_size=3, strategy="trend", alert_id="t")
    send(database, action="buy", position_size=2, strategy="swing", alert_id="s")
    assert held(database) == 5
    assert send(database, action="close", strategy="trend", alert_id="tc").status == "done"
    assert held(database) == 2
    with database.read() as session:
        views = {(p.strategy, p.quantity) for p in strategy_positions(session)}
    assert views == {("swing", Decimal(2))}


def test_buy_without_quantity_uses_the_default_size_or_is_refused(database: Database) -> None:
    assert send(database, action="buy", alert_id="d").status == "done"
    assert held(database) == 1
    refused = send(database, rules={"sizing_required": True}, action="buy", alert_id="r")
    assert refused.status == "rejected" and "quantity" in (refused.reason or "")


def test_cancel_cancels_our_working_orders_on_the_symbol(database: Database) -> None:
    send(database, action="buy", quantity=1, order_type="limit", limit_price=90, alert_id="l")
    assert working(database) == ["tvb.l.entry"]
    assert send(database, action="cancel", alert_id="x").status == "done"
    assert working(database) == []
    assert held(database) == 0  # cancelling trades nothing
    assert submitted(database) == ["tvb.l.entry"]


# --- brokers with one thing wrong ---------------------------------------------------------


class Passing:
    def __init__(self, inner: PaperBroker) -> None:
        self.inner, self.name, self.capabilities = inner, inner.name, inner.capabilities

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


class StopFillsBeforeCancel(Passing):
    """The market reaches the stop just as the reversal cancels it."""

    stop_filled = False

    def cancel(self, reference: str) -> port.BrokerOrder:
        if reference.endswith(".sl") and not self.stop_filled:
            self.inner.observe_price("AAPL", Decimal(94))
            self.stop_filled = self.inner.position_in(port.Instrument("AAPL")).quantity == 0
        return self.inner.cancel(reference)


class Unreadable(Passing):
    def position_in(self, instrument: port.Instrument) -> port.InstrumentPosition:
        raise BrokerStateUnknown(f"cannot read the position in {instrument.symbol} now")


class CrashAfterFirstSubmit(Passing):
    """The worker dies right after its first order reached the broker."""

    def submit(self, request: port.OrderRequest) -> port.BrokerOrder:
        self.inner.submit(request)
        raise SystemExit("worker killed after placing")


def test_protect_moves_the_stop_of_the_position(database: Database) -> None:
    """Pine's strategy.exit moved: the old stop is cancelled, the new one protects."""
    send(database, action="buy", quantity=3, stop_loss=90, alert_id="b")
    assert (
        send(database, action="protect", stop_loss=97, take_profit=120, alert_id="p").status
        == "done"
    )
    assert sorted(working(database)) == ["tvb.p.sl", "tvb.p.tp"]
    paper(database).observe_price("AAPL", Decimal(96))
    assert held(database) == 0 and working(database) == []


def test_the_alert_that_ends_wakes_the_oldest_one_waiting_for_its_instrument(
    database: Database,
) -> None:
    first = accept(database, symbol="AAPL", action="buy", quantity=5, price=100)
    with pytest.raises(SystemExit):
        processor(database, CrashAfterFirstSubmit(paper(database))).process(first)
    waiting = [
        accept(database, symbol="AAPL", action="close", price=100, alert_id=f"w{n}")
        for n in range(2)
    ]
    for key in waiting:
        assert processor(database).process(key).retry_in is not None
    other = accept(database, symbol="MSFT", action="buy", quantity=1, price=300)
    assert processor(database).process(other).wake is None  # nobody waits for MSFT
    ended = AlertProcessor(
        database, paper(database), inbox=inbox_of(database), stuck_after=timedelta(0)
    ).process(first)
    assert (ended.status, ended.wake) == ("done", waiting[0])
    assert processor(database).process(waiting[0]).wake == waiting[1]


def test_the_symbol_map_trades_the_mapped_symbol(database: Database) -> None:
    mapped = send(
        database,
        rules={"symbol_map": {"NQ1!": "MNQ"}},
        symbol="CME_MINI:NQ1!",
        action="buy",
        quantity=2,
        price=18000,
        alert_id="nq",
    )
    assert mapped.status == "done"
    assert held(database, "MNQ") == 2 and held(database, "NQ1!") == 0


def test_drift_between_the_strategy_and_the_bridge_is_recorded(database: Database) -> None:
    # The strategy believes it held 2 before buying 1 more; the bridge holds nothing.
    sentence = "order buy @ 1 filled on AAPL. New strategy position is 3"
    key = accept(database, message=sentence, price=100)
    assert settle(database, key).status == "done"
    assert held(database) == 3  # corrected to the strategy's position
    reported = accept(
        database, message="order buy @ 1 filled on AAPL. New strategy position is 6", price=100
    )
    assert settle(database, reported, correct_drift=False).status == "done"
    assert held(database) == 4  # only the strategy's own order: the gap is left to the user
    with database.read() as session:
        drifts = recent_drift(session, since=datetime.now(UTC) - timedelta(hours=1))
    assert [d["drift"] for d in drifts["alerts"]] == ["2", "2"]  # type: ignore[index]
