"""Accepting alerts straight into a ledger, as the webhook does, for tests that drive the
processor without a web process."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from trading.alerts import decode_body, validate_alert
from trading.ingest import IngestPolicy, accept_alert
from trading.ledger.db import Database

POLICY = IngestPolicy(
    replay_window=timedelta(seconds=300),
    max_age=timedelta(seconds=120),
    explicit_key_ttl=timedelta(hours=24),
    derived_key_ttl=timedelta(minutes=10),
)


def accept(database: Database, policy: IngestPolicy = POLICY, **fields: Any) -> str:
    """Record an alert made of ``fields`` as accepted; its ledger key."""
    decoded = decode_body(json.dumps(fields).encode())
    claim = accept_alert(
        database,
        decoded,
        validate_alert(decoded.fields),
        source_address="127.0.0.1",
        received_at=datetime.now(UTC),
        policy=policy,
    )
    assert claim.outcome == "accepted"
    return claim.key
