"""POST /webhook/tradingview: authenticate, validate, record durably, enqueue, answer fast.

Checks run in a fixed order and the first failing one answers: body size (413), source
address (403), authentication (401), parsing and validation (400), idempotency (200/409).
Every 4xx is recorded with its reason so users can see why an alert did nothing.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request
from werkzeug.exceptions import RequestEntityTooLarge

from app import Services, services
from app.addresses import allowed, client_address
from app.auth import SIGNATURE_HEADER, webhook_authenticated
from trading.alerts import BodyInvalid, DecodedBody, decode_body, validate_alert
from trading.alerts.redact import contains_secret, scrub, scrub_raw_text, scrub_text
from trading.errors import AlertInvalid, TemporaryError
from trading.ingest import IngestPolicy, accept_alert, check_replay_window
from trading.ledger.inbox import record_rejection
from trading.ledger.models import AlertStatus

DRAIN_LIMIT = 1024 * 1024
webhooks = Blueprint("webhooks", __name__)
log = logging.getLogger(__name__)


class Refused(Exception):
    """A check failed: answer ``status`` with ``errors`` (and record it unless quiet)."""

    def __init__(
        self,
        status: int,
        errors: dict[str, list[str]],
        *,
        raw: bytes = b"",
        decoded: DecodedBody | None = None,
        quiet: bool = False,
    ) -> None:
        super().__init__(status)
        self.status, self.errors, self.raw, self.decoded = status, errors, raw, decoded
        self.quiet = quiet


@webhooks.post("/webhook/tradingview")
def tradingview() -> tuple[Response, int]:
    svc = services(current_app)
    settings = svc.settings
    received_at = datetime.now(UTC)
    source = client_address(
        request.remote_addr, request.headers.get("X-Forwarded-For"), svc.proxy_networks
    )
    try:
        raw = _read_body(settings.max_body_bytes)
        _check_source(svc, source)
        decoded = _authenticate(svc, source, raw)
        alert = validate_alert(decoded.fields)
        _check_secret_not_in_alert_id(alert.alert_id, settings.webhook_secret())
        check_replay_window(
            alert, now=received_at, window=timedelta(seconds=settings.replay_window_seconds)
        )
    except AlertInvalid as error:
        return _reject(svc, Refused(400, error.errors, raw=raw, decoded=decoded), source)
    except Refused as refused:
        return _reject(svc, refused, source)

    try:
        claim = accept_alert(
            svc.inbox,
            decoded,
            alert,
            ledger=svc.database,
            source_address=source,
            received_at=received_at,
            policy=ingest_policy(svc),
            secret=settings.webhook_secret(),
        )
    except TemporaryError as error:
        problem = scrub_text(str(error), settings.webhook_secret())
        log.error("alert could not be recorded: %s", problem)
        return jsonify({"status": "unavailable", "errors": {"ledger": [problem]}}), 503

    if claim.outcome == "duplicate":
        return jsonify(
            {
                "status": "duplicate",
                "alert_id": claim.alert_id,
                "state": claim.status,
                "reason": claim.reason,
            }
        ), 200
    if claim.outcome == "conflict":
        message = (
            f"{claim.alert_id!r} was already used with a different body inside the "
            "deduplication window"
        )
        conflict = Refused(409, {"alert_id": [message]}, raw=raw, decoded=decoded)
        return _reject(svc, conflict, source, alert_id=claim.alert_id)
    if claim.status == AlertStatus.ACCEPTED:
        # Durable already; the workers are told after the answer, from another thread.
        svc.handoff.hand_over_soon(claim.key, claim.expires_at)
        log.info("alert %s accepted from %s", claim.alert_id, source)
        return jsonify({"status": "queued", "alert_id": claim.alert_id}), 202
    return jsonify(
        {"status": claim.status, "alert_id": claim.alert_id, "reason": claim.reason}
    ), 202


def _read_body(limit: int) -> bytes:
    try:
        if (request.content_length or 0) > limit:
            raise RequestEntityTooLarge()
        raw = request.get_data(cache=False)
        # Whatever the server did with the framing, never process a body over the limit.
        if len(raw) > limit:
            raise RequestEntityTooLarge()
        return raw
    except RequestEntityTooLarge:
        _drain(request.environ)
        raise Refused(413, {"body": [f"is larger than {limit} bytes"]}) from None


def _check_source(svc: Services, source: str) -> None:
    if not allowed(source, svc.allowed_networks):
        raise Refused(403, {"source": [f"address {source} is not allowed"]})
    if svc.auth_limiter.blocked(source):
        message = f"too many failed authentications from {source}; try again in a minute"
        raise Refused(429, {"source": [message]}, quiet=True)


def _authenticate(svc: Services, source: str, raw: bytes) -> DecodedBody:
    """Authenticate, then hand back the decoded body (or why it could not be decoded)."""
    decoded: DecodedBody | None = None
    decode_error: BodyInvalid | None = None
    try:
        decoded = decode_body(raw)
    except BodyInvalid as error:
        decode_error = error
    body_secret = decoded.secret if decoded else decode_error.secret if decode_error else None
    if not webhook_authenticated(
        secret=svc.settings.webhook_secret() or "",
        raw_body=raw,
        body_secret=body_secret,
        query_secret=request.args.get("secret"),
        signature_header=request.headers.get(SIGNATURE_HEADER),
    ):
        errors = {
            "secret": [
                "missing or wrong: send the shared secret in the body's "
                '"secret" field, the ?secret= parameter, or sign the body'
            ]
        }
        if svc.auth_limiter.record_failure(source):
            errors["source"] = [
                f"{source} reached {svc.settings.auth_failures_per_minute} "
                "failed authentications this minute; further attempts get 429"
            ]
        raise Refused(401, errors, raw=raw, decoded=decoded)
    if decoded is None:
        errors = decode_error.errors if decode_error else {"body": ["could not be read"]}
        raise Refused(400, errors, raw=raw)
    return decoded


def _check_secret_not_in_alert_id(alert_id: str | None, secret: str | None) -> None:
    """The alert id is a key shown everywhere and sent to the broker; it cannot be masked."""
    if contains_secret(alert_id, secret):
        message = "contains the webhook secret; the secret belongs only in the secret field"
        raise AlertInvalid({"alert_id": [message]})


def _drain(environ: dict[str, Any], most: int = DRAIN_LIMIT) -> None:
    """Read (and drop) a moderately oversized body so the client sees our 413 rather than
    a reset connection; a huge one is left unread and the connection closed."""
    length = int(environ.get("CONTENT_LENGTH") or 0)
    stream = environ.get("wsgi.input")
    if stream is None or length > most:
        return
    remaining = length
    while remaining > 0:
        chunk = stream.read(min(65536, remaining))
        if not chunk:
            break
        remaining -= len(chunk)


def ingest_policy(svc: Services) -> IngestPolicy:
    """The age and deduplication rules every accepted alert is recorded under."""
    s = svc.settings
    return IngestPolicy(
        replay_window=timedelta(seconds=s.replay_window_seconds),
        max_age=timedelta(seconds=s.alert_max_age_seconds),
        explicit_key_ttl=timedelta(seconds=s.explicit_key_ttl_seconds),
        derived_key_ttl=timedelta(seconds=s.derived_key_ttl_seconds),
    )


def _reject(
    svc: Services, refused: Refused, source: str, *, alert_id: str | None = None
) -> tuple[Response, int]:
    secret = svc.settings.webhook_secret()
    # Error messages quote what was sent, which may be the secret in the wrong field.
    errors: dict[str, list[str]] = scrub(refused.errors, secret, pairs=False)
    reason = "; ".join(f"{field} {' '.join(problems)}" for field, problems in errors.items())
    log.info("webhook %d from %s: %s", refused.status, source, reason)
    if not refused.quiet:
        try:
            record_rejection(
                svc.inbox,
                at=datetime.now(UTC),
                status_code=refused.status,
                reason=reason,
                source=source,
                excerpt=_excerpt(refused.raw, refused.decoded, secret),
            )
        except TemporaryError as error:
            log.warning("rejection not recorded: %s", scrub_text(str(error), secret))
    body: dict[str, object] = {"errors": errors}
    if alert_id is not None:
        body = {"status": "conflict", "alert_id": alert_id, **body}
    return jsonify(body), refused.status


EXCERPT_CHARS = 500


def _excerpt(raw: bytes, decoded: DecodedBody | None, secret: str | None) -> str:
    """A short, secret-free view of what was sent; masked before it is cut, so a secret
    straddling the cut cannot leave a readable half."""
    if decoded is not None:
        return json.dumps(scrub(decoded.fields, secret), default=str)[:EXCERPT_CHARS]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        # Other encodings would need their own masking; showing nothing cannot leak.
        return f"({len(raw)} bytes, not UTF-8 text: not shown)"
    return scrub_raw_text(text, secret)[:EXCERPT_CHARS]
