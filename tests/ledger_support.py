"""Accepting alerts straight into a ledger's inbox, as the webhook does, for tests that
drive the processor without a web process."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from config.settings import inbox_url_for
from trading.alerts import decode_body, validate_alert
from trading.ingest import IngestPolicy, accept_alert
from trading.ledger.db import Database, get_database
from trading.ledger.inbox import ledger_copy
from trading.ledger.models import InboxRecord

POLICY = IngestPolicy(
    replay_window=timedelta(seconds=300),
    max_age=timedelta(seconds=120),
    explicit_key_ttl=timedelta(hours=24),
    derived_key_ttl=timedelta(minutes=10),
)


def inbox_of(database: Database) -> Database:
    """The inbox that belongs to the ledger ``database``, as the settings derive it."""
    return get_database(inbox_url_for(database.url))


def accept(database: Database, policy: IngestPolicy = POLICY, **fields: Any) -> str:
    """Record an alert made of ``fields`` as accepted in the ledger's inbox; its key."""
    decoded = decode_body(json.dumps(fields).encode())
    claim = accept_alert(
        inbox_of(database),
        decoded,
        validate_alert(decoded.fields),
        ledger=database,
        source_address="127.0.0.1",
        received_at=datetime.now(UTC),
        policy=policy,
    )
    assert claim.outcome == "accepted"
    return claim.key


def take(database: Database, key: str) -> None:
    """Copy an alert's receipt into the ledger, as the first worker to take it does."""
    with inbox_of(database).read() as session:
        found = session.scalars(select(InboxRecord).where(InboxRecord.key == key)).one()
    with database.write() as session:
        session.add(ledger_copy(found, now=datetime.now(UTC)))
