"""The Celery entry point: ``celery -A tasks.celery_app worker``."""

from __future__ import annotations

from celery import Celery

from config.celery import celery_config
from config.logging import configure_logging
from config.settings import get_settings


def create_celery() -> Celery:
    settings = get_settings()
    configure_logging(
        environment=settings.environment,
        level=settings.log_level,
        secrets=settings.secret_values(),
    )
    celery = Celery("tvbridge")
    celery.config_from_object(celery_config(settings))
    return celery


app = create_celery()

# Tasks register themselves on import; imported late because they need ``app``.
from tasks import alerts as _alerts  # noqa: E402, F401
from tasks import lifecycle as _lifecycle  # noqa: E402, F401
