"""Reading and writing alert rows: the idempotent claim, statuses, rejections."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from trading.errors import TemporaryError
from trading.ledger.db import Database
from trading.ledger.models import AlertRecord, AlertStatus, RejectionRecord

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


def claim_alert(database: Database, new: NewAlert) -> Claim:
    """Record the alert unless its key is already claimed inside its window.

    One transaction: a repeat inside the window is a duplicate (same body) or a
    conflict (other body); after the window the old claim is released and a new alert,
    with a key of its own, is recorded.
    """
    for _attempt in range(3):
        try:
            with database.write() as session:
                return _claim(session, new)
        except IntegrityError:
            continue  # a concurrent delivery claimed it first; look again
    raise TemporaryError(f"could not claim alert key {new.dedup_key}")


def _claim(session: Session, new: NewAlert) -> Claim:
    existing = session.scalar(select(AlertRecord).where(AlertRecord.dedup_key == new.dedup_key))
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
        existing.dedup_key = None
        session.flush()
        key = f"{new.dedup_key}~{int(new.received_at.timestamp() * 1000)}"
    record = AlertRecord(
        key=key,
        dedup_key=new.dedup_key,
        alert_id=new.alert_id,
        key_kind=new.key_kind,
        body_digest=new.body_digest,
        body=json.dumps(new.body, sort_keys=True, default=str),
        body_format=new.body_format,
        parsed=json.dumps(new.parsed, sort_keys=True),
        source_address=new.source_address,
        symbol=new.symbol,
        action=new.action,
        received_at=new.received_at,
        alert_time=new.alert_time,
        expires_at=new.expires_at,
        dedup_until=new.dedup_until,
        status=new.status,
        reason=new.reason,
        attempts=0,
        finished_at=new.received_at if new.status in AlertStatus.FINAL else None,
        updated_at=new.received_at,
    )
    session.add(record)
    session.flush()
    return Claim("accepted", key, new.alert_id, record.status, record.reason, new.expires_at)


def find_alert(session: Session, alert_id: str) -> AlertRecord | None:
    """The current alert for a public alert id or key (newest first)."""
    record = session.scalar(select(AlertRecord).where(AlertRecord.dedup_key == alert_id))
    if record is None:
        record = session.scalar(select(AlertRecord).where(AlertRecord.key == alert_id))
    if record is None:
        record = session.scalar(
            select(AlertRecord)
            .where(AlertRecord.alert_id == alert_id)
            .order_by(AlertRecord.id.desc())
            .limit(1)
        )
    return record


def record_rejection(
    database: Database, *, at: datetime, status_code: int, reason: str, source: str, excerpt: str
) -> None:
    with database.write() as session:
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


def stranded_alerts(
    session: Session, *, now: datetime, accepted_grace: timedelta, stuck_after: timedelta
) -> list[AlertRecord]:
    """Alerts accepted but never picked up, or started and then abandoned."""
    accepted = select(AlertRecord).where(
        AlertRecord.status == AlertStatus.ACCEPTED,
        AlertRecord.received_at < now - accepted_grace,
    )
    stuck = select(AlertRecord).where(
        AlertRecord.status == AlertStatus.PROCESSING,
        AlertRecord.started_at < now - stuck_after,
    )
    rows = list(session.scalars(accepted.limit(500))) + list(session.scalars(stuck.limit(500)))
    return rows


def recent_clock_skew(session: Session, limit: int = 50) -> dict[str, Any]:
    """How far alert timestamps lag our receipt clock (network delay plus clock skew).

    A large or negative median means the web host's clock (or TradingView's) is off, which
    would make the replay window refuse good alerts.
    """
    rows = session.execute(
        select(AlertRecord.received_at, AlertRecord.alert_time)
        .where(AlertRecord.alert_time != AlertRecord.received_at)
        .order_by(AlertRecord.id.desc())
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
