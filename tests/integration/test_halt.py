"""The kill switch through HTTP on paper: halt and resume, what a halt lets through, the
broker's own check against a stale worker, and a halt that outlives the web process."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from werkzeug.serving import make_server

from app import create_app, services
from config.halt import HALT_KEY, HaltFlag
from config.settings import Settings
from tests.support import ROOT, SECRET, TOKEN, base_env, free_port
from trading.brokers import port
from trading.brokers.paper import PaperBroker
from trading.errors import OrderRejected
from trading.ledger.inbox import find_receipt
from trading.ledger.models import PaperSubmission
from trading.processing import AlertProcessor, Outcome

AUTH = {"Authorization": f"Bearer {TOKEN}"}


def paper(app: Flask) -> PaperBroker:
    return PaperBroker(services(app).database, Decimal(100000))


def trade(app: Flask, client: FlaskClient, **fields: Any) -> Outcome:
    """An alert through the webhook, then processed by a worker on paper."""
    body = {"secret": SECRET, "symbol": "AAPL", "price": 100, **fields}
    if "message" in fields:
        del body["symbol"]  # the strategy sentence names it
    response = client.post("/webhook/tradingview", data=json.dumps(body))
    assert response.status_code == 202, response.json
    svc = services(app)
    with svc.inbox.read() as session:
        receipt = find_receipt(session, fields["alert_id"])
        assert receipt is not None
        key = receipt.key
    return AlertProcessor(
        svc.database, paper(app), inbox=svc.inbox, stuck_after=timedelta(seconds=30)
    ).process(key)


def submissions(app: Flask) -> int:
    with services(app).database.read() as session:
        return session.scalar(select(func.count()).select_from(PaperSubmission)) or 0


def test_halt_needs_the_token_and_is_shown_by_health_and_ready(
    client: FlaskClient, settings: Settings
) -> None:
    assert client.post("/api/halt").status_code == 401
    halted = client.post("/api/halt", json={"reason": "news at 14:30"}, headers=AUTH)
    assert halted.status_code == 200, halted.json
    assert (halted.json["halted"], halted.json["reason"], halted.json["by"]) == (
        True,
        "news at 14:30",
        "api",
    )
    health = client.get("/health").json
    assert health["halted"] is True and health["checks"]["halt"]["reason"] == "news at 14:30"
    ready = client.get("/ready")
    assert ready.status_code == 503
    assert any("halted" in reason for reason in ready.json["reasons"])
    # Published for the IB gateway at once.
    flag = HaltFlag.decode(redis.Redis.from_url(settings.redis_url).get(HALT_KEY))
    assert flag == HaltFlag(True, "news at 14:30")
    assert client.post("/api/resume", headers=AUTH).json["halted"] is False
    assert client.get("/health").json["halted"] is False
    bad = client.post("/api/halt", json={"reason": ""}, headers=AUTH)
    assert bad.status_code == 400 and "reason" in bad.json["errors"]


def test_a_halt_refuses_openings_and_lets_closes_through(app: Flask, client: FlaskClient) -> None:
    assert trade(app, client, action="buy", quantity=5, alert_id="before").status == "done"
    client.post("/api/halt", json={"reason": "daily review"}, headers=AUTH)
    sent = submissions(app)
    refused = trade(app, client, action="buy", quantity=1, alert_id="during")
    assert refused.status == "rejected" and "halted" in (refused.reason or "")
    reversal = trade(app, client, action="reverse", alert_id="flip")
    assert reversal.status == "rejected"
    assert submissions(app) == sent  # nothing reached the broker
    assert paper(app).position_in(port.Instrument("AAPL")).quantity == 5
    closed = trade(app, client, action="close", alert_id="out")
    assert closed.status == "done"
    assert paper(app).position_in(port.Instrument("AAPL")).quantity == 0
    client.post("/api/resume", headers=AUTH)
    assert trade(app, client, action="buy", quantity=1, alert_id="after").status == "done"


def test_the_broker_refuses_a_stale_workers_opening_while_halted(
    app: Flask, client: FlaskClient
) -> None:
    client.post("/api/halt", json={"reason": "stop"}, headers=AUTH)
    opening = port.OrderRequest(
        reference="tvb.stale.entry",
        symbol="MSFT",
        side="buy",
        quantity=Decimal(1),
        reference_price=Decimal(300),
    )
    with pytest.raises(OrderRejected, match="halted"):
        paper(app).submit(opening)
    closing = port.OrderRequest(
        reference="tvb.stale.close",
        symbol="MSFT",
        side="sell",
        quantity=Decimal(1),
        reference_price=Decimal(300),
        reduces_only=True,
    )
    assert paper(app).submit(closing).status == port.FILLED


def test_a_halt_survives_a_restart_of_the_web(settings: Settings, client: FlaskClient) -> None:
    client.post("/api/halt", json={"reason": "until Monday"}, headers=AUTH)
    restarted = create_app(settings).test_client()
    assert restarted.get("/health").json["halted"] is True
    assert restarted.get("/ready").status_code == 503


def test_flatten_asks_for_confirmation_then_closes_everything_but_manual_orders(
    app: Flask, client: FlaskClient
) -> None:
    trade(app, client, action="buy", quantity=5, alert_id="long")
    trade(
        app,
        client,
        symbol="MSFT",
        action="buy",
        quantity=1,
        price=300,
        order_type="limit",
        limit_price=250,
        alert_id="resting",
    )
    manual = port.OrderRequest(
        reference="manual-1",
        symbol="NVDA",
        side="buy",
        quantity=Decimal(1),
        order_type="limit",
        limit_price=Decimal(1),
        reference_price=Decimal(120),
    )
    paper(app).submit(manual)
    preview = client.post("/api/flatten", headers=AUTH)
    assert preview.status_code == 200, preview.json
    assert preview.json["positions"] == [{"symbol": "AAPL", "quantity": 5}]
    assert preview.json["working_orders"] == {"MSFT": ["tvb.resting.entry"]}
    assert paper(app).position_in(port.Instrument("AAPL")).quantity == 5  # nothing yet
    wrong = client.post("/api/flatten", json={"confirm": "guess"}, headers=AUTH)
    assert wrong.status_code == 409
    done = client.post("/api/flatten", json={"confirm": preview.json["confirm"]}, headers=AUTH)
    assert done.status_code == 202, done.json
    svc = services(app)
    worker = AlertProcessor(
        svc.database, paper(app), inbox=svc.inbox, stuck_after=timedelta(seconds=30)
    )
    for alert_id in done.json["alerts"]:
        with svc.inbox.read() as session:
            receipt = find_receipt(session, alert_id)
            assert receipt is not None
            key = receipt.key
        assert worker.process(key).status == "done"
    assert paper(app).position_in(port.Instrument("AAPL")).quantity == 0
    assert paper(app).position_in(port.Instrument("MSFT")).working == ()
    still = paper(app).order_by_reference("manual-1")
    assert still is not None and still.status == port.SUBMITTED
    again = client.post("/api/flatten", json={"confirm": preview.json["confirm"]}, headers=AUTH)
    assert again.status_code == 409  # a token works once


def test_health_reports_a_strategy_that_drifted_from_the_bridge(
    app: Flask, client: FlaskClient
) -> None:
    sentence = "order buy @ 1 filled on AAPL. New strategy position is 3"
    assert trade(app, client, message=sentence, alert_id="drifted").status == "done"
    health = client.get("/health").json
    assert health["checks"]["drift"]["alerts"] == [{"alert_id": "drifted", "drift": "2"}]
    assert any("drifted" in w or "different from the bridge" in w for w in health["warnings"])


def run_cli(url: str, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app.cli", "--url", url, *args],
        cwd=ROOT,
        env=base_env(),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_cli_halts_resumes_and_flattens_only_when_told_to(
    app: Flask, client: FlaskClient
) -> None:
    trade(app, client, action="buy", quantity=2, alert_id="cli-long")
    server = make_server("127.0.0.1", free_port(), app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.port}"
    try:
        halted = run_cli(url, "halt", "--reason", "from the shell")
        assert halted.returncode == 0, halted.stderr
        assert client.get("/health").json["checks"]["halt"]["reason"] == "from the shell"
        assert run_cli(url, "resume").returncode == 0
        assert client.get("/health").json["halted"] is False
        declined = run_cli(url, "flatten", stdin="no\n")
        assert declined.returncode == 1 and "nothing done" in declined.stdout
        assert "AAPL" in declined.stdout
        confirmed = run_cli(url, "flatten", stdin="flatten\n")
        assert confirmed.returncode == 0, confirmed.stdout + confirmed.stderr
        assert '"status": "flattening"' in confirmed.stdout
    finally:
        server.shutdown()
        thread.join(timeout=5)
