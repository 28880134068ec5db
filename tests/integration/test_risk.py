"""Risk rules in the worker on paper: a refusal is recorded with its rule, limit and value,
reductions always pass, and reaching the daily loss limit halts trading."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal
from typing import Any

from config.settings import load_settings
from tests.ledger_support import accept, inbox_of
from trading.brokers import port
from trading.brokers.paper import PaperBroker
from trading.halt import read_halt
from trading.ledger.alerts import find_alert
from trading.ledger.db import Database
from trading.processing import AlertProcessor, Outcome
from trading.risk import limits_from


def send(database: Database, risk: dict[str, str], **fields: Any) -> Outcome:
    fields.setdefault("symbol", "AAPL")
    fields.setdefault("price", 100)
    limits = limits_from(load_settings(**risk))
    processor = AlertProcessor(
        database,
        PaperBroker(database, Decimal(100000)),
        inbox=inbox_of(database),
        stuck_after=timedelta(seconds=30),
        limits=limits,
    )
    return processor.process(accept(database, **fields))


def recorded_risk(database: Database, alert_id: str) -> dict[str, Any]:
    with database.read() as session:
        alert = find_alert(session, alert_id)
        assert alert is not None and alert.plan is not None
        risk: dict[str, Any] = json.loads(alert.plan.detail)["risk"]
        return risk


def held(database: Database) -> Decimal:
    paper = PaperBroker(database, Decimal(100000))
    return paper.position_in(port.Instrument("AAPL")).quantity


def test_an_order_over_the_quantity_limit_is_refused_and_recorded(database: Database) -> None:
    risk = {"risk_max_order_quantity": "10"}
    assert send(database, risk, action="buy", quantity=10, alert_id="ok").status == "done"
    refused = send(database, risk, action="buy", quantity=50, alert_id="big")
    assert refused.status == "rejected"
    assert "RISK_MAX_ORDER_QUANTITY 10" in (refused.reason or "")
    recorded = recorded_risk(database, "big")
    assert (recorded["rule"], recorded["limit"], recorded["value"]) == (
        "max_order_quantity",
        "10",
        "50",
    )
    # A close bigger than the limit still goes: a position can always be taken down.
    assert send(database, {"risk_max_order_quantity": "5"}, action="close").status == "done"
    assert held(database) == 0


def test_the_rate_limit_per_instrument_stops_a_looping_alert(database: Database) -> None:
    risk = {"risk_max_orders_per_minute_per_instrument": "2"}
    outcomes = [
        send(database, risk, action="buy", quantity=1, alert_id=f"loop-{n}").status
        for n in range(3)
    ]
    assert outcomes == ["done", "done", "rejected"]
    assert recorded_risk(database, "loop-2")["rule"] == "max_orders_per_minute_per_instrument"


def test_reaching_the_daily_loss_limit_halts_trading(database: Database) -> None:
    risk = {"risk_daily_loss_limit": "100"}
    assert send(database, risk, action="buy", quantity=10, alert_id="in").status == "done"
    # The market falls 20 below the fill: the account is 200 down on the day.
    PaperBroker(database, Decimal(100000)).observe_price("AAPL", Decimal(80))
    refused = send(database, risk, action="buy", quantity=1, price=80, alert_id="more")
    assert refused.status == "rejected" and recorded_risk(database, "more")["rule"] == (
        "daily_loss_limit"
    )
    with database.read() as session:
        halt = read_halt(session)
    assert halt.halted and halt.by == "daily_loss_limit"
    # Getting out is still allowed.
    assert send(database, risk, action="close", price=80, alert_id="out").status == "done"
    assert held(database) == 0


def test_a_realized_loss_reaching_the_limit_halts_too(database: Database) -> None:
    risk = {"risk_daily_loss_limit": "150"}
    assert send(database, risk, action="buy", quantity=10, alert_id="in").status == "done"
    assert send(database, risk, action="close", price=80, alert_id="out").status == "done"
    refused = send(database, risk, action="buy", quantity=1, price=80, alert_id="again")
    assert refused.status == "rejected" and "RISK_DAILY_LOSS_LIMIT" in (refused.reason or "")
    with database.read() as session:
        assert read_halt(session).by == "daily_loss_limit"
