"""POST /api/explain: what an alert would do now, nothing recorded or sent. Bearer API_TOKEN."""

from __future__ import annotations

from flask import Response, current_app, jsonify, request

from app import services
from app.api import api
from app.auth import require_api_token
from trading.alerts import decode_body, validate_alert
from trading.errors import AlertInvalid, BrokerStateUnknown, RequestRefused, TemporaryError
from trading.explain import explain
from trading.planning import order_rules
from trading.risk import limits_from


@api.post("/explain")
@require_api_token
def explain_alert() -> Response | tuple[Response, int]:
    """The body is an alert exactly as TradingView would send it (any accepted format; a
    secret in it is dropped, the API token authenticates)."""
    svc = services(current_app)
    try:
        decoded = decode_body(request.get_data(cache=False))
        alert = validate_alert(decoded.fields)
    except AlertInvalid as error:
        return jsonify({"errors": error.errors}), 400
    try:
        answer = explain(
            alert,
            broker=svc.broker,
            database=svc.database,
            rules=order_rules(svc.settings),
            limits=limits_from(svc.settings),
        )
    except (TemporaryError, BrokerStateUnknown) as error:
        return jsonify({"errors": {"broker": [f"position unknown right now: {error}"]}}), 503
    except RequestRefused as error:
        return jsonify({"errors": {"broker": [f"the broker refused the read: {error}"]}}), 502
    return jsonify(answer)
