"""Failed-authentication limits, clock skew on /health, retention."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

from flask.testing import FlaskClient
from sqlalchemy import func, select

from app import create_app, services
from config.settings import Settings
from tests.integration.test_processing import accept, processor
from tests.ledger_support import inbox_of
from tests.support import SECRET
from trading.ledger.db import Database
from trading.ledger.models import AlertRecord, FillRecord, OrderRecord, RejectionRecord
from trading.ledger.prune import prune

URL = "/webhook/tradingview"


def client_for(settings: Settings, **overrides: object) -> FlaskClient:
    return create_app(settings.model_copy(update=overrides)).test_client()


def test_failed_authentication_is_limited_per_address(settings: Settings) -> None:
    client = client_for(settings, trusted_proxies="127.0.0.1", auth_failures_per_minute=3)
    stranger = {"X-Forwarded-For": f"203.0.113.{int(time.time()) % 200}"}
    statuses = [
        client.post(URL, data=b'{"secret":"guess"}', headers=stranger).status_code for _ in range(5)
    ]
    assert statuses == [401, 401, 401, 429, 429]
    # Even the right secret waits out the minute from that address...
    good = json.dumps({"secret": SECRET, "symbol": "AAPL", "action": "buy", "quantity": 1})
    assert client.post(URL, data=good, headers=stranger).status_code == 429
    # ...but nobody else is affected, least of all TradingView's shared addresses.
    tradingview = {"X-Forwarded-For": "52.89.214.238"}
    for _ in range(5):
        assert client.post(URL, data=b"{}", headers=tradingview).status_code == 401
    assert client.post(URL, data=good, headers=tradingview).status_code == 202


def test_health_reports_clock_skew(settings: Settings) -> None:
    client = client_for(settings)
    for lag in (2, 3, 4):
        body = {
            "secret": SECRET,
            "symbol": "AAPL",
            "action": "buy",
            "quantity": 1,
            "timestamp": int(time.time()) - lag,
            "alert_id": f"skew-{lag}",
        }
        assert client.post(URL, data=json.dumps(body)).status_code == 202
    skew = client.get("/health").json["checks"]["clock_skew"]
    assert skew["samples"] == 3 and 2 <= skew["median_seconds"] <= 5


def count(database: Database, model: type) -> int:
    with database.read() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def test_prune_removes_old_finished_alerts_only(sqlite_database: Database) -> None:
    old = accept(sqlite_database, symbol="AAPL", action="buy", quantity=1, price=10)
    resting = accept(
        sqlite_database,
        symbol="AAPL",
        action="buy",
        quantity=1,
        price=10,
        order_type="limit",
        limit_price=5,
        alert_id="resting",
    )
    for key in (old, resting):
        processor(sqlite_database).process(key)
    fresh = accept(
        sqlite_database, symbol="MSFT", action="sell", quantity=1, price=10, alert_id="fresh"
    )
    processor(sqlite_database).process(fresh)
    with sqlite_database.write() as session:
        for alert in session.scalars(select(AlertRecord).where(AlertRecord.key != fresh)):
            alert.finished_at = datetime.now(UTC) - timedelta(days=40)
    with inbox_of(sqlite_database).write() as session:
        session.add(
            RejectionRecord(
                at=datetime.now(UTC) - timedelta(days=40),
                status_code=400,
                reason="old",
                source_address="x",
                excerpt="",
            )
        )
    inbox = inbox_of(sqlite_database)
    now = datetime.now(UTC)
    report = prune(sqlite_database, inbox=inbox, now=now, retention=timedelta(days=30))
    assert (report.alerts, report.rejections) == (1, 1)
    assert count(sqlite_database, AlertRecord) == 2  # the resting order's alert stays
    assert count(sqlite_database, OrderRecord) == 2
    assert count(sqlite_database, FillRecord) == 1
    later = prune(
        sqlite_database,
        inbox=inbox,
        now=datetime.now(UTC) + timedelta(days=2),
        retention=timedelta(days=30),
    )
    # Every receipt arrived just now, so all three claims are still held, then released.
    assert later.released_keys == 3


def test_prune_runs_from_the_app_database(settings: Settings) -> None:
    app = create_app(settings)
    svc = services(app)
    report = prune(
        svc.database, inbox=svc.inbox, now=datetime.now(UTC), retention=timedelta(days=1)
    )
    assert report.alerts == 0
