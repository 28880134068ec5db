"""Accepting an alert: replay window, idempotency key, the age clock, the durable record."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from trading.alerts.decode import DecodedBody
from trading.alerts.model import Alert
from trading.alerts.redact import scrub
from trading.errors import AlertInvalid
from trading.keys import canonical_digest, derived_key
from trading.ledger.alerts import alert_state
from trading.ledger.db import Database
from trading.ledger.inbox import Claim, NewAlert, claim_alert
from trading.ledger.models import AlertStatus


@dataclass(frozen=True)
class IngestPolicy:
    replay_window: timedelta
    max_age: timedelta
    explicit_key_ttl: timedelta
    derived_key_ttl: timedelta


def check_replay_window(alert: Alert, *, now: datetime, window: timedelta) -> None:
    """Refuse an alert whose own timestamp is too old or too far in the future."""
    if alert.timestamp is None:
        return
    skew = (now - alert.timestamp).total_seconds()
    limit = window.total_seconds()
    if skew > limit:
        raise AlertInvalid(
            {
                "timestamp": [
                    f"is {skew:.0f} s old; alerts older than {limit:.0f} s are refused "
                    "as stale or replayed"
                ]
            }
        )
    if -skew > limit:
        raise AlertInvalid(
            {
                "timestamp": [
                    f"is {-skew:.0f} s in the future; more than {limit:.0f} s ahead is "
                    "refused (check the sender's clock)"
                ]
            }
        )


def accept_alert(
    inbox: Database,
    decoded: DecodedBody,
    alert: Alert,
    *,
    ledger: Database,
    source_address: str,
    received_at: datetime,
    policy: IngestPolicy,
    secret: str | None = None,
) -> Claim:
    """Record the alert's receipt in the inbox under its idempotency key; the caller
    enqueues it if accepted. Only the inbox is written: the ledger is read, for a
    duplicate's state, and a read never waits for the workers' writes.

    ``secret`` is the configured webhook secret, masked wherever it appears in the body
    before anything is stored (the digest covers the stored body, so it can be checked).
    """
    body = scrub(decoded.fields, secret)
    digest = canonical_digest(body)
    if alert.alert_id:
        dedup, kind, ttl = alert.alert_id, "explicit", policy.explicit_key_ttl
    else:
        dedup, kind, ttl = derived_key(digest), "derived", policy.derived_key_ttl
    alert_time = alert.timestamp or received_at
    expires_at = alert_time + policy.max_age
    status, reason = AlertStatus.ACCEPTED, None
    if expires_at <= received_at:
        age = (received_at - alert_time).total_seconds()
        status = AlertStatus.EXPIRED
        reason = (
            f"alert was {age:.0f} s old on arrival; the maximum age is "
            f"{policy.max_age.total_seconds():.0f} s"
        )
    new = NewAlert(
        dedup_key=dedup,
        alert_id=dedup,
        key_kind=kind,  # type: ignore[arg-type]
        body_digest=digest,
        body=body,
        body_format=decoded.format,
        parsed=alert.to_json(),
        source_address=source_address,
        symbol=alert.symbol,
        action=alert.action,
        received_at=received_at,
        alert_time=alert_time,
        expires_at=expires_at,
        dedup_until=received_at + ttl,
        status=status,
        reason=reason,
    )
    claim = claim_alert(inbox, new)
    if claim.outcome != "duplicate":
        return claim
    with ledger.read() as session:
        state = alert_state(session, claim.key)
    if state is None:
        return claim  # not taken by a worker yet: the receipt's own state
    return replace(claim, status=state[0], reason=state[1])
