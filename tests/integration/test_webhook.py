"""The webhook through Flask's test client on a real ledger and a real Redis."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from typing import Any

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st
from sqlalchemy import func, select

import app.queue as app_queue
from app import create_app, services
from config.handoff import ACCEPTED_LIST
from config.settings import Settings
from tests.support import SECRET, TOKEN
from trading.ledger.models import InboxRecord, OrderRecord, PlanRecord, RejectionRecord

URL = "/webhook/tradingview"


def counts(app: Flask) -> tuple[int, int, int]:
    """Alerts received (inbox receipts), plans and orders (the ledger's)."""
    with services(app).inbox.read() as session:
        received = session.scalar(select(func.count()).select_from(InboxRecord)) or 0
    with services(app).database.read() as session:
        return (
            received,
            session.scalar(select(func.count()).select_from(PlanRecord)) or 0,
            session.scalar(select(func.count()).select_from(OrderRecord)) or 0,
        )


def queued(settings: Settings) -> int:
    """Alerts handed over to the workers' relay."""
    return int(redis.Redis.from_url(settings.redis_url).llen(ACCEPTED_LIST))


def post(client: FlaskClient, body: Any, **kwargs: Any) -> Any:
    data = body if isinstance(body, bytes | str) else json.dumps({"secret": SECRET, **body})
    return client.post(URL, data=data, **kwargs)


SEED = {"symbol": "AAPL", "action": "buy", "price": 150.0, "quantity": 1}


class STALE_BY:
    """A timestamp this many seconds away from the moment the test runs."""

    def __init__(self, seconds: int) -> None:
        self.seconds = seconds


def test_seed_alert_is_recorded_and_enqueued(
    client: FlaskClient, app: Flask, settings: Settings
) -> None:
    before = queued(settings)
    response = post(
        client,
        {**SEED, "alert_id": "seed-1", "timestamp": int(time.time())},
        content_type="text/plain",
    )
    assert response.status_code == 202
    assert response.json == {"status": "queued", "alert_id": "seed-1"}
    assert counts(app)[0] == 1
    assert services(app).handoff.wait_idle()
    assert queued(settings) == before + 1
    with services(app).inbox.read() as session:
        stored = session.scalars(select(InboxRecord)).one()
        assert SECRET not in stored.body and "secret" not in json.loads(stored.body)


def test_duplicate_and_conflict(client: FlaskClient, app: Flask) -> None:
    first = post(client, {**SEED, "alert_id": "dup-1"})
    again = post(client, {**SEED, "alert_id": "dup-1"})
    other = post(client, {**SEED, "alert_id": "dup-1", "quantity": 2})
    assert first.status_code == 202
    assert again.status_code == 200 and again.json["status"] == "duplicate"
    assert again.json["alert_id"] == "dup-1" and again.json["state"] == "accepted"
    assert other.status_code == 409 and "alert_id" in other.json["errors"]
    assert counts(app)[0] == 1


def test_body_without_alert_id_dedups_by_digest(client: FlaskClient, app: Flask) -> None:
    assert post(client, SEED).status_code == 202
    repeat = post(client, SEED)
    assert repeat.status_code == 200 and repeat.json["alert_id"].startswith("b-")
    assert post(client, {**SEED, "quantity": 3}).status_code == 202
    assert counts(app)[0] == 2


@pytest.mark.parametrize(
    ("body", "kwargs", "status", "field"),
    [
        ({"symbol": "AAPL"}, {}, 400, "action"),
        (b'{"symbol":"AAPL","action":"buy","quantity":1}', {}, 401, "secret"),
        ({**SEED, "secret": "wrong"}, {}, 401, "secret"),
        (b"order buy @ 1 filled on AAPL. New strategy position is 1", {}, 401, "secret"),
        (b"not an alert", {"query_string": {"secret": SECRET}}, 400, "body"),
        # Seconds from now, turned into a time when the test runs (not when it is collected).
        ({**SEED, "timestamp": STALE_BY(-400)}, {}, 400, "timestamp"),
        ({**SEED, "timestamp": STALE_BY(400)}, {}, 400, "timestamp"),
        ({**SEED, "take_profit": 100}, {}, 400, "take_profit"),
        ({**SEED, "leverage": 5}, {}, 400, "leverage"),
    ],
)
def test_bad_input_gets_its_status_and_changes_nothing(
    client: FlaskClient,
    app: Flask,
    settings: Settings,
    body: Any,
    kwargs: dict[str, Any],
    status: int,
    field: str,
) -> None:
    before = queued(settings)
    if isinstance(body, dict) and isinstance(body.get("timestamp"), STALE_BY):
        body = {**body, "timestamp": int(time.time()) + body["timestamp"].seconds}
    response = post(client, body, **kwargs)
    assert response.status_code == status, response.json
    assert field in response.json["errors"]
    assert counts(app) == (0, 0, 0)
    assert queued(settings) == before


def test_text_alert_with_query_secret(client: FlaskClient) -> None:
    response = client.post(
        URL,
        data=b"order buy @ 2 filled on TSLA. New strategy position is 2",
        query_string={"secret": SECRET},
        content_type="text/plain",
    )
    assert response.status_code == 202


def test_hmac_signature_header(client: FlaskClient) -> None:
    raw = json.dumps({**SEED, "alert_id": "signed-1"}).encode()
    mac = hmac.new(SECRET.encode(), raw, hashlib.sha256).hexdigest()
    response = client.post(URL, data=raw, headers={"X-TradingView-Signature": f"sha256={mac}"})
    assert response.status_code == 202


def test_oversized_body_is_413_before_anything_else(client: FlaskClient, app: Flask) -> None:
    response = client.post(URL, data=b"x" * 70000)
    assert response.status_code == 413
    assert counts(app) == (0, 0, 0)


def test_address_allow_list_comes_before_authentication(settings: Settings) -> None:
    app = create_app(settings.model_copy(update={"ip_allowlist": "tradingview"}))
    response = app.test_client().post(URL, data=b"{}")
    assert response.status_code == 403


def test_rejections_are_listed_without_the_secret(client: FlaskClient) -> None:
    post(client, {**SEED, "quantity": "NaN"})
    client.post(URL, data=b'{"secret": "guess", "symbol": "AAPL"}')
    listed = client.get("/api/rejections", headers={"Authorization": f"Bearer {TOKEN}"}).json
    reasons = [r["reason"] for r in listed["rejections"]]
    assert any("quantity" in r for r in reasons) and any("secret" in r for r in reasons)
    assert all(
        "guess" not in r["excerpt"] and SECRET not in r["excerpt"] for r in listed["rejections"]
    )


def test_api_requires_the_token(client: FlaskClient) -> None:
    assert client.get("/api/account").status_code == 401
    assert client.get("/api/account", headers={"Authorization": "Bearer nope"}).status_code == 401
    ok = client.get("/api/account", headers={"Authorization": f"Bearer {TOKEN}"})
    assert ok.status_code == 200
    assert set(ok.json["summary"]) >= {
        "TotalCashValue",
        "NetLiquidation",
        "BuyingPower",
        "GrossPositionValue",
        "UnrealizedPnL",
        "RealizedPnL",
    }


def test_health_always_answers(client: FlaskClient) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json["status"] in {"ok", "degraded"}
    assert response.json["broker"]["type"] == "paper"
    assert response.json["broker"]["health"]["connected"] is True
    # No worker runs in this test, so an alert could not trade now.
    ready = client.get("/ready")
    assert ready.status_code == 503 and "no worker is alive" in ready.json["reasons"]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=8,
)
field_names = st.sampled_from(
    [
        "symbol",
        "ticker",
        "action",
        "side",
        "quantity",
        "qty",
        "price",
        "order_type",
        "limit_price",
        "alert_id",
        "timestamp",
        "message",
        "sentiment",
        "take_profit",
        "secret",
        "other",
    ]
)


