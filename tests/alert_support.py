"""Validating alert messages as the webhook does, for the parser's tests."""

from __future__ import annotations

import json
from typing import Any

import pytest

from trading.alerts import decode_body, validate_alert
from trading.alerts.model import Alert
from trading.errors import AlertInvalid


def alert_of(message: dict[str, Any] | str | bytes) -> Alert:
    """The alert a message (an object, or a raw body) validates into."""
    if isinstance(message, dict):
        message = json.dumps(message)
    body = message.encode() if isinstance(message, str) else message
    return validate_alert(decode_body(body).fields)


def errors_of(message: dict[str, Any] | str | bytes) -> dict[str, list[str]]:
    """The field errors a message is refused with."""
    with pytest.raises(AlertInvalid) as caught:
        alert_of(message)
    return caught.value.errors


def has(alert: Alert, **expected: Any) -> None:
    assert {name: getattr(alert, name) for name in expected} == expected
