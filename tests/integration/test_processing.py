"""Processing alerts against the paper broker on SQLite and PostgreSQL ledgers."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select

from tests.ledger_support import POLICY, accept, inbox_of
from trading.brokers import port
from trading.brokers.paper import PaperBroker
from trading.errors import (
    BrokerStateUnknown,
    BrokerUnavailable,
    RequestInvalid,
    RequestRefused,
    TemporaryError,
)
from trading.ledger.alerts import find_alert
from trading.ledger.db import Database
from trading.ledger.models import (
    AlertStatus,
    InboxRecord,
    OrderRecord,
    OrderStatus,
    PaperOrder,
    PaperSubmission,
)
from trading.processing import UNKNOWN_OUTCOME_GRACE, AlertProcessor


def processor(database: Database, broker: Any = None) -> AlertProcessor:
    return AlertProcessor(
        database,
        broker or PaperBroker(database, Decimal(100000)),
        inbox=inbox_of(database),
        stuck_after=timedelta(seconds=30),
    )


def state(database: Database, key: str) -> tuple[str, str | None, list[tuple[str, str]]]:
    with database.read() as session:
        alert = find_alert(session, key)
        assert alert is not None
        return alert.status, alert.reason, [(o.leg, o.status) for o in alert.orders]


def paper_orders(database: Database) -> int:
    with database.read() as session:
        return session.scalar(select(func.count()).select_from(PaperOrder)) or 0


def submissions(database: Database) -> int:
    """Calls that reached the paper broker's submit, resubmissions of a known reference too."""
    with database.read() as session:
        return session.scalar(select(func.count()).select_from(PaperSubmission)) or 0


def position(database: Database, symbol: str) -> Decimal:
    for p in PaperBroker(database, Decimal(100000)).positions():
        if p.symbol == symbol:
            return p.quantity
    return Decimal(0)


def test_market_buy_fills_at_the_alert_price(database: Database) -> None:
    key = accept(database, symbol="AAPL", action="buy", quantity=2, price=150)
    assert processor(database).process(key).status == "done"
    assert state(database, key) == ("done", None, [("entry", "filled")])
    summary = PaperBroker(database, Decimal(100000)).account_summary()
    assert summary.total_cash_value == Decimal(99700)
    assert summary.net_liquidation == Decimal(100000)
    assert position(database, "AAPL") == 2


def test_processing_twice_places_once(database: Database) -> None:
    key = accept(database, symbol="AAPL", action="buy", quantity=1, price=10)
    first, second = processor(database).process(key), processor(database).process(key)
    assert (first.status, second.status) == ("done", "done")
    assert paper_orders(database) == 1
    assert submissions(database) == 1


def test_every_submit_call_is_recorded_even_when_deduplicated(database: Database) -> None:
    """The record the crash tests count: the paper broker answers a known reference with the
    existing order (one order row), yet each call that reached it is kept."""
    paper = PaperBroker(database, Decimal(100000))
    request = port.OrderRequest(
        reference="tvb.dup.entry",
        symbol="AAPL",
        side="buy",
        quantity=Decimal(1),
        reference_price=Decimal(10),
    )
    first, second = paper.submit(request), paper.submit(request)
    assert first.broker_order_id == second.broker_order_id
    assert (paper_orders(database), submissions(database)) == (1, 2)