@hyp_settings(
    deadline=None,
    max_examples=150,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    body=st.one_of(
        st.binary(max_size=200),
        st.dictionaries(field_names, json_values, max_size=8).map(
            lambda d: json.dumps({**d, "secret": SECRET}).encode()
        ),
    )
)
def test_no_body_gives_a_500_or_half_written_rows(
    client: FlaskClient, app: Flask, body: bytes
) -> None:
    before = counts(app)
    response = client.post(URL, data=body)
    assert response.status_code in {200, 202, 400, 401, 409}, response.data
    after = counts(app)
    if response.status_code == 202:
        assert after[0] == before[0] + 1
    else:
        assert after == before
    assert after[1:] == before[1:]  # the web never plans or places


def test_rejection_rows_do_not_count_as_alerts(client: FlaskClient, app: Flask) -> None:
    post(client, {"symbol": "AAPL"})
    with services(app).inbox.read() as session:
        assert session.scalar(select(func.count()).select_from(RejectionRecord)) == 1
    assert counts(app) == (0, 0, 0)


def test_spoofed_forwarded_for_from_an_untrusted_peer_is_ignored(settings: Settings) -> None:
    """W3: only a trusted proxy may say where a request came from."""
    app = create_app(settings.model_copy(update={"ip_allowlist": "tradingview"}))
    spoofed = {"X-Forwarded-For": "52.89.214.238"}
    body = json.dumps({**SEED, "secret": SECRET})
    assert app.test_client().post(URL, data=body, headers=spoofed).status_code == 403
    trusting = create_app(
        settings.model_copy(update={"ip_allowlist": "tradingview", "trusted_proxies": "127.0.0.1"})
    )
    assert trusting.test_client().post(URL, data=body, headers=spoofed).status_code == 202


def test_odd_secrets_and_ids_are_refused_not_crashed(client: FlaskClient) -> None:
    body = b'{"secret":"\\ud800","symbol":"AAPL","action":"buy","quantity":1}'
    assert client.post(URL, data=body).status_code == 401
    headers = {"Authorization": f"Bearer {TOKEN}"}
    for order_id in ("9" * 30, "\u00b2", "nope"):
        assert client.post(f"/api/orders/{order_id}/cancel", headers=headers).status_code == 404


def test_the_answer_does_not_wait_for_publishing(
    client: FlaskClient, app: Flask, settings: Settings
) -> None:
    """The handoff is a nudge after the answer: a stuck handoff holds no webhook."""
    gate = threading.Event()
    real = app_queue.hand_over

    def stuck(*args: Any, **kwargs: Any) -> bool:
        gate.wait(10)
        return real(*args, **kwargs)

    app_queue.hand_over = stuck  # type: ignore[assignment]
    try:
        before = queued(settings)
        for number in range(3):
            answer = post(client, {**SEED, "alert_id": f"unpublished-{number}"})
            assert answer.status_code == 202
        assert counts(app)[0] == 3
        assert queued(settings) == before  # nothing handed over yet: the answers came first
    finally:
        gate.set()
        app_queue.hand_over = real  # type: ignore[assignment]
    assert services(app).handoff.wait_idle()
    assert queued(settings) == before + 3
