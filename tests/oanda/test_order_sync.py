"""Resting OANDA orders that fill later reach the ledger: OANDA tells nobody, so the
working orders are looked up on a schedule."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from sqlalchemy import select

from tests.ledger_support import accept, inbox_of
from tests.oanda.standin import OandaStandIn
from trading.brokers.oanda import OandaBroker
from trading.brokers.paper import PaperBroker
from trading.ledger.db import Database
from trading.ledger.models import OrderEventRecord, OrderRecord
from trading.order_sync import sync_working_orders
from trading.processing import AlertProcessor


def the_order(database: Database) -> OrderRecord:
    with database.read() as session:
        return session.scalars(select(OrderRecord)).one()


def place_resting_buy(database: Database, broker: OandaBroker) -> OrderRecord:
    processor = AlertProcessor(
        database, broker, inbox=inbox_of(database), stuck_after=timedelta(seconds=30)
    )
    key = accept(
        database,
        symbol="EURUSD",
        action="buy",
        quantity=1000,
        order_type="limit",
        limit_price="1.05",
        price="1.1",
    )
    assert processor.process(key).status == "done"
    order = the_order(database)
    assert order.status == "submitted"  # resting below the market
    return order


def test_a_resting_limit_order_filled_later_is_recorded_filled(
    sqlite_database: Database, standin: OandaStandIn, broker: OandaBroker
) -> None:
    order = place_resting_buy(sqlite_database, broker)
    quiet = sync_working_orders(sqlite_database, broker)
    assert (quiet.looked_up, quiet.updated) == (1, 0)

    standin.fill_resting(order.order_ref, "1.0480")
    report = sync_working_orders(sqlite_database, broker)

    assert (report.looked_up, report.updated) == (1, 1)
    filled = the_order(sqlite_database)
    assert filled.status == "filled"
    assert filled.filled_quantity == Decimal(1000)
    assert filled.avg_fill_price == Decimal("1.0480")
    assert sync_working_orders(sqlite_database, broker).looked_up == 0  # nothing working now


def test_an_order_oanda_no_longer_knows_is_reported_once_and_kept(
    sqlite_database: Database, standin: OandaStandIn, broker: OandaBroker
) -> None:
    order = place_resting_buy(sqlite_database, broker)
    standin.orders.clear()  # e.g. an account reset: OANDA answers 404 for the client id

    for _ in range(3):
        assert sync_working_orders(sqlite_database, broker).missing == 1

    assert the_order(sqlite_database).status == "submitted"  # unknown is not cancelled
    with sqlite_database.read() as session:
        kinds = session.scalars(
            select(OrderEventRecord.kind).where(OrderEventRecord.order_ref == order.order_ref)
        ).all()
    assert kinds.count("missing_at_broker") == 1


def test_brokers_that_push_their_updates_are_not_polled(sqlite_database: Database) -> None:
    paper = PaperBroker(sqlite_database, Decimal(100000))
    assert sync_working_orders(sqlite_database, paper).looked_up == 0