class CrashAfterSubmit:
    """A broker whose process 'dies' right after the order reached the broker."""

    def __init__(self, inner: PaperBroker) -> None:
        self.inner, self.name, self.capabilities = inner, inner.name, inner.capabilities

    def submit(self, request: port.OrderRequest) -> port.BrokerOrder:
        self.inner.submit(request)
        raise SystemExit("worker killed after placing")

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def test_resume_after_crash_looks_up_the_reference_first(database: Database) -> None:
    """A worker killed between placing and recording: the rerun must not place again."""
    paper = PaperBroker(database, Decimal(100000))
    key = accept(database, symbol="MSFT", action="buy", quantity=1, price=400)
    with pytest.raises(SystemExit):
        processor(database, CrashAfterSubmit(paper)).process(key)
    assert state(database, key)[2] == [("entry", "submitting")]
    # The lease of the dead worker must run out before another takes the alert.
    spy = CountingBroker(paper)
    fresh = AlertProcessor(database, spy, inbox=inbox_of(database), stuck_after=timedelta(0))
    assert fresh.process(key).status == "done"
    assert (spy.lookups, spy.submits) == (1, 0)  # asked first, and never sent again
    assert paper_orders(database) == 1
    assert submissions(database) == 1
    assert state(database, key)[2] == [("entry", "filled")]


class CountingBroker:
    """Passes every call through and counts lookups and submissions."""

    def __init__(self, inner: Any) -> None:
        self.inner, self.name, self.capabilities = inner, inner.name, inner.capabilities
        self.lookups = self.submits = 0

    def order_by_reference(self, reference: str) -> port.BrokerOrder | None:
        self.lookups += 1
        result: port.BrokerOrder | None = self.inner.order_by_reference(reference)
        return result

    def submit(self, request: port.OrderRequest) -> port.BrokerOrder:
        self.submits += 1
        result: port.BrokerOrder = self.inner.submit(request)
        return result

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


class ForexPositions(PaperBroker):
    """A broker that knows the pair by its own identity, as IB does by conId."""

    def position_in(self, instrument: port.Instrument) -> port.InstrumentPosition:
        assert instrument.symbol == "EUR/USD"
        return port.InstrumentPosition("12087792", Decimal(20000))


def test_close_reads_the_brokers_position_in_the_resolved_instrument(database: Database) -> None:
    key = accept(database, symbol="FX:EUR/USD", action="close", price="1.1")
    broker = ForexPositions(database, Decimal(100000))
    assert processor(database, broker).process(key).status == "done"
    with database.read() as session:
        order = session.scalars(select(OrderRecord)).one()
        assert (order.side, order.quantity) == ("sell", Decimal(20000))


def test_busy_alert_is_left_to_its_holder(database: Database) -> None:
    paper = PaperBroker(database, Decimal(100000))
    key = accept(database, symbol="MSFT", action="buy", quantity=1, price=400)
    with pytest.raises(SystemExit):
        processor(database, CrashAfterSubmit(paper)).process(key)
    assert processor(database).process(key).status == "busy"


def test_market_order_without_any_price_is_rejected_with_reason(database: Database) -> None:
    key = accept(database, symbol="ZZZ", action="buy", quantity=1)
    outcome = processor(database).process(key)
    assert outcome.status == "rejected"
    _, reason, orders = state(database, key)
    assert orders == [("entry", "rejected")] and "no price known for ZZZ" in (reason or "")


def test_limit_rests_then_fills_when_a_later_price_crosses(database: Database) -> None:
    resting = accept(
        database,
        symbol="NVDA",
        action="buy",
        quantity=1,
        price=100,
        order_type="limit",
        limit_price=90,
    )
    assert processor(database).process(resting).status == "done"
    assert state(database, resting)[2] == [("entry", "submitted")]
    later = accept(database, symbol="NVDA", action="buy", quantity=1, price=89, alert_id="x1")
    processor(database).process(later)
    assert state(database, resting)[2] == [("entry", "filled")]
    with database.read() as session:
        order = session.scalars(
            select(OrderRecord).where(OrderRecord.leg == "entry").order_by(OrderRecord.id)
        ).first()
        assert order is not None and order.avg_fill_price == Decimal(89)
        assert len(order.fills) == 1


