"""The alert templates: each, as TradingView renders it, is accepted by the webhook and means
what its title says; GET /api/templates serves them behind the API token; the CLI prints
them from a running web process."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.serving import make_server

from app import services
from tests.support import ROOT, SECRET, TOKEN, base_env, free_port
from trading.alerts.model import Alert
from trading.alerts.templates import Template, render, sample_values, templates
from trading.brokers.paper import PaperBroker
from trading.ledger.alerts import find_alert
from trading.ledger.inbox import find_receipt
from trading.ledger.models import OrderRecord
from trading.processing import AlertProcessor

URL = "/webhook/tradingview"
API = {"Authorization": f"Bearer {TOKEN}"}
# What each template must ask for: its intent, and the strategy it keeps a position for.
EXPECTED: dict[str, tuple[str, str | None]] = {
    "strategy": ("target", None),
    "indicator-buy": ("add", None),
    "indicator-sell": ("add", None),
    "bracket": ("add", None),
    "close": ("close", None),
    "reverse": ("reverse", None),
    "protect": ("protect", None),
    "per-strategy": ("target", "trend"),
    "traderspost": ("target", None),
}
BY_NAME = {t.name: t for t in templates(SECRET)}


def send(client: FlaskClient, template: Template, sample: dict[str, str]) -> str:
    """Post the template as TradingView would once rendered; the public alert id."""
    response = client.post(
        URL, data=render(template.message, sample).encode(), content_type="application/json"
    )
    answer = response.json
    assert response.status_code == 202 and answer is not None, (template.name, answer)
    assert answer["status"] == "queued"
    alert_id: str = answer["alert_id"]
    return alert_id


def received(app: Flask, alert_id: str) -> tuple[str, Alert]:
    """The key the webhook recorded the alert under, and the alert as it validated it."""
    with services(app).inbox.read() as session:
        receipt = find_receipt(session, alert_id)
        assert receipt is not None
        return receipt.key, Alert.from_json(json.loads(receipt.parsed))


def process_on_paper(app: Flask, paper: PaperBroker, key: str) -> None:
    svc = services(app)
    processor = AlertProcessor(
        svc.database, paper, inbox=svc.inbox, stuck_after=timedelta(seconds=30)
    )
    outcome = processor.process(key)
    for attempt in range(1, 10):
        if outcome.retry_in is None:
            break
        outcome = processor.process(key, attempt)
    assert outcome.status == "done", (key, outcome)


def test_every_template_has_an_expected_meaning() -> None:
    assert set(BY_NAME) == set(EXPECTED)


@pytest.mark.parametrize("name", list(EXPECTED))
def test_each_template_is_accepted_and_means_its_intent(
    app: Flask, client: FlaskClient, name: str
) -> None:
    alert_id = send(client, BY_NAME[name], sample_values())
    key, alert = received(app, alert_id)
    intent, strategy = EXPECTED[name]
    assert alert.intent == intent
    assert alert.strategy == strategy
    assert alert.symbol == "AAPL"
    if name in ("bracket", "protect"):
        assert alert.take_profit is not None and alert.take_profit.percent == 2
        assert alert.stop_loss is not None and alert.stop_loss.trigger is not None
        assert alert.stop_loss.trigger.percent == 1
    if intent == "target" and name != "traderspost":
        assert alert.target_position == 3
    # Planned and traded (or recorded as nothing to do) on paper, like any alert.
    process_on_paper(app, PaperBroker(services(app).database, Decimal(1000000)), key)
    with services(app).database.read() as session:
        record = find_alert(session, key)
        assert record is not None and record.plan is not None


def test_protect_replaces_the_exits_of_a_position_the_buy_template_opened(
    app: Flask, client: FlaskClient
) -> None:
    paper = PaperBroker(services(app).database, Decimal(1000000))
    sample = sample_values()
    bought, _ = received(app, send(client, BY_NAME["indicator-buy"], sample))
    process_on_paper(app, paper, bought)
    protected, _ = received(app, send(client, BY_NAME["protect"], sample))
    process_on_paper(app, paper, protected)
    with services(app).database.read() as session:
        record = find_alert(session, protected)
        assert record is not None and record.plan is not None
        assert record.plan.kind == "protect"
        orders = session.scalars(select(OrderRecord).where(OrderRecord.alert_pk == record.id)).all()
        legs = {order.leg: order for order in orders}
        assert set(legs) == {"tp", "sl"}
        assert all(order.side == "sell" and order.quantity == 1 for order in orders)
        close = Decimal(sample["{{close}}"])
        tp_price, sl_price = legs["tp"].limit_price, legs["sl"].stop_price
        assert tp_price is not None and sl_price is not None
        assert sl_price < close < tp_price


def test_templates_route_needs_the_token_and_fills_in_the_secret(client: FlaskClient) -> None:
    assert client.get("/api/templates").status_code == 401
    wrong = client.get("/api/templates", headers={"Authorization": "Bearer not-the-token"})
    assert wrong.status_code == 401
    response = client.get("/api/templates", headers=API)
    assert response.status_code == 200 and response.json is not None
    listed = response.json["templates"]
    assert [t["name"] for t in listed] == list(BY_NAME)
    for shown in listed:
        assert set(shown) == {"name", "title", "when_to_use", "message"}
        assert shown["message"] == BY_NAME[shown["name"]].message
        assert json.loads(shown["message"])["secret"] == SECRET


@pytest.fixture
def served(app: Flask) -> Iterator[str]:
    """The app on a real socket, for the CLI in another process to call."""
    server = make_server("127.0.0.1", free_port(), app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.port}"
    server.shutdown()
    thread.join(timeout=5)


def cli(url: str, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app.cli", "--url", url, "templates", *args],
        cwd=ROOT,
        env=base_env(**env),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_cli_prints_every_template(served: str) -> None:
    done = cli(served)
    assert done.returncode == 0, done.stderr
    for template in BY_NAME.values():
        assert template.title in done.stdout
        assert template.message in done.stdout
    assert SECRET in done.stdout


def test_cli_prints_one_template_by_name(served: str) -> None:
    done = cli(served, "--name", "close")
    assert done.returncode == 0, done.stderr
    assert BY_NAME["close"].message in done.stdout
    assert BY_NAME["strategy"].title not in done.stdout
    unknown = cli(served, "--name", "nope")
    assert unknown.returncode == 2
    assert "strategy" in unknown.stderr and unknown.stdout == ""


def test_cli_with_a_wrong_token_shows_the_refusal(served: str) -> None:
    done = cli(served, API_TOKEN="some-other-token-0123")
    assert done.returncode == 1
    assert "401" in done.stdout and SECRET not in done.stdout
