"""The alert processor with the OANDA adapter: a lost reply is looked up, never resent."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from tests.ledger_support import accept, inbox_of
from tests.oanda.conftest import PLACE_TIMEOUT
from tests.oanda.standin import OandaStandIn
from trading.brokers.oanda import OandaBroker
from trading.ledger.alerts import find_alert
from trading.ledger.db import Database
from trading.processing import AlertProcessor


def orders(database: Database, key: str) -> list[tuple[str, str, str]]:
    with database.read() as session:
        alert = find_alert(session, key)
        assert alert is not None
        return [(o.order_ref, o.status, str(o.filled_quantity)) for o in alert.orders]


@pytest.mark.parametrize("fault", ["drop", "delay", "429", "500"])
def test_unanswered_placement_is_looked_up_before_anything_is_sent_again(
    sqlite_database: Database, standin: OandaStandIn, broker: OandaBroker, fault: str
) -> None:
    """The first placement gets no usable answer; the next attempt asks OANDA for the client
    id first. Exactly one order exists at OANDA whatever happened to the first reply."""
    # Arrange
    processor = AlertProcessor(
        sqlite_database, broker, inbox=inbox_of(sqlite_database), stuck_after=timedelta(seconds=30)
    )
    key = accept(sqlite_database, symbol="OANDA:EURUSD", action="buy", quantity=1000, price=1.1)
    broker.instrument("EURUSD")
    if fault == "drop":
        standin.drop("POST", r"/orders$")
    elif fault == "delay":
        standin.delay("POST", r"/orders$", PLACE_TIMEOUT * 3, after_apply=True)
    else:
        standin.fail("POST", r"/orders$", int(fault))
    # Act
    first = processor.process(key)
    second = processor.process(key, attempt=1)
    # Assert
    assert first.status == "retry"
    assert second.status == "done", second.reason
    [(reference, status, filled)] = orders(sqlite_database, key)
    assert (status, filled) == ("filled", "1000")
    assert len(standin.orders) == 1
    assert standin.requests_to("GET", r"/orders/@" + reference.replace(".", r"\.") + "$")
    placed_twice = fault in ("429", "500")  # refused or failed: nothing was created the first time
    assert len(standin.order_posts()) == (2 if placed_twice else 1)


def test_a_close_alert_flattens_the_oanda_position(
    sqlite_database: Database, standin: OandaStandIn, broker: OandaBroker
) -> None:
    """OANDA names the position EUR_USD; the alert says FX:EURUSD: they are one instrument."""
    processor = AlertProcessor(
        sqlite_database, broker, inbox=inbox_of(sqlite_database), stuck_after=timedelta(seconds=30)
    )
    opened = accept(sqlite_database, symbol="EURUSD", action="sell", quantity=700, price=1.1)
    assert processor.process(opened).status == "done"
    assert [(p.symbol, p.quantity) for p in broker.positions()] == [("EUR_USD", Decimal(-700))]

    closed = accept(sqlite_database, symbol="FX:EURUSD", action="close", price=1.1)

    assert processor.process(closed).status == "done"
    assert broker.positions() == []
    [(_, status, filled)] = orders(sqlite_database, closed)
    assert (status, filled) == ("filled", "700")
    assert sent_units(standin) == ["-700", "700"]


def sent_units(standin: OandaStandIn) -> list[str]:
    return [r.body["order"]["units"] for r in standin.order_posts() if r.body]


def test_a_refused_token_fails_the_alert_at_once_naming_the_setting(
    sqlite_database: Database, standin: OandaStandIn, broker: OandaBroker
) -> None:
    """401 means nothing was placed and no retry can help: the alert ends ``failed`` with
    the setting to fix, instead of waiting out its age as if the broker were busy."""
    processor = AlertProcessor(
        sqlite_database, broker, inbox=inbox_of(sqlite_database), stuck_after=timedelta(seconds=30)
    )
    key = accept(sqlite_database, symbol="EURUSD", action="buy", quantity=1000, price=1.1)
    broker.instrument("EURUSD")
    standin.fail("POST", r"/orders$", 401)
    outcome = processor.process(key)
    assert outcome.status == "failed"
    assert "OANDA_API_TOKEN" in (outcome.reason or "")
    assert len(standin.order_posts()) == 1
