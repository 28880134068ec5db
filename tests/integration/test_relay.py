"""The relay turns the web's handoff into the alert's first Celery message, once."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import redis
from celery import Celery

from config.celery import ALERTS_QUEUE, PROCESS_ALERT, celery_config
from config.handoff import ACCEPTED_LIST, AcceptedAlert
from config.settings import Settings
from tasks.relay import AcceptedRelay
from tests.support import wait_for


def celery_for(settings: Settings) -> Celery:
    app = Celery("relay-test")
    app.config_from_object(celery_config(settings))
    return app


def test_a_handed_over_alert_becomes_its_first_task_message(settings: Settings) -> None:
    client = redis.Redis.from_url(settings.redis_url)
    client.delete(ACCEPTED_LIST, ALERTS_QUEUE)
    expires = datetime.now(UTC) + timedelta(seconds=120)
    client.lpush(ACCEPTED_LIST, AcceptedAlert("relay-1", expires).encode())
    client.lpush(ACCEPTED_LIST, b"not a handoff")  # dropped with a log line, never fatal
    client.lpush(ACCEPTED_LIST, AcceptedAlert("relay-2", expires).encode())
    relay = AcceptedRelay(settings.redis_url, celery_for(settings)).start()
    try:
        wait_for(lambda: client.llen(ALERTS_QUEUE) == 2, timeout=10, message="two messages")
        wait_for(lambda: client.llen(ACCEPTED_LIST) == 0, timeout=10, message="handoffs taken")
    finally:
        relay.stop()
    messages = [json.loads(raw) for raw in client.lrange(ALERTS_QUEUE, 0, -1)]
    headers = sorted((m["headers"]["id"], m["headers"]["task"]) for m in messages)
    assert headers == [("relay-1", PROCESS_ALERT), ("relay-2", PROCESS_ALERT)]
    assert all(m["headers"]["expires"] == expires.isoformat() for m in messages)
    args = [json.loads(base64.b64decode(m["body"]))[0] for m in messages]
    assert sorted(a[0] for a in args) == ["relay-1", "relay-2"]


def test_the_handoff_message_round_trips() -> None:
    sent = AcceptedAlert("k~123", datetime(2026, 12, 3, 14, 0, tzinfo=UTC))
    assert AcceptedAlert.decode(sent.encode()) == sent