def test_close_flattens_and_close_when_flat_does_nothing(database: Database) -> None:
    buy = accept(database, symbol="TSLA", action="buy", quantity=3, price=200)
    processor(database).process(buy)
    close = accept(database, symbol="TSLA", action="close", price=210)
    assert processor(database).process(close).status == "done"
    assert state(database, close)[2] == [("close", "filled")]
    assert position(database, "TSLA") == 0
    summary = PaperBroker(database, Decimal(100000)).account_summary()
    assert summary.realized_pnl == Decimal(30)
    again = accept(database, symbol="TSLA", action="close", alert_id="again")
    assert processor(database).process(again).status == "done"
    assert state(database, again) == ("done", "already flat in TSLA", [])


def test_over_age_alert_is_expired_not_traded(database: Database) -> None:
    old = int((datetime.now(UTC) - timedelta(seconds=200)).timestamp())
    policy = replace(POLICY, max_age=timedelta(seconds=250))
    key = accept(database, policy, symbol="AAPL", action="buy", quantity=1, price=1, timestamp=old)
    with inbox_of(database).write() as session:  # time passes while it waits in the queue
        receipt = session.scalars(select(InboxRecord).where(InboxRecord.key == key)).one()
        receipt.expires_at = datetime.now(UTC) - timedelta(seconds=1)
    assert processor(database).process(key).status == "expired"
    assert paper_orders(database) == 0


class DownBroker(PaperBroker):
    def submit(self, request: port.OrderRequest) -> port.BrokerOrder:
        raise BrokerUnavailable("gateway not connected")


def test_unavailable_broker_waits_then_expires(database: Database) -> None:
    key = accept(database, symbol="AAPL", action="buy", quantity=1, price=1)
    down = DownBroker(database, Decimal(100000))
    outcome = processor(database, down).process(key)
    assert outcome.status == "retry" and outcome.retry_in is not None
    assert outcome.retry_in <= 5
    assert state(database, key)[:2] == (AlertStatus.WAITING, "gateway not connected")
    with database.write() as session:
        alert = find_alert(session, key)
        assert alert is not None
        alert.expires_at = datetime.now(UTC) - timedelta(seconds=1)
    final = processor(database, down).process(key)
    assert final.status == "expired" and "gateway not connected" in (final.reason or "")
    assert state(database, key)[2] == [("entry", "expired")]
    assert paper_orders(database) == 0


def test_insufficient_buying_power_is_a_rejection(database: Database) -> None:
    key = accept(database, symbol="BRK.A", action="buy", quantity=1, price=700000)
    assert processor(database).process(key).status == "rejected"
    assert "insufficient buying power" in (state(database, key)[1] or "")
    assert state(database, key)[2][0][1] == OrderStatus.REJECTED


class LostReply:
    """C5: the order reaches the broker, its answer does not (a timeout after sending)."""

    def __init__(self, inner: PaperBroker) -> None:
        self.inner, self.name, self.capabilities = inner, inner.name, inner.capabilities

    def submit(self, request: port.OrderRequest) -> port.BrokerOrder:
        self.inner.submit(request)
        raise BrokerStateUnknown("no answer within 10.0s; the order may have been placed")

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def test_c5_lost_reply_is_found_by_reference_and_never_sent_again(database: Database) -> None:
    paper = PaperBroker(database, Decimal(100000))
    key = accept(database, symbol="AMD", action="buy", quantity=1, price=100)
    outcome = processor(database, LostReply(paper)).process(key)
    assert outcome.status == "retry", outcome
    assert state(database, key)[2] == [("entry", "submitting")]  # unknown, not failed
    spy = CountingBroker(paper)
    assert processor(database, spy).process(key, attempt=1).status == "done"
    assert (spy.lookups, spy.submits) == (1, 0)
    assert submissions(database) == 1
    assert state(database, key)[2] == [("entry", "filled")]


class Unreachable(PaperBroker):
    """C5 with no way to tell: the submit's outcome is unknown and lookups fail too."""

    def __init__(self, database: Database) -> None:
        super().__init__(database, Decimal(100000))
        self.submits = self.lookups = 0

    def submit(self, request: port.OrderRequest) -> port.BrokerOrder:
        self.submits += 1
        raise BrokerStateUnknown("connection lost after placeOrder was written")

    def order_by_reference(self, reference: str) -> port.BrokerOrder | None:
        self.lookups += 1
        raise TemporaryError("gateway not answering")


