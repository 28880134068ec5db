"""Publishing alerts to Celery from the web process: fast or not at all.

Publishing has short socket timeouts and no retry: the alert is already durable in the
ledger, and the sweeper enqueues whatever was not published.
"""

from __future__ import annotations

import logging
from datetime import datetime
from functools import lru_cache

from celery import Celery

from config.celery import PROCESS_ALERT, celery_config
from config.settings import Settings

log = logging.getLogger(__name__)


@lru_cache(maxsize=4)
def _publisher(redis_url: str, settings: Settings) -> Celery:
    client = Celery("tvbridge-web")
    config = celery_config(settings)
    # Tighter than the workers': the webhook must answer TradingView within its 3 s.
    config["broker_transport_options"] = {
        **config["broker_transport_options"],
        "socket_timeout": 0.3,
        "socket_connect_timeout": 0.3,
        # kombu would otherwise sleep and retry connecting for seconds.
        "max_retries": 0,
        "interval_start": 0,
        "connect_retries_timeout": 0.3,
    }
    config["broker_connection_retry"] = False
    config["broker_connection_max_retries"] = 0
    client.config_from_object(config)
    return client


def enqueue_alert(settings: Settings, key: str, expires_at: datetime) -> bool:
    """Publish; return False (and log) instead of raising when Redis does not answer."""
    try:
        _publisher(settings.redis_url, settings).send_task(
            PROCESS_ALERT, args=[key], task_id=key, expires=expires_at, retry=False
        )
    except Exception as error:  # noqa: BLE001 - any publish failure is left to the sweeper
        log.warning("alert %s recorded but not enqueued (%s); the sweeper will", key, error)
        return False
    return True
