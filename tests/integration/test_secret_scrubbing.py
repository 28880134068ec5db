"""Issue 8 item 11: the configured secret never reaches the ledger, the API or the logs."""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
from flask import Flask
from flask.testing import FlaskClient
from pydantic import SecretStr
from sqlalchemy import select

from app import create_app, services
from config.settings import Settings
from tests.integration.test_webhook import SEED, URL
from tests.support import TOKEN
from trading.ledger.models import AlertRecord, InboxRecord, RejectionRecord

# Characters that URL-encoding and JSON-escaping change, so each encoding differs.
SECRET = 'Hunter2 s\u00e9cret/+&"x'
RAW = SECRET.encode()
ENCODED = [
    SECRET,
    quote(SECRET, safe=""),
    json.dumps(SECRET)[1:-1],
    base64.b64encode(RAW).decode(),
    RAW.hex(),
    RAW.hex().upper(),
]
API = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def app(settings: Settings) -> Iterator[Flask]:
    yield create_app(settings.model_copy(update={"tradingview_webhook_secret": SecretStr(SECRET)}))


def leaks(text: str) -> list[str]:
    """Which forms of the secret (if any) can be read in the text, NULs ignored (UTF-16)."""
    readable = text.replace("\x00", "").replace("\\u0000", "")
    found = [form for form in ENCODED if form in readable]
    for escaped in (json.dumps(form)[1:-1] for form in ENCODED):
        if escaped in readable:
            found.append(escaped)
    return found


def stored_text(app: Flask) -> str:
    with services(app).inbox.read() as session:
        receipts = [(a.body, a.parsed, a.alert_id) for a in session.scalars(select(InboxRecord))]
        rejections = [(r.reason, r.excerpt) for r in session.scalars(select(RejectionRecord))]
    with services(app).database.read() as session:
        alerts = [(a.body, a.parsed, a.alert_id) for a in session.scalars(select(AlertRecord))]
        alerts += receipts
    return json.dumps([alerts, rejections])


REJECTED_BODIES: dict[str, bytes] = {
    "password": json.dumps({"password": SECRET, "symbol": "AAPL"}).encode(),
    "api_key": json.dumps({"api_key": SECRET, "symbol": "AAPL"}).encode(),
    "webhook_secret": json.dumps({"webhook_secret": SECRET, "symbol": "AAPL"}).encode(),
    "leading-space": json.dumps({" secret": SECRET, "symbol": "AAPL"}).encode(),
    "in-message": json.dumps(
        {"message": json.dumps({"secret": SECRET, "action": "hold"})}
    ).encode(),
    "in-a-value": json.dumps({"secret": SECRET, "symbol": "AAPL", "comment": SECRET}).encode(),
    "in-an-error": json.dumps({"secret": SECRET, "symbol": SECRET, "action": "buy"}).encode(),
    "utf-16": json.dumps({"secret": SECRET, "symbol": "AAPL"}).encode("utf-16"),
    "url-encoded": json.dumps({"note": quote(SECRET, safe=""), "symbol": "AAPL"}).encode(),
    "base64": json.dumps({"note": ENCODED[3], "symbol": "AAPL"}).encode(),
    "hex": json.dumps({"note": ENCODED[5], "symbol": "AAPL"}).encode(),
    "not-json": f"symbol=AAPL pass={SECRET}".encode(),
    "broken-json": f'{{"password": "{SECRET}", "symbol": '.encode(),
}


@pytest.mark.parametrize("name", sorted(REJECTED_BODIES))
def test_rejections_never_show_the_secret(
    client: FlaskClient, app: Flask, caplog: pytest.LogCaptureFixture, name: str
) -> None:
    caplog.set_level(logging.DEBUG)
    response = client.post(URL, data=REJECTED_BODIES[name])
    assert response.status_code in {400, 401}
    listed = client.get("/api/rejections", headers=API)
    assert listed.status_code == 200 and len(listed.json["rejections"]) == 1
    assert leaks(listed.get_data(as_text=True)) == []
    assert leaks(stored_text(app)) == []
    assert leaks(caplog.text) == []


def accepted_body(**extra: Any) -> bytes:
    return json.dumps({"secret": SECRET, **SEED, **extra}).encode()


def test_accepted_alert_is_stored_and_shown_without_the_secret(
    client: FlaskClient, app: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    body = accepted_body(
        alert_id="scrub-1",
        password=SECRET,
        api_key="another-credential",
        comment=f"copied {SECRET} by mistake",
        note={"inner": [ENCODED[1], ENCODED[3], ENCODED[4]]},
        **{" secret": SECRET, SECRET: "as a key"},
    )
    assert client.post(URL, data=body).status_code == 202
    shown = client.get("/api/alerts/scrub-1", headers=API)
    assert shown.status_code == 200 and shown.json["body"]["comment"] == "copied *** by mistake"
    text = shown.get_data(as_text=True)
    assert leaks(text) == [] and "another-credential" not in text
    assert leaks(stored_text(app)) == [] and "another-credential" not in stored_text(app)
    assert leaks(caplog.text) == []


def test_secret_in_the_message_authenticates_and_is_not_stored(
    client: FlaskClient, app: Flask
) -> None:
    inner = json.dumps({"secret": SECRET, **SEED, "alert_id": "scrub-msg"})
    assert client.post(URL, data=json.dumps({"message": inner})).status_code == 202
    assert leaks(stored_text(app)) == []


def test_alert_id_carrying_the_secret_is_refused(client: FlaskClient, app: Flask) -> None:
    response = client.post(URL, data=accepted_body(alert_id=f"id-{SECRET}"))
    assert response.status_code == 400 and "alert_id" in response.json["errors"]
    assert leaks(stored_text(app)) == []


def test_rows_stored_before_scrubbing_are_masked_when_shown(
    client: FlaskClient, app: Flask
) -> None:
    assert client.post(URL, data=accepted_body(alert_id="old-row")).status_code == 202
    client.post(URL, data=b"not an alert")
    with services(app).inbox.write() as session:
        session.scalars(select(InboxRecord)).one().body = json.dumps({"comment": SECRET})
        session.scalars(select(RejectionRecord)).one().excerpt = f"old {SECRET}"
    alert = client.get("/api/alerts/old-row", headers=API).get_data(as_text=True)
    rejections = client.get("/api/rejections", headers=API).get_data(as_text=True)
    assert leaks(alert) == [] and leaks(rejections) == []


def test_our_own_messages_are_not_masked(client: FlaskClient) -> None:
    response = client.post(URL, data=b'{"secret": "guess", "symbol": "AAPL"}')
    assert response.status_code == 401
    listed = client.get("/api/rejections", headers=API).json["rejections"]
    assert "?secret= parameter" in response.json["errors"]["secret"][0]
    assert "?secret= parameter" in listed[0]["reason"]
