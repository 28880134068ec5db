"""Every alert the README's "Writing TradingView alerts" section shows, as TradingView
renders it, is accepted by the webhook and traded (or recorded as a no-op) on paper; and
every field name the parser accepts is documented there."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from flask import Flask
from flask.testing import FlaskClient

from app import services
from tests.support import ROOT, SECRET
from trading.alerts.spellings import FIELDS
from trading.brokers.paper import PaperBroker
from trading.ledger.alerts import find_alert
from trading.ledger.inbox import find_receipt
from trading.processing import AlertProcessor

SECTION = re.search(
    r"## Writing TradingView alerts\n(.*?)\n### What the webhook answers",
    (ROOT / "README.md").read_text(),
    re.S,
)
assert SECTION is not None
TEXT = SECTION[1]
# TradingView's placeholders, rendered as a firing alert would render them.
RENDERED = {
    "{{ticker}}": "AAPL",
    "{{strategy.order.action}}": "buy",
    "{{strategy.position_size}}": "3",
    "{{strategy.order.id}}": "Long",
    "{{close}}": "150",
}


def examples() -> list[str]:
    inline = [e for e in re.findall(r"`(\{\"[^`]*\})`", TEXT) if "<one of" not in e]
    blocks = re.findall(r"```json\n(.*?)```", TEXT, re.S)
    return inline + blocks


def rendered(example: str, n: int) -> dict[str, object]:
    text = example.replace("<your secret>", SECRET).replace('"..."', json.dumps(SECRET))
    text = text.replace("{{timenow}}", datetime.now(UTC).isoformat())
    for placeholder, value in RENDERED.items():
        text = text.replace(placeholder, value)
    body: dict[str, object] = json.loads(text)
    body.setdefault("secret", SECRET)
    body["alert_id"] = f"readme-{n}"
    return body


def test_the_section_shows_examples_of_every_case() -> None:
    assert len(examples()) >= 18


@pytest.mark.parametrize("n", range(len(examples())))
def test_each_readme_alert_is_accepted_and_traded(app: Flask, client: FlaskClient, n: int) -> None:
    body = rendered(examples()[n], n)
    response = client.post("/webhook/tradingview", data=json.dumps(body))
    assert response.status_code == 202, (body, response.json)
    svc = services(app)
    with svc.inbox.read() as session:
        receipt = find_receipt(session, f"readme-{n}")
        assert receipt is not None
        key = receipt.key
    paper = PaperBroker(svc.database, Decimal(1000000))
    processor = AlertProcessor(
        svc.database, paper, inbox=svc.inbox, stuck_after=timedelta(seconds=30)
    )
    outcome = processor.process(key)
    for attempt in range(1, 10):
        if outcome.retry_in is None:
            break
        outcome = processor.process(key, attempt)
    assert outcome.status == "done", (body, outcome)
    with svc.database.read() as session:
        alert = find_alert(session, key)
        assert alert is not None and alert.plan is not None


def test_every_accepted_field_name_is_documented() -> None:
    for canonical, spelling in FIELDS.items():
        for name in spelling.names:
            assert f"`{name}`" in TEXT, (canonical, name)
