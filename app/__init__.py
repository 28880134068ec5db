"""The web process: ``create_app()`` wires settings, the ledger, the broker and blueprints."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from flask import Flask, Response, g, request
from flask.json.provider import DefaultJSONProvider

from app.addresses import Network
from app.queue import BackgroundHandoff
from app.ratelimit import FailedAuthLimiter
from config.logging import configure_logging
from config.settings import ConfigError, Settings, get_settings
from trading.brokers.port import Broker
from trading.brokers.registry import make_broker
from trading.ledger.db import Database, get_database


@dataclass
class Services:
    """What the views need, built once per process."""

    settings: Settings
    database: Database  # the ledger: read here, written by workers (and order cancels)
    inbox: Database  # the only database a webhook writes
    broker: Broker
    allowed_networks: list[Network]
    proxy_networks: list[Network]
    auth_limiter: FailedAuthLimiter
    handoff: BackgroundHandoff


class _JSON(DefaultJSONProvider):
    sort_keys = False

    @staticmethod
    def default(o: Any) -> Any:
        if isinstance(o, Decimal):
            return int(o) if o == o.to_integral_value() else float(o)
        return DefaultJSONProvider.default(o)


def create_app(settings: Settings | None = None) -> Flask:
    settings = settings or get_settings()
    if settings.tradingview_webhook_secret is None or settings.api_token is None:
        raise ConfigError(
            "TRADINGVIEW_WEBHOOK_SECRET and API_TOKEN must be set "
            "(make run generates them into var/secrets.env)"
        )
    configure_logging(
        environment=settings.environment,
        level=settings.log_level,
        secrets=settings.secret_values(),
    )

    app = Flask(__name__)
    app.json = _JSON(app)
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    allowed = settings.allowed_networks()
    app.extensions["tvbridge"] = Services(
        settings=settings,
        database=get_database(settings.database_url),
        inbox=get_database(settings.inbox_url),
        broker=make_broker(settings),
        allowed_networks=allowed,
        proxy_networks=settings.proxy_networks(),
        auth_limiter=FailedAuthLimiter(
            settings.redis_url, settings.auth_failures_per_minute, allowed
        ),
        handoff=BackgroundHandoff(settings),
    )

    from app import api_templates  # noqa: F401 - registers /api/templates
    from app.api import api
    from app.api_control import halt  # noqa: F401 - registers /api/halt and /api/resume
    from app.api_explain import explain_alert  # noqa: F401 - registers /api/explain
    from app.health import health
    from app.webhooks import webhooks

    app.register_blueprint(webhooks)
    app.register_blueprint(api)
    app.register_blueprint(health)
    _log_requests(app)
    return app


def _log_requests(app: Flask) -> None:
    """One access line per request: the path without its query, so ``?secret=`` never
    reaches a log."""
    access = logging.getLogger("tvbridge.access")

    @app.before_request
    def _start_clock() -> None:
        g.started = time.perf_counter()

    @app.after_request
    def _log(response: Response) -> Response:
        elapsed = (time.perf_counter() - g.get("started", time.perf_counter())) * 1000
        access.info(
            "%s %s %s %d %.1fms",
            request.remote_addr,
            request.method,
            request.path,
            response.status_code,
            elapsed,
        )
        return response


def services(app: Flask) -> Services:
    found: Services = app.extensions["tvbridge"]
    return found
