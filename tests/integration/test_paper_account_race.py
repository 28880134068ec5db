"""Two first orders on a fresh PostgreSQL ledger: the paper account is created once and the
second order waits for it, instead of failing on a duplicate key (SQLite's write lock
already serialises them)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import text

from tests.support import wait_for
from trading.brokers.paper import ACCOUNT_ID, PaperBroker
from trading.brokers.port import FILLED, BrokerOrder, OrderRequest
from trading.ledger.db import get_database
from trading.ledger.models import PaperAccount


def test_second_first_order_waits_for_the_account_the_first_creates(postgres_url: str) -> None:
    database = get_database(postgres_url)
    broker = PaperBroker(database, Decimal(100000))
    created, release = threading.Event(), threading.Event()

    def first_creates_and_holds() -> None:
        with database.write() as session:
            session.add(
                PaperAccount(
                    id=ACCOUNT_ID,
                    starting_cash=Decimal(100000),
                    cash=Decimal(100000),
                    realized_pnl=Decimal(0),
                    updated_at=datetime.now(UTC),
                )
            )
            session.flush()
            created.set()
            release.wait(10)

    answers: list[BrokerOrder | BaseException] = []

    def second_orders() -> None:
        request = OrderRequest(
            reference="tvb.race.entry",
            symbol="AAPL",
            side="buy",
            quantity=Decimal(1),
            reference_price=Decimal(100),
        )
        try:
            answers.append(broker.submit(request))
        except BaseException as error:  # noqa: BLE001 - the test reports what happened
            answers.append(error)

    holder = threading.Thread(target=first_creates_and_holds)
    holder.start()
    assert created.wait(10)
    orderer = threading.Thread(target=second_orders)
    orderer.start()

    def blocked_on_the_account() -> bool:
        with database.engine.connect() as connection:
            waiting = connection.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND wait_event_type = 'Lock'"
                )
            ).scalar()
        return bool(waiting)

    try:
        wait_for(blocked_on_the_account, timeout=10, message="the second order to wait")
    finally:
        release.set()
        holder.join()
        orderer.join(timeout=20)
    [answer] = answers
    assert isinstance(answer, BrokerOrder), answer
    assert answer.status == FILLED
