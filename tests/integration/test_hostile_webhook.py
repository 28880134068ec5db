"""Issue 8 items 5-9 through the real Flask app over a real ledger and Redis."""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import quote

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from app import services
from config.settings import Settings
from tests.integration.test_webhook import SEED, URL, counts, queued
from tests.support import SECRET, TOKEN
from trading.ledger.models import InboxRecord

API = {"Authorization": f"Bearer {TOKEN}"}


def signed(fields: dict[str, Any]) -> bytes:
    return json.dumps({"secret": SECRET, **fields}).encode()


def test_readme_template_alert_id_with_spaces_is_queued_and_shown(client: FlaskClient) -> None:
    alert_id = "AAPL-Long Entry-2026-12-03T13:30:00Z"
    response = client.post(URL, data=signed({**SEED, "alert_id": alert_id}))
    assert response.status_code == 202 and response.json["alert_id"] == alert_id
    shown = client.get(f"/api/alerts/{quote(alert_id)}", headers=API)
    assert shown.status_code == 200 and shown.json["alert_id"] == alert_id


@pytest.mark.parametrize(
    "raw",
    [
        json.dumps({"message": json.dumps({"secret": SECRET, **SEED})}).encode(),
        signed({**SEED, "exchange": "nasdaq"}),
        signed({**SEED, "symbol": "nasdaq:aapl"}),
        b"\xef\xbb\xbf\n" + signed(SEED),
        b"\xef\xbb\xbf\r\n\r\n" + signed(SEED) + b"\n",
    ],
    ids=["secret-in-message", "lower-exchange", "lower-prefix", "bom-newline", "bom-crlf"],
)
def test_what_the_readme_promises_is_accepted(client: FlaskClient, raw: bytes) -> None:
    response = client.post(URL, data=raw, content_type="text/plain")
    assert response.status_code == 202, response.json


DEEP: Any = 1
for _level in range(9):
    DEEP = {"x": DEEP}


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        (signed({**SEED, "tp": 160}), "tp"),
        (signed({**SEED, "StopLoss": 140}), "StopLoss"),
        (signed({**SEED, "trail_offset": 2}), "trail_offset"),
        (signed({**SEED, "Leverage": 5}), "Leverage"),
        (signed({**SEED, "reduceOnly": True}), "reduceOnly"),
        (signed({**SEED, "takeProfit": {"limitPrice": 1}}), "takeProfit"),
        (json.dumps({"message": json.dumps({"secret": SECRET, **SEED, "sl": 1})}).encode(), "sl"),
        (signed({**SEED, "symbol": "\u017fpy"}), "symbol"),
        (signed({**SEED, "symbol": "NASDAQ\n:X"}), "symbol"),
        (signed({**SEED, "quantity": "\uff11\uff10"}), "quantity"),
        (signed({**SEED, "quantity": "1_0"}), "quantity"),
        (signed({**SEED, "quantity": "1e-400"}), "quantity"),
        (
            f'{{"secret":"{SECRET}","symbol":"AAPL","action":"buy","action":"sell",'
            '"quantity":1}'.encode(),
            "action",
        ),
        (
            b"order buy @ 1 filled on AAPL. New strategy position is 1 "
            b"order buy @ 1 filled on MSFT. New strategy position is 1",
            "body",
        ),
        (signed({**SEED, "timestamp": "9999-12-31T23:59:59-12:00"}), "timestamp"),
        (signed({**SEED, "timestamp": "0001-01-01T00:00:00+14:00"}), "timestamp"),
        (signed({**SEED, "timestamp": "9" * 20}), "timestamp"),
        (signed({**SEED, "extra": DEEP}), "body"),
        (signed(SEED)[:-1] + b', "extra": ' + b"[" * 5000 + b"]" * 5000 + b"}", "body"),
    ],
)
def test_risky_or_hostile_alert_is_400_naming_the_field_and_writes_nothing(
    client: FlaskClient, app: Flask, settings: Settings, raw: bytes, field: str
) -> None:
    before = queued(settings)
    response = client.post(URL, data=raw, query_string={"secret": SECRET})
    assert response.status_code == 400, response.json
    assert field in response.json["errors"], response.json
    assert counts(app) == (0, 0, 0)
    assert queued(settings) == before


def test_alert_view_survives_a_body_stored_before_nesting_was_bounded(
    client: FlaskClient, app: Flask
) -> None:
    alert_id = f"deep-{time.time_ns()}"
    assert client.post(URL, data=signed({**SEED, "alert_id": alert_id})).status_code == 202
    with services(app).inbox.write() as session:
        record = session.scalars(select(InboxRecord)).one()
        record.body = '{"x":' + "[" * 50_000 + "]" * 50_000 + "}"
    shown = client.get(f"/api/alerts/{alert_id}", headers=API)
    assert shown.status_code == 200
    assert shown.json["status"] == "accepted" and shown.json["body"] is None
