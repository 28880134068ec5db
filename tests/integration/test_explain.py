"""POST /api/explain on paper: the plan an alert would make now, and never an order."""

from __future__ import annotations

import json
from decimal import Decimal

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from app import services
from tests.support import TOKEN
from trading.brokers.paper import PaperBroker
from trading.brokers.port import OrderRequest
from trading.ledger.models import AlertRecord, PaperSubmission, PlanRecord

AUTH = {"Authorization": f"Bearer {TOKEN}"}


def counts(app: Flask) -> tuple[int, int, int]:
    with services(app).database.read() as session:
        return tuple(  # type: ignore[return-value]
            session.scalar(select(func.count()).select_from(model)) or 0
            for model in (PaperSubmission, AlertRecord, PlanRecord)
        )


def explain(client: FlaskClient, body: dict[str, object]) -> dict[str, object]:
    response = client.post("/api/explain", data=json.dumps(body), headers=AUTH)
    assert response.status_code == 200, response.json
    answer: dict[str, object] = response.json
    return answer


def test_explain_shows_the_plan_and_sends_nothing(app: Flask, client: FlaskClient) -> None:
    paper = PaperBroker(services(app).database, Decimal(100000))
    paper.submit(
        OrderRequest("tvb.held.entry", "AAPL", "buy", Decimal(5), reference_price=Decimal(100))
    )
    before = counts(app)
    reversal = explain(client, {"symbol": "AAPL", "action": "reverse", "price": 100})
    assert reversal["would"] == "trade" and reversal["position"] == "5"
    plan = reversal["plan"]
    assert isinstance(plan, dict)
    assert [(leg["leg"], leg["side"], leg["quantity"]) for leg in plan["legs"]] == [
        ("close", "sell", "5")
    ]
    assert [(leg["leg"], leg["quantity"]) for leg in plan["after_the_close_fills"]] == [
        ("open", "5")
    ]
    bracket = explain(
        client,
        {"symbol": "MSFT", "action": "buy", "quantity": 2, "price": 400, "stop_loss_percent": 2},
    )
    assert [leg["leg"] for leg in bracket["plan"]["legs"]] == ["entry", "sl"]  # type: ignore[index]
    flat = explain(client, {"symbol": "NVDA", "action": "close"})
    assert (flat["would"], flat["reason"]) == ("nothing", "already flat in NVDA")
    refused = explain(client, {"symbol": "AAPL", "action": "buy", "quantity": "1.5", "price": 1})
    assert refused["would"] in ("trade", "reject")  # paper takes fractions
    assert counts(app) == before  # nothing recorded, nothing sent


def test_explain_names_the_rule_that_would_refuse_and_the_bad_field(
    client: FlaskClient,
) -> None:
    client.post("/api/halt", json={"reason": "lunch"}, headers=AUTH)
    halted = explain(client, {"symbol": "AAPL", "action": "buy", "quantity": 1, "price": 1})
    assert halted["would"] == "reject" and "halted" in str(halted["reason"])
    bad = client.post("/api/explain", data=json.dumps({"symbol": "AAPL"}), headers=AUTH)
    assert bad.status_code == 400 and "action" in bad.json["errors"]
    assert client.post("/api/explain", data="{}").status_code == 401