def _expire(database: Database, key: str, ago: timedelta) -> None:
    with database.write() as session:  # time passes
        alert = find_alert(session, key)
        assert alert is not None
        alert.expires_at = datetime.now(UTC) - ago


def test_c5_unknown_outcome_is_looked_up_through_the_grace_then_failed(
    database: Database,
) -> None:
    """Past the alert's maximum age an unknown submission is still looked up (never expired
    as if unsent); after the grace it is failed for a human, the leg still ``submitting``."""
    broker = Unreachable(database)
    key = accept(database, symbol="AMD", action="buy", quantity=1, price=100)
    assert processor(database, broker).process(key).status == "retry"
    _expire(database, key, UNKNOWN_OUTCOME_GRACE - timedelta(seconds=30))
    outcome = processor(database, broker).process(key, attempt=1)
    assert outcome.status == "retry" and broker.lookups == 1
    assert state(database, key)[2] == [("entry", "submitting")]
    _expire(database, key, UNKNOWN_OUTCOME_GRACE + timedelta(seconds=1))
    final = processor(database, broker).process(key, attempt=2)
    assert final.status == AlertStatus.FAILED
    assert "outcome still unknown" in (final.reason or "")
    assert state(database, key)[2] == [("entry", "submitting")]
    assert broker.submits == 1  # never sent again, whatever happened


def test_c5_broker_confirms_no_order_after_the_maximum_age_is_expired(
    database: Database,
) -> None:
    """The lookup answers "no such order": it never arrived, and the alert is over age."""
    paper = PaperBroker(database, Decimal(100000))
    key = accept(database, symbol="AMD", action="buy", quantity=1, price=100)

    class NeverArrives(LostReply):
        def submit(self, request: port.OrderRequest) -> port.BrokerOrder:
            raise BrokerStateUnknown("no answer; the order may have been placed")

    assert processor(database, NeverArrives(paper)).process(key).status == "retry"
    _expire(database, key, timedelta(seconds=1))
    spy = CountingBroker(paper)
    assert processor(database, spy).process(key, attempt=1).status == "expired"
    assert (spy.lookups, spy.submits) == (1, 0)
    assert state(database, key)[2] == [("entry", "expired")]


class RefusedReads(PaperBroker):
    def __init__(self, database: Database, error: Exception) -> None:
        super().__init__(database, Decimal(100000))
        self.error = error

    def position_in(self, instrument: port.Instrument) -> port.InstrumentPosition:
        raise self.error


@pytest.mark.parametrize(
    "error",
    [RequestRefused("IB error 321: Error validating request", code=321), RequestInvalid("bad")],
)
def test_refused_read_fails_the_alert_without_an_order_rejection(
    database: Database, error: Exception
) -> None:
    """A refused positions read is not an order rejection: the alert fails for a human,
    no order is planned or sent."""
    key = accept(database, symbol="TSLA", action="close", price=210)
    outcome = processor(database, RefusedReads(database, error)).process(key)
    assert outcome.status == AlertStatus.FAILED, outcome
    assert str(error) in (outcome.reason or "")
    assert submissions(database) == 0


def test_the_alerts_expiry_reaches_the_broker(database: Database) -> None:
    """One age clock: the order request carries the alert's expiry to the broker."""
    seen: list[port.OrderRequest] = []

    class Recording(PaperBroker):
        def submit(self, request: port.OrderRequest) -> port.BrokerOrder:
            seen.append(request)
            return super().submit(request)

    key = accept(database, symbol="AMD", action="buy", quantity=1, price=100)
    processor(database, Recording(database, Decimal(100000))).process(key)
    with database.read() as session:
        alert = find_alert(session, key)
        assert alert is not None
        assert [r.not_after for r in seen] == [alert.expires_at]
