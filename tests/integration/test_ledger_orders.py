"""Recording broker updates: never stepping back, completing late commissions."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from trading.brokers import port
from trading.ledger.db import Database
from trading.ledger.models import OrderRecord
from trading.ledger.orders import apply_broker_order

NOW = datetime.now(UTC)


def snapshot(status: str, filled: int, fills: tuple[port.Fill, ...] = ()) -> port.BrokerOrder:
    return port.BrokerOrder(
        reference="tvb.x.entry",
        broker_order_id="7",
        symbol="AAPL",
        side="buy",
        quantity=Decimal(10),
        order_type="limit",
        status=status,
        filled_quantity=Decimal(filled),
        avg_fill_price=Decimal(5) if filled else None,
        fills=fills,
    )


def test_late_snapshot_does_not_undo_a_partial_fill(sqlite_database: Database) -> None:
    first = port.Fill("e1", Decimal(4), Decimal(5), NOW)
    with sqlite_database.write() as session:
        order = OrderRecord(
            leg="entry",
            broker="ibkr",
            order_ref="tvb.x.entry",
            symbol="AAPL",
            side="buy",
            quantity=Decimal(10),
            order_type="limit",
            status="submitting",
            filled_quantity=Decimal(0),
            created_at=NOW,
            updated_at=NOW,
        )
        session.add(order)
        session.flush()
        apply_broker_order(session, order, snapshot(port.PARTIALLY_FILLED, 4, (first,)))
        apply_broker_order(session, order, snapshot(port.SUBMITTED, 0))
        assert (order.status, order.filled_quantity) == ("partially_filled", Decimal(4))
        assert order.fills[0].commission is None
        with_commission = port.Fill("e1", Decimal(4), Decimal(5), NOW, commission=Decimal("1.0"))
        assert apply_broker_order(session, order, snapshot(port.FILLED, 4, (with_commission,)))
        assert order.status == "filled" and len(order.fills) == 1
        assert order.fills[0].commission == Decimal("1.0")
        apply_broker_order(session, order, snapshot(port.CANCELLED, 4))
        assert order.status == "filled"
