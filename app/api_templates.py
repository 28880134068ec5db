"""GET /api/templates: the alert messages to paste into TradingView, secret filled in.

The webhook secret is shown here on purpose: the route needs the API token, and a message
is only useful with the real secret in it.
"""

from __future__ import annotations

from dataclasses import asdict

from flask import Response, current_app, jsonify

from app import services
from app.api import api
from app.auth import require_api_token
from trading.alerts.templates import templates


@api.get("/templates")
@require_api_token
def alert_templates() -> Response:
    secret = services(current_app).settings.webhook_secret()
    return jsonify({"templates": [asdict(template) for template in templates(secret)]})
