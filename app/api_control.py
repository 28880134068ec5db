"""/api/halt, /api/resume and /api/flatten: the kill switch. Bearer API_TOKEN.

The halt is written to the ledger (it survives restarts) and published to Redis for the
IB gateway at once; the sweeper publishes it again on every sweep.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

import redis
from flask import Response, current_app, jsonify, request

from app import services
from app.api import api
from app.auth import require_api_token
from app.flatten import flatten_everything, flatten_preview
from config.halt import publish_halt
from trading.errors import BrokerStateUnknown, TemporaryError
from trading.halt import HaltState, clear_halt, set_halt

MAX_REASON = 500


def _publish(state: HaltState) -> str | None:
    """Tell the gateway now; if Redis cannot be reached the next sweep will."""
    client = redis.Redis.from_url(
        services(current_app).settings.redis_url, socket_timeout=1, socket_connect_timeout=1
    )
    try:
        publish_halt(client, state.flag())
    except redis.RedisError as error:
        return f"not yet published to the gateway ({error}); the sweeper will within seconds"
    finally:
        client.close()
    return None


def _answer(state: HaltState) -> Response:
    body: dict[str, object] = state.as_json()
    if (warning := _publish(state)) is not None:
        body["warning"] = warning
    return jsonify(body)


@api.post("/halt")
@require_api_token
def halt() -> Response | tuple[Response, int]:
    payload = request.get_json(silent=True) or {}
    reason = payload.get("reason", "halted by hand") if isinstance(payload, dict) else None
    if not isinstance(reason, str) or not 1 <= len(reason.strip()) <= MAX_REASON:
        message = f'must be text of 1 to {MAX_REASON} characters, e.g. {{"reason": "news"}}'
        return jsonify({"errors": {"reason": [message]}}), 400
    with services(current_app).database.write() as session:
        state = set_halt(session, reason=reason.strip(), by="api", now=datetime.now(UTC))
    return _answer(state)


@api.post("/resume")
@require_api_token
def resume() -> Response:
    with services(current_app).database.write() as session:
        state = clear_halt(session, now=datetime.now(UTC))
    return _answer(state)


# --- flatten ---------------------------------------------------------------------------

FLATTEN_KEY = "tvbridge:flatten:"
CONFIRM_SECONDS = 60


@api.post("/flatten")
@require_api_token
def flatten() -> Response | tuple[Response, int]:
    """Close every position and cancel our working orders, in two steps: the first call
    says what would happen and returns a confirmation token; a second call with
    ``{"confirm": "<token>"}`` within 60 s does it, as one close (or cancel) alert per
    instrument through the normal pipeline, each visible at /api/alerts/<alert_id>."""
    svc = services(current_app)
    payload = request.get_json(silent=True) or {}
    token = payload.get("confirm") if isinstance(payload, dict) else None
    client = redis.Redis.from_url(svc.settings.redis_url, socket_timeout=1)
    try:
        if token is None:
            preview = flatten_preview(svc.broker)
            token = secrets.token_urlsafe(16)
            client.set(FLATTEN_KEY + token, "1", ex=CONFIRM_SECONDS)
            return jsonify({**preview.as_json(), "confirm": token, "expires_in": CONFIRM_SECONDS})
        if not isinstance(token, str) or client.getdel(FLATTEN_KEY + token) is None:
            message = "is unknown or older than 60 s: call POST /api/flatten again for a new one"
            return jsonify({"errors": {"confirm": [message]}}), 409
    except (TemporaryError, BrokerStateUnknown) as error:
        return jsonify({"errors": {"broker": [f"positions unknown right now: {error}"]}}), 503
    except redis.RedisError as error:
        return jsonify({"errors": {"redis": [f"cannot keep the confirmation: {error}"]}}), 503
    finally:
        client.close()
    started = flatten_everything(svc, now=datetime.now(UTC))
    return jsonify({"status": "flattening", "alerts": started}), 202
