"""The webhook's inbox: receipts of accepted alerts and the webhook's rejections.

Only the web writes here, so accepting an alert never waits for a worker's transaction.
A receipt is the alert as it arrived, durable before the 202, and holds the alert's
deduplication claim for its window. Workers (or the sweeper) copy it into the ledger
when they first take the alert; after that the ledger's row is the alert's history.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Connection, bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from trading.errors import TemporaryError
from trading.ledger.db import Database
from trading.ledger.models import AlertRecord, AlertStatus, InboxRecord, RejectionRecord
from trading.ledger.public_ids import current_for

ClaimOutcome = Literal["accepted", "duplicate", "conflict"]


@dataclass(frozen=True)
class NewAlert:
    dedup_key: str
    alert_id: str
    key_kind: Literal["explicit", "derived"]
    body_digest: str
    body: dict[str, Any]
    body_format: str
    parsed: dict[str, Any]
    source_address: str
    symbol: str
    action: str
    received_at: datetime
    alert_time: datetime
    expires_at: datetime
    dedup_until: datetime
    status: str = AlertStatus.ACCEPTED
    reason: str | None = None


@dataclass(frozen=True)
class Claim:
    outcome: ClaimOutcome
    key: str
    alert_id: str
    status: str
    reason: str | None
    expires_at: datetime


def claim_alert(inbox: Database, new: NewAlert) -> Claim:
    """Record the alert's receipt unless its key is already claimed inside its window.

    One transaction: a repeat inside the window is a duplicate (same body) or a
    conflict (other body); after the window the old claim is released and a new
    receipt, with a key of its own, is recorded.
    """
    for _attempt in range(3):
        try:
            with inbox.write_connection() as connection:
                return _claim(connection, new)
        except IntegrityError:
            continue  # a concurrent delivery claimed it first; look again
    raise TemporaryError(f"could not claim alert key {new.dedup_key}")


# Every webhook runs these: prepared once, as Core statements (an ORM unit of work costs
# several times the database's own work here).
_CLAIM_HOLDER = select(
    InboxRecord.id,
    InboxRecord.key,
    InboxRecord.alert_id,
    InboxRecord.status,
    InboxRecord.reason,
    InboxRecord.expires_at,
    InboxRecord.dedup_until,
    InboxRecord.body_digest,
).where(InboxRecord.dedup_key == bindparam("wanted"))
_RELEASE_CLAIM = (
    update(InboxRecord).where(InboxRecord.id == bindparam("holder")).values(dedup_key=None)
)
_RECORD_RECEIPT = insert(InboxRecord)


def _claim(connection: Connection, new: NewAlert) -> Claim:
    existing = connection.execute(_CLAIM_HOLDER, {"wanted": new.dedup_key}).first()
    key = new.dedup_key
    if existing is not None:
        if existing.dedup_until > new.received_at:
            outcome: ClaimOutcome = (
                "duplicate" if existing.body_digest == new.body_digest else "conflict"
            )
            return Claim(
                outcome,
                existing.key,
                existing.alert_id,
                existing.status,
                existing.reason,
                existing.expires_at,
            )
        connection.execute(_RELEASE_CLAIM, {"holder": existing.id})
        key = f"{new.dedup_key}~{int(new.received_at.timestamp() * 1000)}"
    connection.execute(
        _RECORD_RECEIPT,
        {
            "key": key,
            "dedup_key": new.dedup_key,
            "alert_id": new.alert_id,
            "key_kind": new.key_kind,
            "body_digest": new.body_digest,
            "body": json.dumps(new.body, sort_keys=True, default=str),
            "body_format": new.body_format,
            "parsed": json.dumps(new.parsed, sort_keys=True),
            "source_address": new.source_address,
            "symbol": new.symbol,
            "action": new.action,
            "received_at": new.received_at,
            "alert_time": new.alert_time,
            "expires_at": new.expires_at,
            "dedup_until": new.dedup_until,
            "status": new.status,
            "reason": new.reason,
        },
    )
    return Claim("accepted", key, new.alert_id, new.status, new.reason, new.expires_at)


def receipt(inbox: Database, key: str) -> InboxRecord | None:
    """The receipt of the alert with ``key`` (a read: never waits for a writer)."""
    with inbox.read() as session:
        return session.scalar(select(InboxRecord).where(InboxRecord.key == key))


def find_receipt(session: Session, alert_id: str) -> InboxRecord | None:
    """The current receipt for a public alert id or key: the one holding the claim, else
    the one with that key, else the newest with that alert id."""
    return current_for(session, InboxRecord, alert_id)


def ledger_copy(found: InboxRecord, *, now: datetime) -> AlertRecord:
    """The ledger's row for an alert taken from its receipt, ready to be processed.

    No deduplication claim: that stays with the receipt.
    """
    return AlertRecord(
        key=found.key,
        dedup_key=None,
        alert_id=found.alert_id,
        **found.receipt_fields(),
        status=AlertStatus.ACCEPTED,
        reason=None,
        attempts=0,
        updated_at=now,
    )


def unhanded_receipts(inbox: Database, *, received_before: datetime) -> list[InboxRecord]:
    """Accepted receipts the ledger may not have yet, oldest first."""
    with inbox.read() as session:
        return list(
            session.scalars(
                select(InboxRecord)
                .where(
                    InboxRecord.handed_over_at.is_(None),
                    InboxRecord.received_at < received_before,
                    InboxRecord.status == AlertStatus.ACCEPTED,
                )
                .order_by(InboxRecord.received_at)
                .limit(500)
            )
        )


def mark_handed_over(inbox: Database, keys: Sequence[str], *, now: datetime) -> None:
    """Note that the ledger holds these alerts now (one short write)."""
    if not keys:
        return
    with inbox.write() as session:
        session.execute(
            update(InboxRecord)
            .where(InboxRecord.key.in_(keys), InboxRecord.handed_over_at.is_(None))
            .values(handed_over_at=now)
        )


def record_rejection(
    inbox: Database, *, at: datetime, status_code: int, reason: str, source: str, excerpt: str
) -> None:
    with inbox.write() as session:
        session.add(
            RejectionRecord(
                at=at,
                status_code=status_code,
                reason=reason[:2000],
                source_address=source[:64],
                excerpt=excerpt[:500],
            )
        )


def recent_rejections(session: Session, limit: int = 100) -> list[RejectionRecord]:
    return list(
        session.scalars(select(RejectionRecord).order_by(RejectionRecord.id.desc()).limit(limit))
    )


def recent_clock_skew(session: Session, limit: int = 50) -> dict[str, Any]:
    """How far alert timestamps lag our receipt clock (network delay plus clock skew).

    A large or negative median means the web host's clock (or TradingView's) is off, which
    would make the replay window refuse good alerts.
    """
    rows = session.execute(
        select(InboxRecord.received_at, InboxRecord.alert_time)
        .where(InboxRecord.alert_time != InboxRecord.received_at)
        .order_by(InboxRecord.id.desc())
        .limit(limit)
    ).all()
    if not rows:
        return {"samples": 0, "median_seconds": None}
    lags = sorted((received - sent).total_seconds() for received, sent in rows)
    return {
        "samples": len(lags),
        "median_seconds": round(lags[len(lags) // 2], 3),
        "min_seconds": round(lags[0], 3),
        "max_seconds": round(lags[-1], 3),
    }


def adopt_ledger_claims(ledger: Database, inbox: Database, *, now: datetime) -> int:
    """Give the inbox the live deduplication claims the ledger held before the inbox
    existed, so a repeat inside its window stays a duplicate after the upgrade. They are
    marked handed over: the ledger has those alerts. Running it again adds nothing."""
    with ledger.read() as session:
        claimed = list(
            session.scalars(
                select(AlertRecord).where(
                    AlertRecord.dedup_key.is_not(None), AlertRecord.dedup_until > now
                )
            )
        )
    if not claimed:
        return 0
    with inbox.write() as session:
        held = set(
            session.scalars(
                select(InboxRecord.dedup_key).where(
                    InboxRecord.dedup_key.in_([a.dedup_key for a in claimed])
                )
            )
        )
        known = set(
            session.scalars(
                select(InboxRecord.key).where(InboxRecord.key.in_([a.key for a in claimed]))
            )
        )
        adopted = [a for a in claimed if a.dedup_key not in held and a.key not in known]
        for alert in adopted:
            session.add(_legacy_receipt(alert, now))
    return len(adopted)


def _legacy_receipt(alert: AlertRecord, now: datetime) -> InboxRecord:
    arrived_expired = alert.status == AlertStatus.EXPIRED and alert.started_at is None
    return InboxRecord(
        key=alert.key,
        dedup_key=alert.dedup_key,
        alert_id=alert.alert_id,
        **alert.receipt_fields(),
        status=AlertStatus.EXPIRED if arrived_expired else AlertStatus.ACCEPTED,
        reason=alert.reason if arrived_expired else None,
        handed_over_at=now,
    )
