"""The Celery entry point: ``celery -A tasks.celery_app worker``."""

from __future__ import annotations

from celery import Celery

from config.celery import celery_config
from config.logging import configure_logging
from config.settings import get_settings


def create_celery() -> Celery:
    settings = get_settings()
    secrets = [
        s.get_secret_value() for s in (settings.tradingview_webhook_secret, settings.api_token) if s
    ]
    configure_logging(environment=settings.environment, level=settings.log_level, secrets=secrets)
    celery = Celery("tvbridge")
    celery.config_from_object(celery_config(settings))
    return celery


app = create_celery()

# Tasks register themselves on import; imported late because they need ``app``.
from tasks import alerts as _alerts  # noqa: E402, F401
from tasks import lifecycle as _lifecycle  # noqa: E402, F401
